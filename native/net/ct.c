/* Forgetting conntrack entries of a UDP port (ct.h), over ctnetlink: what `conntrack -D -p
 * udp --dport N` does, without the process. A datagram sent to a host port before a pod
 * published it leaves an entry that keeps its flow from ever being DNATed to the pod (UDP
 * has no connection to end); CNI's portmap flushes them the same way.
 *
 * One dump of the IPv4 table (IPCTNL_MSG_CT_GET with NLM_F_DUMP); every entry whose original
 * tuple is UDP to that destination port is collected (its CTA_TUPLE_ORIG attribute as the
 * kernel sent it) and, once the dump is over, deleted with IPCTNL_MSG_CT_DELETE naming that
 * tuple. An entry that went meanwhile (ENOENT) is fine. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ct.h"

#define NLA_OK(a, len) ((len) >= (int)sizeof(struct nlattr) && (a)->nla_len >= sizeof(struct nlattr) && (a)->nla_len <= (len))
#define NLA_NEXT(a, len) ((len) -= NLA_ALIGN((a)->nla_len), (struct nlattr *)((char *)(a) + NLA_ALIGN((a)->nla_len)))
#define NLA_DATA(a) ((void *)((char *)(a) + NLA_HDRLEN))
#define NLA_TYPE(a) ((a)->nla_type & NLA_TYPE_MASK)

static struct nlattr *find(struct nlattr *a, int len, int type) {
  for (; NLA_OK(a, len); a = NLA_NEXT(a, len))
    if (NLA_TYPE(a) == type) return a;
  return NULL;
}

/* The original tuple when it is UDP to port (host order); else NULL. */
static struct nlattr *udp_to(struct nlmsghdr *h, int port) {
  int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct nfgenmsg));
  if (len <= 0) return NULL;
  struct nlattr *orig = find((struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct nfgenmsg))), len, CTA_TUPLE_ORIG);
  if (!orig) return NULL;
  struct nlattr *proto = find(NLA_DATA(orig), (int)orig->nla_len - NLA_HDRLEN, CTA_TUPLE_PROTO);
  if (!proto) return NULL;
  struct nlattr *num = find(NLA_DATA(proto), (int)proto->nla_len - NLA_HDRLEN, CTA_PROTO_NUM);
  struct nlattr *dport = find(NLA_DATA(proto), (int)proto->nla_len - NLA_HDRLEN, CTA_PROTO_DST_PORT);
  if (!num || !dport || *(uint8_t *)NLA_DATA(num) != IPPROTO_UDP || ntohs(*(uint16_t *)NLA_DATA(dport)) != port) return NULL;
  return orig;
}

static int send_msg(int fd, int type, int flags, const void *payload, size_t plen, uint32_t seq) {
  char buf[1024];
  if (NLMSG_SPACE(sizeof(struct nfgenmsg) + plen) > sizeof buf) return -EMSGSIZE;
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  h->nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(struct nfgenmsg) + plen);
  h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | type);
  h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  h->nlmsg_seq = seq;
  struct nfgenmsg *g = NLMSG_DATA(h);
  g->nfgen_family = AF_INET;
  g->version = NFNETLINK_V0;
  if (plen) memcpy((char *)g + NLMSG_ALIGN(sizeof *g), payload, plen);
  return send(fd, buf, h->nlmsg_len, 0) < 0 ? -errno : 0;
}

int mp_ct_flush_udp(int port) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return -errno;
  struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
  int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : send_msg(fd, IPCTNL_MSG_CT_GET, NLM_F_DUMP, NULL, 0, 1);
  /* Collect the matching tuples during the dump (nothing can be sent meanwhile). */
  char *tuples = NULL;
  size_t tlen = 0;
  static char buf[65536];
  for (int done = rc < 0; !done;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -errno;
      break;
    }
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
      if (h->nlmsg_type == NLMSG_ERROR) {
        int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
        if (e) rc = e;
        done = 1;
        break;
      }
      struct nlattr *orig = udp_to(h, port);
      if (!orig) continue;
      char *t = realloc(tuples, tlen + NLA_ALIGN(orig->nla_len));
      if (!t) { rc = -ENOMEM; done = 1; break; }
      tuples = t;
      memcpy(tuples + tlen, orig, orig->nla_len);
      tlen += NLA_ALIGN(orig->nla_len);
    }
  }
  int deleted = 0;
  for (size_t off = 0; rc >= 0 && off < tlen;) {
    struct nlattr *a = (struct nlattr *)(tuples + off);
    off += NLA_ALIGN(a->nla_len);
    if (send_msg(fd, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, a, a->nla_len, 2) < 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (n > 0 && NLMSG_OK(h, (int)n) && h->nlmsg_type == NLMSG_ERROR) {
      int e = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (e == 0) deleted++;
      else if (e != -ENOENT) rc = e;
    }
  }
  free(tuples);
  close(fd);
  return rc < 0 ? rc : deleted;
}
