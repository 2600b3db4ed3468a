// What the kernel baseline's two files share (kernel-baseline.c: single operations and dumps;
// kernel-attach.c: one engine attach): the error exit, the clock, a netlink message in a fixed
// buffer with its attributes, requests and their ACKs, and the operations as `ip` builds them.
#pragma once

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

static inline void die(const char *what) {
  perror(what);
  exit(1);
}

static inline double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static inline double median(double *v, int n) {
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

static inline struct nlmsghdr *msg_start(struct msg *m, int type, int flags) {
  memset(m, 0, sizeof *m);
  m->nh.nlmsg_len = NLMSG_HDRLEN;
  m->nh.nlmsg_type = type;
  m->nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  return &m->nh;
}

static inline void *msg_put(struct msg *m, const void *data, size_t len) {
  void *p = m->buf + NLMSG_ALIGN(m->nh.nlmsg_len);
  if (data) memcpy(p, data, len);
  else memset(p, 0, len);
  m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + len;
  return p;
}

static inline struct rtattr *attr_put(struct msg *m, int type, const void *data, size_t len) {
  struct rtattr *a = msg_put(m, NULL, RTA_LENGTH(len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  return a;
}

static inline void attr_str(struct msg *m, int type, const char *s) { attr_put(m, type, s, strlen(s) + 1); }
static inline void attr_u32(struct msg *m, int type, unsigned v) { attr_put(m, type, &v, sizeof v); }
static inline struct rtattr *nest_start(struct msg *m, int type) { return attr_put(m, type, NULL, 0); }
static inline void nest_end(struct msg *m, struct rtattr *a) { a->rta_len = (char *)m->buf + m->nh.nlmsg_len - (char *)a; }

// ---- requests and their ACKs ----
static inline int nl_open(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) die("socket(AF_NETLINK)");
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  return fd;
}

// Sends COUNT messages in one sendmsg (an nf_tables batch is BEGIN, the requests, END) and waits
// for the ACK of the one at index ACKED; an error for any of them is fatal.
static inline void nl_send(int fd, struct msg *m, int count, int acked, const char *what) {
  static unsigned seq;
  struct iovec iov[4];
  unsigned first = seq + 1;
  for (int i = 0; i < count; i++) {
    m[i].nh.nlmsg_seq = ++seq;
    iov[i] = (struct iovec){.iov_base = m[i].buf, .iov_len = m[i].nh.nlmsg_len};
  }
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = iov, .msg_iovlen = count};
  if (sendmsg(fd, &mh, 0) < 0) die("sendmsg");
  char reply[8192];
  for (;;) {
    ssize_t n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) die("recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first || h->nlmsg_seq > seq) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (err) {
        errno = -err;
        die(what);
      }
      if (h->nlmsg_seq == first + acked) return;
    }
  }
}

static inline void nl_talk(int fd, struct msg *m, const char *what) { nl_send(fd, m, 1, 0, what); }

// ---- the measured operations, as `ip` builds them ----
// ip -n A link add vX type veth peer name vY netns B
static inline void veth_add(int fd, int nsb) {
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

// ip -n A link del NAME
static inline void link_del(int fd, const char *name) {
  struct msg m;
  msg_start(&m, RTM_DELLINK, 0);
  msg_put(&m, NULL, sizeof(struct ifinfomsg));
  attr_str(&m, IFLA_IFNAME, name);
  nl_talk(fd, &m, "RTM_DELLINK");
}

// ip -n A addr add|del A/PREFIX dev DEV
static inline void addr_op(int fd, int type, int ifindex, const unsigned char a[4], int prefix) {
  struct msg m;
  msg_start(&m, type, type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
  struct ifaddrmsg *ifa = msg_put(&m, NULL, sizeof *ifa);
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = prefix;
  ifa->ifa_index = ifindex;
  attr_put(&m, IFA_LOCAL, a, 4);
  attr_put(&m, IFA_ADDRESS, a, 4);
  nl_talk(fd, &m, type == RTM_NEWADDR ? "RTM_NEWADDR" : "RTM_DELADDR");
}

// ip -n A route add|del 10.98.0.0/24 dev DEV
static inline void route_op(int fd, int type, int ifindex) {
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
static inline void netns_add(const char *path, int home) {
  int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (fd < 0) die(path);
  close(fd);
  if (unshare(CLONE_NEWNET) < 0) die("unshare(CLONE_NEWNET)");
  if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) die("mount --bind");
  if (setns(home, CLONE_NEWNET) < 0) die("setns(home)");
}

// ip netns del NAME
static inline void netns_del(const char *path) {
  if (umount2(path, MNT_DETACH) < 0) die("umount2");
  if (unlink(path) < 0) die("unlink");
}

// What the modes work on, set up before any timing (kernel-baseline.c defines them): the
// rtnetlink socket, the namespace it and this process live in, a second namespace, an ifindex,
// and a namespace path.
extern int fd, nsb, ifindex, home;
extern char path[4096];

// kernel-baseline.c.
int open_netns(const char *name);
void enter(const char *name);
void loop(const char *name, void (*add)(void), void (*del)(void), int n);

// kernel-attach.c: the attach and attach-steps modes; 2 on a usage error.
int attach_mode(int argc, char **argv);
