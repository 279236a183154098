/* The pod's network namespace, and wiring it to the host (native/net/hostops.c).
 *
 * pause's network namespace is entered by its pidfd (setns(pidfd, CLONE_NEWNET)) and an
 * fd of it taken from /proc/thread-self — never a /proc/PID path, which could name another
 * process once pause is gone. The supervisor is single-threaded, so entering and leaving a
 * namespace for a moment is safe here (it never is in Node). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../exec/describe.h"
#include "../net/hostops.h"
#include "../net/nl.h"
#include "shim.h"

int pod_enter_netns(struct pod *p, char *err, size_t n) {
  if (p->pause_dead || p->pause_pidfd < 0) { snprintf(err, n, "the pod's network namespace is gone"); return -1; }
  if (p->host_netfd < 0) p->host_netfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (p->host_netfd < 0) { snprintf(err, n, "open /proc/self/ns/net: %s", strerror(errno)); return -1; }
  if (setns(p->pause_pidfd, CLONE_NEWNET) < 0) { snprintf(err, n, "setns(pause pidfd, CLONE_NEWNET): %s", strerror(errno)); return -1; }
  if (p->pod_netfd < 0) {
    p->pod_netfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (p->pod_netfd < 0) {
      snprintf(err, n, "open /proc/thread-self/ns/net: %s", strerror(errno));
      pod_leave_netns(p);
      return -1;
    }
  }
  return 0;
}

void pod_leave_netns(struct pod *p) {
  if (setns(p->host_netfd, CLONE_NEWNET) < 0) logmsg(p, "setns back into our network namespace: %s", strerror(errno));
}

/* The plan's sysctls, each written to /proc/sys from inside pause's network or IPC
 * namespace: /proc/sys/net and the IPC sysctls show the namespace of whoever opens them. */
static int pod_sysctls(struct pod *p, struct mp_error *e) {
  for (int i = 0; i < p->hostops.n; i++) {
    const struct mp_hostop *o = &p->hostops.ops[i];
    if (o->kind != MP_H_SYSCTL) continue;
    int flag = o->ipc ? CLONE_NEWIPC : CLONE_NEWNET;
    char path[300];
    snprintf(path, sizeof path, "/proc/sys/%s", o->name);
    int own = open(o->ipc ? "/proc/self/ns/ipc" : "/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1, err = 0;
    const char *call = "setns";
    if (own < 0 || setns(p->pause_pidfd, flag) < 0) {
      err = errno;
    } else {
      fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0) { err = errno; call = "open"; }
      else if (write(fd, o->value, strlen(o->value)) != (ssize_t)strlen(o->value)) { err = errno; call = "write"; }
      if (fd >= 0) close(fd);
      if (setns(own, flag) < 0) abort(); /* never go on inside the pod's namespace */
    }
    if (own >= 0) close(own);
    if (err) {
      memset(e, 0, sizeof *e);
      snprintf(e->step, sizeof e->step, "hostOps[%d]:sysctl", i);
      snprintf(e->syscall, sizeof e->syscall, "%s", call);
      snprintf(e->path, sizeof e->path, "%s", path);
      snprintf(e->detail, sizeof e->detail, "\"%s\"", o->value);
      e->err = err;
      return -1;
    }
  }
  return 0;
}

int pod_wire(struct pod *p) {
  if (!p->hostops.n) return 0;
  struct mp_error e;
  memset(&e, 0, sizeof e);
  char msg[600];
  int host = mp_nl_open(), pod = -1;
  if (host < 0) {
    snprintf(e.step, sizeof e.step, "hostOps");
    snprintf(e.syscall, sizeof e.syscall, "socket(NETLINK_ROUTE)");
    e.err = -host;
  } else if (pod_enter_netns(p, msg, sizeof msg) < 0) {
    snprintf(e.step, sizeof e.step, "hostOps");
    snprintf(e.syscall, sizeof e.syscall, "setns");
    snprintf(e.detail, sizeof e.detail, "%s", msg);
    e.err = errno;
  } else {
    pod = mp_nl_open();
    pod_leave_netns(p);
    if (pod < 0) {
      snprintf(e.step, sizeof e.step, "hostOps");
      snprintf(e.syscall, sizeof e.syscall, "socket(NETLINK_ROUTE) in the pod");
      e.err = -pod;
    }
  }
  /* The inverse of each op, journaled before any runs: the host end of a veth (the pod end
   * goes with pause's namespace), an nft transaction's undo. Addresses and routes go with
   * their links. */
  for (int i = 0; !e.err && i < p->hostops.n; i++) {
    const struct mp_hostop *o = &p->hostops.ops[i];
    int r = 0;
    if (o->kind == MP_H_VETH) r = journal_record(p, J_LINK, o->name, NULL);
    else if (o->kind == MP_H_NFT && o->undo[0]) r = journal_record(p, J_NFT, o->undo, o->name);
    if (r < 0) {
      snprintf(e.step, sizeof e.step, "hostOps[%d]", i);
      snprintf(e.syscall, sizeof e.syscall, "journal");
      e.err = ENOMEM;
    }
  }
  int rc = e.err ? -1 : mp_hostops_run(&p->hostops, host, pod, p->pod_netfd, &e);
  if (rc == 0) rc = pod_sysctls(p, &e);
  if (host >= 0) close(host);
  if (pod >= 0) close(pod);
  if (rc == 0) return 0;
  mp_describe(&e, msg, sizeof msg);
  logmsg(p, "wiring the pod's network failed: %s", msg);
  ctl_send(p, "error network %s", msg);
  snprintf(p->phase, sizeof(p->phase), "Failed");
  snprintf(p->reason, sizeof(p->reason), "NetworkSetupError");
  pod_stop(p, "its network could not be wired");
  return -1;
}
