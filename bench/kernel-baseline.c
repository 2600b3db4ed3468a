// The kernel's own cost of what the benchmark measures, with nothing in between: one raw
// rtnetlink socket, requests built by hand (only kernel UAPI headers), each waiting for its ACK,
// the same messages `ip` sends. bench/run.js compiles this with `cc -O2` at bench time.
//
//   kernel-baseline veth NS_A NS_B N    joins /run/netns/NS_A itself; N times: a veth pair vX/vY
//                                       with vY born in NS_B (IFLA_NET_NS_FD in VETH_INFO_PEER),
//                                       then RTM_DELLINK vX
//   kernel-baseline addr NS DEV N       10.99.0.1/24 added to DEV and removed
//   kernel-baseline route NS DEV N      10.98.0.0/24 dev DEV added and removed (main table)
//   kernel-baseline netns NAME N        `ip netns add|del NAME`: unshare + bind mount, umount + unlink
//   kernel-baseline dump-link NS N      links, IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS as nlnet asks
//   kernel-baseline dump-route NS T N   IPv4 routes of table T, filtered in the kernel
//   kernel-baseline attach HOST S VETH ADDR PORT N
//                                       joins /run/netns/HOST; N times the kernel work of one nlnet
//                                       attach of sandbox S (namespace, veth, sandbox side, map
//                                       element: see attach() below) on the engine's default network,
//                                       then its detach
//   kernel-baseline attach-steps HOST S VETH ADDR PORT
//                                       the same, one step per line of stdin: "attach" or "detach",
//                                       each answered "attach US" / "detach US" (bench/attach.js
//                                       interleaves them with the other methods and checks the
//                                       result in between); exits at end of input
//
// The do/undo modes print "MODE_add US", "MODE_del US" and "MODE US" (both): medians over the N
// iterations after one untimed, in microseconds. Dumps read every message and do nothing with it
// (the floor under any dump) and print "MODE US COUNT". run.js calls it with N = 1 between the
// nlnet and `ip` iterations, so that all three see the same load on the machine, and takes
// medians over calls. Any request the kernel refuses exits 1 with a message, untimed.
//
// The attach modes live in kernel-attach.c; both files are compiled together (bench/kernel.js).
#include "kernel-nl.h"

// What the modes work on, set up before any timing: the rtnetlink socket, the namespace it and
// this process live in, and the sandbox namespace's path (or the netns mode's).
int fd, nsb, ifindex, home;
char path[4096];

// One dump, read to NLMSG_DONE; returns how many objects came back.
static long dump(int fd, int type, int table) {
  struct msg m;
  msg_start(&m, type, NLM_F_DUMP);
  m.nh.nlmsg_flags &= ~NLM_F_ACK;
  if (type == RTM_GETLINK) {
    msg_put(&m, NULL, sizeof(struct ifinfomsg));
    attr_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  } else {
    struct rtmsg *rt = msg_put(&m, NULL, sizeof *rt);
    rt->rtm_family = AF_INET;
    rt->rtm_table = table < 256 ? table : RT_TABLE_UNSPEC;
    attr_u32(&m, RTA_TABLE, table);
  }
  m.nh.nlmsg_seq = 1;
  if (send(fd, m.buf, m.nh.nlmsg_len, 0) < 0) die("send dump");
  static char reply[1 << 20];
  long count = 0;
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) die("recv dump");
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_DONE) return count;
      if (h->nlmsg_type == NLMSG_ERROR) {
        errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
        die("dump");
      }
      count++;
    }
  }
}

// ---- the modes ----
static void veth_add_(void) { veth_add(fd, nsb); }
static void veth_del_(void) { link_del(fd, "vX"); }
static const unsigned char addr99[4] = {10, 99, 0, 1};
static void addr_add_(void) { addr_op(fd, RTM_NEWADDR, ifindex, addr99, 24); }
static void addr_del_(void) { addr_op(fd, RTM_DELADDR, ifindex, addr99, 24); }
static void route_add_(void) { route_op(fd, RTM_NEWROUTE, ifindex); }
static void route_del_(void) { route_op(fd, RTM_DELROUTE, ifindex); }
static void netns_add_(void) { netns_add(path, home); }
static void netns_del_(void) { netns_del(path); }

int open_netns(const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "/run/netns/%s", name);
  int ns = open(p, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(p);
  return ns;
}

// Joins the namespace NAME (this process is single-threaded) and opens the socket there.
void enter(const char *name) {
  home = open_netns(name);
  if (setns(home, CLONE_NEWNET) < 0) die("setns");
  fd = nl_open(NETLINK_ROUTE);
}

static void report(const char *name, const char *suffix, double *v, int n) {
  printf("%s%s %.1f\n", name, suffix, median(v, n));
}

// Times N rounds of add then del, after one untimed round (a fresh process's first request
// pays for page faults and cold caches that are not the kernel's); prints the medians.
void loop(const char *name, void (*add)(void), void (*del)(void), int n) {
  double *ta = calloc(n, sizeof *ta), *td = calloc(n, sizeof *td), *both = calloc(n, sizeof *both);
  add();
  del();
  for (int i = 0; i < n; i++) {
    double a = now_us();
    add();
    double b = now_us();
    del();
    double c = now_us();
    ta[i] = b - a, td[i] = c - b, both[i] = c - a;
  }
  report(name, "_add", ta, n);
  report(name, "_del", td, n);
  report(name, "", both, n);
}

static int usage(const char *self) {
  fprintf(stderr,
          "usage: %1$s veth NS_A NS_B N | %1$s addr NS DEV N | %1$s route NS DEV N | %1$s netns NAME N\n"
          "       %1$s dump-link NS N | %1$s dump-route NS TABLE N\n"
          "       %1$s attach HOST S VETH ADDR PORT N | %1$s attach-steps HOST S VETH ADDR PORT\n",
          self);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4) return usage(argv[0]);
  const char *mode = argv[1];
  if (!strcmp(mode, "attach") || !strcmp(mode, "attach-steps")) {
    int rc = attach_mode(argc, argv);
    return rc == 2 ? usage(argv[0]) : rc;
  }
  int n = atoi(argv[argc - 1]);
  if (n < 1) return usage(argv[0]);

  if (!strcmp(mode, "veth") && argc == 5) {
    nsb = open_netns(argv[3]);
    enter(argv[2]);
    loop("veth", veth_add_, veth_del_, n);
  } else if ((!strcmp(mode, "addr") || !strcmp(mode, "route")) && argc == 5) {
    enter(argv[2]);
    ifindex = if_nametoindex(argv[3]);
    if (!ifindex) die(argv[3]);
    if (!strcmp(mode, "addr")) loop("addr", addr_add_, addr_del_, n);
    else loop("route", route_add_, route_del_, n);
  } else if (!strcmp(mode, "netns") && argc == 4) {
    home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home < 0) die("open own netns");
    snprintf(path, sizeof path, "/run/netns/%s", argv[2]);
    loop("netns", netns_add_, netns_del_, n);
  } else if ((!strcmp(mode, "dump-link") && argc == 4) || (!strcmp(mode, "dump-route") && argc == 5)) {
    int is_link = !strcmp(mode, "dump-link");
    enter(argv[2]);
    int one = 1;
    if (setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one) < 0) die("NETLINK_GET_STRICT_CHK");
    double *t = calloc(n, sizeof *t);
    long count = dump(fd, is_link ? RTM_GETLINK : RTM_GETROUTE, is_link ? 0 : atoi(argv[3])); // untimed
    for (int i = 0; i < n; i++) {
      double a = now_us();
      count = dump(fd, is_link ? RTM_GETLINK : RTM_GETROUTE, is_link ? 0 : atoi(argv[3]));
      t[i] = now_us() - a;
    }
    printf("%s %.1f %ld\n", mode, median(t, n), count);
  } else {
    return usage(argv[0]);
  }
  return 0;
}
