/* Decoding and walking the host operations of a pod plan (see hostops.h). */
#define _GNU_SOURCE
#include "hostops.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct.h"
#include "nl.h"

static int fail(char *err, size_t n, int i, const char *what, const char *field) {
  snprintf(err, n, "plan: hostOps[%d]: %s%s%s", i, what, field ? " " : "", field ? field : "");
  return -1;
}

/* Every member is one of keys (NULL-terminated). */
static const char *unknown_key(const struct mp_json *o, const char *const *keys) {
  for (const struct mp_json *m = o->child; m; m = m->next) {
    int known = 0;
    for (const char *const *k = keys; *k && !known; k++) known = !strcmp(*k, m->key);
    if (!known) return m->key;
  }
  return NULL;
}

static const char *ifname(const struct mp_json *o, const char *key) {
  const char *s = mp_json_str(o, key, NULL);
  if (!s || !*s || strlen(s) >= IFNAMSIZ || strchr(s, '/') || strchr(s, ' ')) return NULL;
  return s;
}

int mp_hostops_decode(struct mp_arena *a, const struct mp_json *arr, struct mp_hostops *out, char *err, size_t errlen) {
  out->ops = NULL;
  out->n = 0;
  if (!arr) return 0;
  if (arr->type != MP_JARR) { snprintf(err, errlen, "plan: hostOps must be an array"); return -1; }
  out->ops = mp_arena_alloc(a, (arr->len ? arr->len : 1) * sizeof(struct mp_hostop));
  if (!out->ops) { snprintf(err, errlen, "plan: out of memory"); return -1; }
  int i = 0;
  for (const struct mp_json *o = arr->child; o; o = o->next, i++) {
    if (o->type != MP_JOBJ) return fail(err, errlen, i, "must be an object", NULL);
    struct mp_hostop *h = &out->ops[i];
    memset(h, 0, sizeof *h);
    h->up = -1;
    const char *op = mp_json_str(o, "op", "");
    const char *ns = mp_json_str(o, "netns", "host");
    if (strcmp(ns, "host") && strcmp(ns, "pod")) return fail(err, errlen, i, "netns must be \"host\" or \"pod\", not", ns);
    h->pod = !strcmp(ns, "pod");
    const char *bad;
    if (!strcmp(op, "veth")) {
      static const char *const keys[] = {"op", "name", "peer", "peerNetns", NULL};
      if ((bad = unknown_key(o, keys))) return fail(err, errlen, i, "veth: unknown field", bad);
      h->kind = MP_H_VETH;
      h->name = ifname(o, "name");
      h->peer = ifname(o, "peer");
      if (!h->name || !h->peer) return fail(err, errlen, i, "veth: needs interface names \"name\" and \"peer\"", NULL);
      if (strcmp(mp_json_str(o, "peerNetns", ""), "pod")) return fail(err, errlen, i, "veth: peerNetns must be \"pod\"", NULL);
    } else if (!strcmp(op, "link")) {
      static const char *const keys[] = {"op", "netns", "name", "master", "up", NULL};
      if ((bad = unknown_key(o, keys))) return fail(err, errlen, i, "link: unknown field", bad);
      h->kind = MP_H_LINK;
      if (!(h->name = ifname(o, "name"))) return fail(err, errlen, i, "link: needs an interface name \"name\"", NULL);
      if (mp_json_get(o, "master") && !(h->master = ifname(o, "master"))) return fail(err, errlen, i, "link: \"master\" must be an interface name", NULL);
      const struct mp_json *up = mp_json_get(o, "up");
      if (up && up->type != MP_JBOOL) return fail(err, errlen, i, "link: \"up\" must be true or false", NULL);
      if (up) h->up = up->boolean;
      if (!h->master && h->up < 0) return fail(err, errlen, i, "link: changes nothing", NULL);
    } else if (!strcmp(op, "addr") || !strcmp(op, "route")) {
      int route = op[0] == 'r';
      static const char *const akeys[] = {"op", "netns", "dev", "address", "prefix", NULL};
      static const char *const rkeys[] = {"op", "netns", "dev", "gateway", NULL};
      if ((bad = unknown_key(o, route ? rkeys : akeys))) return fail(err, errlen, i, route ? "route: unknown field" : "addr: unknown field", bad);
      h->kind = route ? MP_H_ROUTE : MP_H_ADDR;
      if (!(h->name = ifname(o, "dev"))) return fail(err, errlen, i, "needs an interface name \"dev\"", NULL);
      const char *ip = mp_json_str(o, route ? "gateway" : "address", NULL);
      if (!ip || inet_pton(AF_INET, ip, &h->addr) != 1) return fail(err, errlen, i, route ? "route: \"gateway\" must be an IPv4 address" : "addr: \"address\" must be an IPv4 address", NULL);
      if (!route) {
        const struct mp_json *p = mp_json_get(o, "prefix");
        if (!p || p->type != MP_JNUM || p->num != (double)(int)p->num || p->num < 0 || p->num > 32) return fail(err, errlen, i, "addr: \"prefix\" must be an integer 0..32", NULL);
        h->prefix = (int)p->num;
      }
    } else if (!strcmp(op, "conntrack")) {
      static const char *const keys[] = {"op", "protocol", "port", NULL};
      if ((bad = unknown_key(o, keys))) return fail(err, errlen, i, "conntrack: unknown field", bad);
      h->kind = MP_H_CONNTRACK;
      h->name = "conntrack";
      const struct mp_json *pt = mp_json_get(o, "port");
      if (strcmp(mp_json_str(o, "protocol", ""), "udp") || !pt || pt->type != MP_JNUM || pt->num != (double)(int)pt->num || pt->num < 1 || pt->num > 65535)
        return fail(err, errlen, i, "conntrack: needs protocol \"udp\" and a port 1..65535", NULL);
      h->port = (int)pt->num;
    } else if (!strcmp(op, "sysctl")) {
      static const char *const keys[] = {"op", "ns", "key", "value", NULL};
      if ((bad = unknown_key(o, keys))) return fail(err, errlen, i, "sysctl: unknown field", bad);
      h->kind = MP_H_SYSCTL;
      const char *sns = mp_json_str(o, "ns", "");
      if (strcmp(sns, "net") && strcmp(sns, "ipc")) return fail(err, errlen, i, "sysctl: ns must be \"net\" or \"ipc\"", NULL);
      h->ipc = !strcmp(sns, "ipc");
      h->name = mp_json_str(o, "key", NULL);
      h->value = mp_json_str(o, "value", NULL);
      /* Only the namespaced trees, and a plain path in them. */
      int ok = h->name && h->value && !strchr(h->value, '\n') && !strstr(h->name, "..") && strlen(h->name) < 200 &&
               (!strncmp(h->name, h->ipc ? "kernel/" : "net/", h->ipc ? 7 : 4) || (h->ipc && !strncmp(h->name, "fs/mqueue/", 10)));
      for (const char *c = h->name; ok && *c; c++) ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '/' || *c == '-' || *c == '.';
      if (!ok) return fail(err, errlen, i, "sysctl: needs a key in net/ (ns net) or kernel/ or fs/mqueue/ (ns ipc), and a one-line value", NULL);
    } else if (!strcmp(op, "nft")) {
      static const char *const keys[] = {"op", "what", "script", "undo", NULL};
      if ((bad = unknown_key(o, keys))) return fail(err, errlen, i, "nft: unknown field", bad);
      h->kind = MP_H_NFT;
      h->name = mp_json_str(o, "what", NULL);
      h->script = mp_json_str(o, "script", NULL);
      h->undo = mp_json_str(o, "undo", "");
      if (!h->name || !h->script || !h->script[0]) return fail(err, errlen, i, "nft: needs \"what\" and a \"script\"", NULL);
      const struct mp_json *u = mp_json_get(o, "undo");
      if (u && u->type != MP_JSTR) return fail(err, errlen, i, "nft: \"undo\" must be a string", NULL);
    } else {
      return fail(err, errlen, i, "unknown op", op);
    }
  }
  out->n = i;
  return 0;
}

static const char *kind_name(enum mp_hostop_kind k) {
  return k == MP_H_VETH ? "veth" : k == MP_H_LINK ? "link" : k == MP_H_ADDR ? "addr" : k == MP_H_NFT ? "nft" : k == MP_H_SYSCTL ? "sysctl" : k == MP_H_CONNTRACK ? "conntrack" : "route";
}

/* `nft -f -` with script on its stdin: one process, one transaction (all of it applies or
 * none). The child gets a clean signal state: the supervisor blocks and ignores some. */
int mp_run_nft(const char *script) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) return -errno;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(in[0]);
    close(in[1]);
    return -e;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDWR);
    dup2(in[0], 0);
    if (devnull >= 0) dup2(devnull, 1);
    char *const argv[] = {"nft", "-f", "-", NULL};
    execvp("nft", argv);
    _exit(127);
  }
  close(in[0]);
  size_t len = strlen(script), off = 0;
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  while (off < len) {
    ssize_t n = write(in[1], script + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += (size_t)n;
  }
  signal(SIGPIPE, old);
  close(in[1]);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -errno;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return -ENOENT;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
}

int mp_hostops_run(const struct mp_hostops *h, int host_nl, int pod_nl, int pod_netns, struct mp_error *e) {
  for (int i = 0; i < h->n; i++) {
    const struct mp_hostop *o = &h->ops[i];
    if (o->kind == MP_H_SYSCTL) continue; /* written by the caller, inside the pod's namespaces */
    int fd = o->pod ? pod_nl : host_nl;
    int rc;
    const char *call;
    switch (o->kind) {
      case MP_H_VETH: call = "RTM_NEWLINK(veth)"; rc = mp_nl_veth(host_nl, o->name, o->peer, pod_netns); break;
      case MP_H_LINK: call = "RTM_NEWLINK"; rc = mp_nl_link_set(fd, o->name, o->master, NULL, o->up); break;
      case MP_H_ADDR: call = "RTM_NEWADDR"; rc = mp_nl_addr_add(fd, o->name, o->addr, o->prefix, 0); break;
      case MP_H_NFT: call = "nft -f -"; rc = mp_run_nft(o->script); break;
      case MP_H_CONNTRACK: call = "IPCTNL_MSG_CT_DELETE"; rc = mp_ct_flush_udp(o->port); if (rc > 0) rc = 0; break;
      default: call = "RTM_NEWROUTE"; rc = mp_nl_route_default(fd, o->name, o->addr); break;
    }
    if (rc < 0) {
      memset(e, 0, sizeof *e);
      snprintf(e->step, sizeof e->step, "hostOps[%d]:%s", i, kind_name(o->kind));
      snprintf(e->syscall, sizeof e->syscall, "%s", call);
      snprintf(e->path, sizeof e->path, "%s", o->name);
      if (o->kind == MP_H_LINK && o->master) snprintf(e->dest, sizeof e->dest, "%s", o->master);
      e->err = -rc;
      return -1;
    }
  }
  return 0;
}
