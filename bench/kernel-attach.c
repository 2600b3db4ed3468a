// The kernel's own cost of one nlnet attach (engine.createSandbox on the default network with one
// published TCP port) and its detach, from one thread with raw netlink: the `attach` and
// `attach-steps` modes of kernel-baseline (see its header comment for the command lines).
#include "kernel-nl.h"

// ---- one attach, as the engine does it on its default network ----
// The network bench/attach.js's engine made: bridge nlnet0, 172.17.0.0/16 with the gateway on the
// bridge, map `ip nlnet ports_any` (inet_proto . inet_service : ipv4_addr . inet_service).
#define BRIDGE "nlnet0"
static const unsigned char gateway[4] = {172, 17, 0, 1};
enum { SUBNET_PREFIX = 16, MTU = 1500, CONTAINER_PORT = 80 };

static struct {
  const char *veth; // the host end; the sandbox end is eth0
  unsigned char addr[4];
  unsigned short port; // the published host port, tcp
  int nft;             // NETLINK_NETFILTER socket in HOST
  int master;          // nlnet0's ifindex
} sb;

static struct rtattr *nla_nest_start(struct msg *m, int type) { return nest_start(m, type | NLA_F_NESTED); }

// ip link add VETH mtu 1500 master nlnet0 type veth peer name eth0 netns S address 02:42:A mtu 1500:
// one request, as the bridge driver's createVeth() sends it (MAC: Docker's 02:42 + the IPv4 bytes).
static void veth_endpoint(int fd, int ns) {
  struct msg m;
  msg_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, sb.veth);
  attr_u32(&m, IFLA_MTU, MTU);
  attr_u32(&m, IFLA_MASTER, sb.master);
  struct rtattr *li = nest_start(&m, IFLA_LINKINFO);
  attr_str(&m, IFLA_INFO_KIND, "veth");
  struct rtattr *data = nest_start(&m, IFLA_INFO_DATA);
  struct rtattr *peer = nest_start(&m, VETH_INFO_PEER);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, "eth0");
  attr_u32(&m, IFLA_NET_NS_FD, ns);
  unsigned char mac[6] = {0x02, 0x42, sb.addr[0], sb.addr[1], sb.addr[2], sb.addr[3]};
  attr_put(&m, IFLA_ADDRESS, mac, sizeof mac);
  attr_u32(&m, IFLA_MTU, MTU);
  nest_end(&m, peer);
  nest_end(&m, data);
  nest_end(&m, li);
  nl_talk(fd, &m, "RTM_NEWLINK veth endpoint");
}

// ip link set NAME up
static void link_up(int fd, const char *name) {
  struct msg m;
  msg_start(&m, RTM_NEWLINK, 0);
  struct ifinfomsg *ifi = msg_put(&m, NULL, sizeof *ifi);
  ifi->ifi_change = IFF_UP;
  ifi->ifi_flags = IFF_UP;
  attr_str(&m, IFLA_IFNAME, name);
  nl_talk(fd, &m, "RTM_NEWLINK up");
}

// ip route add default via 172.17.0.1 dev eth0
static void route_default(int fd, int oif) {
  struct msg m;
  msg_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  struct rtmsg *rt = msg_put(&m, NULL, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = RTPROT_BOOT;
  rt->rtm_scope = RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  attr_put(&m, RTA_GATEWAY, gateway, 4);
  attr_u32(&m, RTA_OIF, oif);
  nl_talk(fd, &m, "RTM_NEWROUTE default");
}

// A link's index in the socket's namespace. SIOCGIFINDEX works on any socket, a netlink one
// included (the kernel falls back to its device ioctls), and costs no message.
static int ifindex_in(int fd, const char *name) {
  struct ifreq ifr = {0};
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) die(name);
  return ifr.ifr_ifindex;
}

static void nfgen_start(struct msg *m, int type, int flags, int family, int res_id) {
  msg_start(m, type, flags);
  struct nfgenmsg *g = msg_put(m, NULL, sizeof *g);
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
  g->res_id = htons(res_id);
}

// nft create element ip nlnet ports_any { tcp . PORT : A . 80 } (TYPE NFT_MSG_NEWSETELEM), or
// nft delete element ip nlnet ports_any { tcp . PORT } (NFT_MSG_DELSETELEM): one batch, BEGIN, the
// element, END, in one sendmsg, with an ACK asked for the element. The bytes are nft 1.0.6's (strace)
// but for NLM_F_ACK and NFTA_SET_ELEM_LIST_SET_ID, which nft always adds and the kernel reads only
// when no set has the name. A concatenation pads every field to 4 bytes: key 06 00 00 00 .
// PORT(be16) 00 00, data A . 00 50 00 00.
static void port_element(int type) {
  struct msg m[3];
  nfgen_start(&m[0], NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  nfgen_start(&m[1], NFNL_SUBSYS_NFTABLES << 8 | type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0, NFPROTO_IPV4, 0);
  nfgen_start(&m[2], NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
  m[0].nh.nlmsg_flags = m[2].nh.nlmsg_flags = NLM_F_REQUEST; // nft asks no ACK of BEGIN and END
  attr_str(&m[1], NFTA_SET_ELEM_LIST_TABLE, "nlnet");
  attr_str(&m[1], NFTA_SET_ELEM_LIST_SET, "ports_any");
  struct rtattr *list = nla_nest_start(&m[1], NFTA_SET_ELEM_LIST_ELEMENTS);
  struct rtattr *el = nla_nest_start(&m[1], NFTA_LIST_ELEM);
  unsigned char key[8] = {IPPROTO_TCP, 0, 0, 0, sb.port >> 8, sb.port & 0xff, 0, 0};
  struct rtattr *k = nla_nest_start(&m[1], NFTA_SET_ELEM_KEY);
  attr_put(&m[1], NFTA_DATA_VALUE, key, sizeof key);
  nest_end(&m[1], k);
  if (type == NFT_MSG_NEWSETELEM) {
    unsigned char data[8] = {sb.addr[0], sb.addr[1], sb.addr[2], sb.addr[3], 0, CONTAINER_PORT, 0, 0};
    struct rtattr *d = nla_nest_start(&m[1], NFTA_SET_ELEM_DATA);
    attr_put(&m[1], NFTA_DATA_VALUE, data, sizeof data);
    nest_end(&m[1], d);
  }
  nest_end(&m[1], el);
  nest_end(&m[1], list);
  nl_send(sb.nft, m, 3, 1, type == NFT_MSG_NEWSETELEM ? "NFT_MSG_NEWSETELEM ports_any" : "NFT_MSG_DELSETELEM ports_any");
}

// The kernel work of engine.createSandbox({ name, publish: ['PORT:80'] }) on the default network,
// in the engine's order: `ip netns add S`; the veth pair and its host end up (createVeth); in S
// (configureSandbox, through a socket opened there the way nlnet's namespace thread does it:
// setns in, socket, setns back) lo up, A/16 on eth0, eth0 up, the default route; then the element.
static void attach(void) {
  netns_add(path, home);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(path);
  veth_endpoint(fd, ns);
  link_up(fd, sb.veth);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns(sandbox)");
  int in = nl_open(NETLINK_ROUTE);
  if (setns(home, CLONE_NEWNET) < 0) die("setns(home)");
  close(ns);
  int eth0 = ifindex_in(in, "eth0");
  link_up(in, "lo");
  addr_op(in, RTM_NEWADDR, eth0, sb.addr, SUBNET_PREFIX);
  link_up(in, "eth0");
  route_default(in, eth0);
  close(in);
  port_element(NFT_MSG_NEWSETELEM);
}

// engine.removeSandbox: the element, the host end of the pair (eth0 goes with it), `ip netns del S`.
static void detach(void) {
  port_element(NFT_MSG_DELSETELEM);
  link_del(fd, sb.veth);
  netns_del(path);
}

// The engine creates nlnet0 with its first sandbox: looked up when first needed, never timed.
static void find_bridge(void) {
  if (!sb.master && !(sb.master = if_nametoindex(BRIDGE))) die(BRIDGE);
}

// attach and attach-steps: HOST S VETH ADDR PORT.
static int attach_setup(char **arg) {
  if (inet_pton(AF_INET, arg[3], sb.addr) != 1) return 0;
  int port = atoi(arg[4]);
  if (port < 1 || port > 65535) return 0;
  sb.port = port;
  sb.veth = arg[2];
  snprintf(path, sizeof path, "/run/netns/%s", arg[1]);
  enter(arg[0]);
  sb.nft = nl_open(NETLINK_NETFILTER);
  return 1;
}

// One step per line of stdin, each timed alone: bench/attach.js runs them between the other
// methods' rounds (so every method sees the same load) and inspects the sandbox in between.
static void steps(void) {
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    int is_attach = !strcmp(line, "attach\n");
    if (!is_attach && strcmp(line, "detach\n")) {
      fprintf(stderr, "unknown step: %s", line);
      exit(2);
    }
    if (is_attach) find_bridge();
    double a = now_us();
    if (is_attach) attach();
    else detach();
    printf("%s %.1f\n", is_attach ? "attach" : "detach", now_us() - a);
    fflush(stdout);
  }
}

int attach_mode(int argc, char **argv) {
  if (!strcmp(argv[1], "attach-steps")) {
    if (argc != 7 || !attach_setup(argv + 2)) return 2;
    steps();
    return 0;
  }
  int n = atoi(argv[argc - 1]);
  if (argc != 8 || n < 1 || !attach_setup(argv + 2)) return 2;
  find_bridge();
  loop("attach", attach, detach, n);
  return 0;
}
