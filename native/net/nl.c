/* rtnetlink requests, written out by hand: a request is one nlmsghdr, its ifinfomsg /
 * ifaddrmsg / rtmsg, and attributes; the answer to each is an NLMSG_ERROR carrying 0 or
 * -errno. No library: the supervisor is a small static binary, and these are six requests. */
#define _GNU_SOURCE
#include "nl.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct req {
  struct nlmsghdr h;
  char buf[1024];
};

static unsigned seq;

int mp_nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static void *tail(struct req *r) { return (char *)&r->h + NLMSG_ALIGN(r->h.nlmsg_len); }

static struct rtattr *attr(struct req *r, unsigned short type, const void *data, size_t len) {
  struct rtattr *a = tail(r);
  size_t need = RTA_SPACE(len);
  if (NLMSG_ALIGN(r->h.nlmsg_len) + need > sizeof(*r)) return NULL;
  a->rta_type = type;
  a->rta_len = (unsigned short)RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(a), data, len);
  r->h.nlmsg_len = (unsigned)(NLMSG_ALIGN(r->h.nlmsg_len) + need);
  return a;
}

static struct rtattr *nest(struct req *r, unsigned short type) { return attr(r, type, NULL, 0); }
static void nest_end(struct req *r, struct rtattr *a) { a->rta_len = (unsigned short)((char *)tail(r) - (char *)a); }

static void init(struct req *r, unsigned short type, unsigned short flags, const void *body, size_t len) {
  memset(r, 0, sizeof *r);
  r->h.nlmsg_len = (unsigned)NLMSG_LENGTH(len);
  r->h.nlmsg_type = type;
  r->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
  r->h.nlmsg_seq = ++seq;
  memcpy(NLMSG_DATA(&r->h), body, len);
}

typedef void (*answer_fn)(const struct nlmsghdr *h, void *ctx);

/* Sends the request and reads until its ACK (NLMSG_ERROR) or, for a dump, NLMSG_DONE,
 * handing every other answer of its sequence to `answer`: 0 or -errno. */
static int exchange(int fd, struct req *r, answer_fn answer, void *ctx) {
  if (send(fd, &r->h, r->h.nlmsg_len, 0) < 0) return -errno;
  char buf[16384];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != r->h.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return 0;
      if (h->nlmsg_type == NLMSG_ERROR) return ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (answer) answer(h, ctx);
    }
  }
}

static int talk(int fd, struct req *r) { return exchange(fd, r, NULL, NULL); }

static int name_attr(struct req *r, const char *name) {
  size_t len = strlen(name);
  if (len == 0 || len >= IFNAMSIZ) return -EINVAL;
  return attr(r, IFLA_IFNAME, name, len + 1) ? 0 : -EMSGSIZE;
}

int mp_nl_ifindex(int fd, const char *name) { return mp_nl_link_kind(fd, name, NULL, 0); }

struct link_answer {
  int index;
  char *kind;
  size_t kn;
};

static void on_link(const struct nlmsghdr *h, void *ctx) {
  struct link_answer *a = ctx;
  if (h->nlmsg_type != RTM_NEWLINK) return;
  const struct ifinfomsg *ifi = NLMSG_DATA(h);
  a->index = ifi->ifi_index;
  if (!a->kind || !a->kn) return;
  a->kind[0] = 0;
  int alen = (int)IFLA_PAYLOAD(h);
  for (const struct rtattr *at = IFLA_RTA(ifi); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
    if (at->rta_type != IFLA_LINKINFO) continue;
    int ilen = (int)RTA_PAYLOAD(at);
    for (const struct rtattr *b = RTA_DATA(at); RTA_OK(b, ilen); b = RTA_NEXT(b, ilen))
      if (b->rta_type == IFLA_INFO_KIND) snprintf(a->kind, a->kn, "%.*s", (int)RTA_PAYLOAD(b), (const char *)RTA_DATA(b));
  }
}

int mp_nl_link_kind(int fd, const char *name, char *kind, size_t kn) {
  /* RTM_GETLINK by name answers with the link, then the ACK */
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  init(&r, RTM_GETLINK, 0, &ifi, sizeof ifi);
  int rc = name_attr(&r, name);
  if (rc < 0) return rc;
  struct link_answer a = {-ENODEV, kind, kn};
  rc = exchange(fd, &r, on_link, &a);
  return rc < 0 ? rc : a.index;
}

int mp_nl_veth(int fd, const char *name, const char *peer, int peer_netns_fd) {
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  if (name_attr(&r, name) < 0) return -EINVAL;
  struct rtattr *li = nest(&r, IFLA_LINKINFO);
  if (!li || !attr(&r, IFLA_INFO_KIND, "veth", 5)) return -EMSGSIZE;
  struct rtattr *data = nest(&r, IFLA_INFO_DATA);
  struct rtattr *pi = nest(&r, VETH_INFO_PEER);
  if (!data || !pi) return -EMSGSIZE;
  /* The peer's own ifinfomsg, then its attributes. */
  struct ifinfomsg *pifi = tail(&r);
  memset(pifi, 0, sizeof *pifi);
  pifi->ifi_family = AF_UNSPEC;
  r.h.nlmsg_len += (unsigned)NLMSG_ALIGN(sizeof *pifi);
  if (name_attr(&r, peer) < 0) return -EINVAL;
  if (peer_netns_fd >= 0 && !attr(&r, IFLA_NET_NS_FD, &peer_netns_fd, sizeof peer_netns_fd)) return -EMSGSIZE;
  nest_end(&r, pi);
  nest_end(&r, data);
  nest_end(&r, li);
  return talk(fd, &r);
}

int mp_nl_bridge(int fd, const char *name, const unsigned char *mac) {
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  if (name_attr(&r, name) < 0) return -EINVAL;
  if (mac && !attr(&r, IFLA_ADDRESS, mac, 6)) return -EMSGSIZE;
  struct rtattr *li = nest(&r, IFLA_LINKINFO);
  if (!li || !attr(&r, IFLA_INFO_KIND, "bridge", 7)) return -EMSGSIZE;
  nest_end(&r, li);
  return talk(fd, &r);
}

int mp_nl_link_set(int fd, const char *name, const char *master, const char *alias, int up) {
  int index = mp_nl_ifindex(fd, name);
  if (index < 0) return index;
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = index};
  if (up >= 0) {
    ifi.ifi_change = IFF_UP;
    ifi.ifi_flags = up ? IFF_UP : 0;
  }
  init(&r, RTM_NEWLINK, 0, &ifi, sizeof ifi);
  if (master) {
    int m = mp_nl_ifindex(fd, master);
    if (m < 0) return m;
    if (!attr(&r, IFLA_MASTER, &m, sizeof m)) return -EMSGSIZE;
  }
  if (alias && !attr(&r, IFLA_IFALIAS, alias, strlen(alias))) return -EMSGSIZE;
  return talk(fd, &r);
}

int mp_nl_link_del(int fd, const char *name) {
  struct req r;
  struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
  init(&r, RTM_DELLINK, 0, &ifi, sizeof ifi);
  if (name_attr(&r, name) < 0) return -EINVAL;
  return talk(fd, &r);
}

int mp_nl_addr_add(int fd, const char *dev, struct in_addr addr, int prefix, int brd) {
  if (prefix < 0 || prefix > 32) return -EINVAL;
  int index = mp_nl_ifindex(fd, dev);
  if (index < 0) return index;
  struct req r;
  struct ifaddrmsg ifa = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = (unsigned)index};
  init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  if (!attr(&r, IFA_LOCAL, &addr, sizeof addr) || !attr(&r, IFA_ADDRESS, &addr, sizeof addr)) return -EMSGSIZE;
  if (brd) {
    struct in_addr b = {.s_addr = addr.s_addr | htonl(prefix == 32 ? 0 : 0xffffffffu >> prefix)};
    if (!attr(&r, IFA_BROADCAST, &b, sizeof b)) return -EMSGSIZE;
  }
  return talk(fd, &r);
}

struct addr_answer {
  int index, count, max;
  char (*out)[20];
};

static void on_addr(const struct nlmsghdr *h, void *ctx) {
  struct addr_answer *a = ctx;
  if (h->nlmsg_type != RTM_NEWADDR) return;
  const struct ifaddrmsg *m = NLMSG_DATA(h);
  if ((int)m->ifa_index != a->index || a->count >= a->max) return;
  int alen = (int)IFA_PAYLOAD(h);
  const struct in_addr *local = NULL, *address = NULL;
  for (const struct rtattr *at = IFA_RTA(m); RTA_OK(at, alen); at = RTA_NEXT(at, alen)) {
    if (at->rta_type == IFA_LOCAL) local = RTA_DATA(at);
    else if (at->rta_type == IFA_ADDRESS) address = RTA_DATA(at);
  }
  const unsigned char *b = (const unsigned char *)(local ? local : address);
  if (b) snprintf(a->out[a->count++], 20, "%u.%u.%u.%u/%u", b[0], b[1], b[2], b[3], m->ifa_prefixlen);
}

int mp_nl_addrs(int fd, const char *dev, char (*out)[20], int n) {
  int index = mp_nl_ifindex(fd, dev);
  if (index < 0) return index;
  struct req r;
  struct ifaddrmsg ifa = {.ifa_family = AF_INET};
  init(&r, RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof ifa);
  r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP; /* a dump ends with NLMSG_DONE, no ACK */
  struct addr_answer a = {index, 0, n, out};
  int rc = exchange(fd, &r, on_addr, &a);
  return rc < 0 ? rc : a.count;
}

int mp_nl_route_default(int fd, const char *dev, struct in_addr gateway) {
  int index = mp_nl_ifindex(fd, dev);
  if (index < 0) return index;
  struct req r;
  struct rtmsg rt = {.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST};
  init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  if (!attr(&r, RTA_GATEWAY, &gateway, sizeof gateway) || !attr(&r, RTA_OIF, &index, sizeof index)) return -EMSGSIZE;
  return talk(fd, &r);
}
