/* Host operations: the pod's network wiring as plan data (hostops.c).
 *
 * TypeScript computes the list (names, addresses, the gateway: policy) and prints it in
 * `minipod plan`; the supervisor decodes it — every op and field known, or the whole list is
 * refused before anything runs — and executes it over rtnetlink, in order, right after
 * pause has started. "host" ops use a socket of the supervisor's own network namespace,
 * "pod" ops one made in pause's. The first failure stops the walk and is reported as
 * {step, syscall, errno, path}. The supervisor journals the inverse of each op before it runs
 * (a veth's host end; an nft op's "undo" transaction) and unwinds that journal when the pod
 * ends; the pod end of the veth goes with pause's namespace. An nft op is one `nft -f -`
 * transaction: the only process the host side of a pod starts. */
#ifndef MP_HOSTOPS_H
#define MP_HOSTOPS_H

#include <netinet/in.h>

#include "../exec/json.h"
#include "../exec/spawn.h"

enum mp_hostop_kind { MP_H_VETH, MP_H_LINK, MP_H_ADDR, MP_H_ROUTE, MP_H_NFT, MP_H_SYSCTL, MP_H_CONNTRACK };

struct mp_hostop {
  enum mp_hostop_kind kind;
  int pod;               /* 1: in pause's network namespace */
  const char *name;      /* veth: host end; link: the link; addr/route: the device; nft: what it does */
  const char *peer;      /* veth: the end created in pause's namespace */
  const char *master;    /* link: NULL or the bridge */
  int up;                /* link: 1 up, -1 unchanged */
  struct in_addr addr;   /* addr: the address; route: the gateway */
  int prefix;            /* addr */
  const char *script;    /* nft: one transaction for `nft -f -` */
  const char *undo;      /* nft: the transaction that takes it back ("" when nothing is to undo) */
  int ipc;               /* sysctl: 1 in pause's IPC namespace, 0 in its network namespace */
  int port;              /* conntrack: the UDP destination port whose entries are forgotten */
  const char *value;     /* sysctl: what is written to /proc/sys/<name> (name is the key, "net/ipv4/...") */
};

struct mp_hostops {
  struct mp_hostop *ops;
  int n;
};

/* Decodes plan.hostOps (absent: none). -1 and a message in err when anything is unknown or malformed. */
int mp_hostops_decode(struct mp_arena *a, const struct mp_json *arr, struct mp_hostops *out, char *err, size_t errlen);

/* Runs them, except the sysctls (the caller writes those from inside the pod's namespaces):
 * host_nl a netlink socket of our namespace, pod_nl one of pause's, pod_netns an fd
 * of pause's network namespace (for the veth peer). 0, or -1 with e filled. */
int mp_hostops_run(const struct mp_hostops *h, int host_nl, int pod_nl, int pod_netns, struct mp_error *e);

/* Runs `nft -f -` with script on stdin: 0, -ENOENT without nft, -EINVAL when nft refused it. */
int mp_run_nft(const char *script);

#endif
