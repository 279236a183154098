/* rtnetlink, the few requests minipod's host operations need (nl.c).
 *
 * A socket talks to the network namespace it was created in: the supervisor makes one in
 * its own namespace and one in pause's (entered by pidfd, then left), so no request ever
 * names a namespace by a pid. Every request asks for an ACK; the functions return 0 or
 * -errno, the kernel's answer. */
#ifndef MP_NL_H
#define MP_NL_H

#include <netinet/in.h>

int mp_nl_open(void);
/* ifindex of a link of the socket's namespace, or -errno. */
int mp_nl_ifindex(int fd, const char *name);
/* The same, and the link's kind ("bridge", "veth", "" for a plain one) into kind. */
int mp_nl_link_kind(int fd, const char *name, char *kind, size_t n);
/* A veth pair: `name` here, `peer` created directly in the namespace of `peer_netns_fd`. */
int mp_nl_veth(int fd, const char *name, const char *peer, int peer_netns_fd);
/* A bridge with a fixed MAC (6 bytes; NULL: the kernel picks). */
int mp_nl_bridge(int fd, const char *name, const unsigned char *mac);
/* Sets what is given: master (NULL: unchanged), alias (NULL: unchanged), up (1/0, -1: unchanged). */
int mp_nl_link_set(int fd, const char *name, const char *master, const char *alias, int up);
int mp_nl_link_del(int fd, const char *name);
/* An IPv4 address with its prefix; brd: also the broadcast address. */
int mp_nl_addr_add(int fd, const char *dev, struct in_addr addr, int prefix, int brd);
/* The IPv4 addresses of dev as "a.b.c.d/prefix" strings, written into out (n of them at
 * most, each up to 19 bytes + NUL); the count, or -errno. */
int mp_nl_addrs(int fd, const char *dev, char (*out)[20], int n);
/* The default route via a gateway on dev. */
int mp_nl_route_default(int fd, const char *dev, struct in_addr gateway);

#endif
