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
//
// The do/undo modes print "MODE_add US", "MODE_del US" and "MODE US" (both): medians over the N
// iterations after one untimed, in microseconds. Dumps read every message and do nothing with it (the floor under
// any dump) and print "MODE US COUNT". run.js calls it with N = 1 between the nlnet and `ip`
// iterations, so that all three see the same load on the machine, and takes medians over calls.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ---- a message in a fixed buffer, attributes appended at the tail ----
struct msg {
  union {
    struct nlmsghdr nh;
    char buf[1024];
  };
};

static struct nlmsghdr *msg_start(struct msg *m, int type, int flags) {
  memset(m, 0, sizeof *m);
  m->nh.nlmsg_len = NLMSG_HDRLEN;
  m->nh.nlmsg_type = type;
  m->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return &m->nh;
}

static void *msg_put(struct msg *m, const void *data, size_t len) {
  void *p = m->buf + NLMSG_ALIGN(m->nh.nlmsg_len);
  if (data) memcpy(p, data, len);
  else memset(p, 0, len);
  m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + len;
  return p;
}

static struct rtattr *attr_put(struct msg *m, int type, const void *data, size_t len) {
  struct rtattr *a = msg_put(m, NULL, RTA_LENGTH(len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  return a;
}

static void attr_str(struct msg *m, int type, const char *s) { attr_put(m, type, s, strlen(s) + 1); }
static void attr_u32(struct msg *m, int type, unsigned v) { attr_put(m, type, &v, sizeof v); }
static struct rtattr *nest_start(struct msg *m, int type) { return attr_put(m, type, NULL, 0); }
static void nest_end(struct msg *m, struct rtattr *a) { a->rta_len = (char *)m->buf + m->nh.nlmsg_len - (char *)a; }

// ---- one request, one ACK ----
static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) die("socket(NETLINK_ROUTE)");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  return fd;
}

static void nl_talk(int fd, struct msg *m, const char *what) {
  static unsigned seq;
  m->nh.nlmsg_seq = ++seq;
  if (send(fd, m->buf, m->nh.nlmsg_len, 0) < 0) die("send");
  char reply[8192];
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) die("recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (err) {
        errno = -err;
        die(what);
      }
      return;
    }
  }
}

// ---- the measured operations, as `ip` builds them ----
// ip -n A link add vX type veth peer name vY netns B
static void veth_add(int fd, int nsb) {
  struct msg m;
  msg_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, "vX");
  struct rtattr *li = nest_start(&m, IFLA_LINKINFO);
  attr_str(&m, IFLA_INFO_KIND, "veth");
  struct rtattr *data = nest_start(&m, IFLA_INFO_DATA);
  struct rtattr *peer = nest_start(&m, VETH_INFO_PEER);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, "vY");
  attr_u32(&m, IFLA_NET_NS_FD, nsb);
  nest_end(&m, peer);
  nest_end(&m, data);
  nest_end(&m, li);
  nl_talk(fd, &m, "RTM_NEWLINK veth");
}

// ip -n A link del vX
static void veth_del(int fd) {
  struct msg m;
  msg_start(&m, RTM_DELLINK, 0);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, "vX");
  nl_talk(fd, &m, "RTM_DELLINK");
}

// ip -n A addr add|del 10.99.0.1/24 dev DEV
static void addr_op(int fd, int type, int ifindex) {
  struct msg m;
  msg_start(&m, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  struct ifaddrmsg *ifa = msg_put(&m, NULL, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = 24;
  ifa->ifa_index = ifindex;
  unsigned char a[4] = {10, 99, 0, 1};
  attr_put(&m, IFA_LOCAL, a, 4);
  attr_put(&m, IFA_ADDRESS, a, 4);
  nl_talk(fd, &m, type == RTM_NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR");
}

// ip -n A route add|del 10.98.0.0/24 dev DEV
static void route_op(int fd, int type, int ifindex) {
  struct msg m;
  msg_start(&m, type, type == RTM_NEWROUTE ? NLM_F_CREATE | NLM_F_EXCL : 0);
  struct rtmsg *rt = msg_put(&m, NULL, sizeof *rt);
  rt->rtm_family = AF_INET;
  rt->rtm_dst_len = 24;
  rt->rtm_table = RT_TABLE_MAIN;
  if (type == RTM_NEWROUTE) {
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_LINK;
    rt->rtm_type = RTN_UNICAST;
  } else {
    rt->rtm_scope = RT_SCOPE_NOWHERE;
  }
  unsigned char d[4] = {10, 98, 0, 0};
  attr_put(&m, RTA_DST, d, 4);
  attr_u32(&m, RTA_OIF, ifindex);
  nl_talk(fd, &m, type == RTM_NEWROUTE ? "RTM_NEWROUTE" : "RTM_DELROUTE");
}

// ip netns add NAME: a new namespace kept alive by a bind mount; then back to where we were.
static void netns_add(const char *path, int home) {
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) die(path);
  close(fd);
  if (unshare(CLONE_NEWNET) < 0) die("unshare(CLONE_NEWNET)");
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) die("mount --bind");
  if (setns(home, CLONE_NEWNET) < 0) die("setns(home)");
}

// ip netns del NAME
static void netns_del(const char *path) {
  if (umount2(path, MNT_DETACH) < 0) die("umount2");
  if (unlink(path) < 0) die("unlink");
}

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

// ---- the modes: what each loop works on, set up before any timing ----
static int fd, nsb, ifindex, home;
static char path[4096];

static void veth_add_(void) { veth_add(fd, nsb); }
static void veth_del_(void) { veth_del(fd); }
static void addr_add_(void) { addr_op(fd, RTM_NEWADDR, ifindex); }
static void addr_del_(void) { addr_op(fd, RTM_DELADDR, ifindex); }
static void route_add_(void) { route_op(fd, RTM_NEWROUTE, ifindex); }
static void route_del_(void) { route_op(fd, RTM_DELROUTE, ifindex); }
static void netns_add_(void) { netns_add(path, home); }
static void netns_del_(void) { netns_del(path); }

static int open_netns(const char *name) {
  char p[4096];
  snprintf(p, sizeof p, "/run/netns/%s", name);
  int ns = open(p, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(p);
  return ns;
}

// Joins the namespace NAME (this process is single-threaded) and opens the socket there.
static void enter(const char *name) {
  if (setns(open_netns(name), CLONE_NEWNET) < 0) die("setns");
  fd = nl_open();
}

static void report(const char *name, const char *suffix, double *v, int n) {
  printf("%s%s %.1f\n", name, suffix, median(v, n));
}

// Times N rounds of add then del, after one untimed round (a fresh process's first request
// pays for page faults and cold caches that are not the kernel's); prints the medians.
static void loop(const char *name, void (*add)(void), void (*del)(void), int n) {
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
          "       %1$s dump-link NS N | %1$s dump-route NS TABLE N\n",
          self);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 4) return usage(argv[0]);
  const char *mode = argv[1];
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
