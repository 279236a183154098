/* JSON -> struct mp_proc. Everything is checked here, in the parent, so that the child only
 * executes: an unknown op or field, a missing field or a wrong type is an error before any
 * clone. Fail closed: nothing has a default that would run a process in the host's
 * namespaces or as root by accident — namespaces, mounts, user and capabilities must be
 * spelled out, ids must be integers in 0..2^31-1, and mounts need a mount namespace of the
 * process's own. */
#define _GNU_SOURCE
#include "plan.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "sys.h"

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

const char *mp_cap_name(int n) {
  return n >= 0 && n < (int)(sizeof(cap_names) / sizeof(cap_names[0])) ? cap_names[n] : NULL;
}

int mp_cap_from_name(const char *name) {
  for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
    if (strcmp(cap_names[i], name) == 0) return (int)i;
  return -1;
}

struct ctx {
  struct mp_arena *a;
  char *err;
  size_t errlen;
  int failed;
};

static int bad(struct ctx *c, const char *fmt, const char *a1, const char *a2) {
  if (!c->failed) snprintf(c->err, c->errlen, fmt, a1, a2);
  c->failed = 1;
  return -1;
}

/* Refuses any member of o that is not in keys (NULL-terminated): a misspelt or unknown
 * field must not be silently ignored by the executor. */
static int only_keys(struct ctx *c, const struct mp_json *o, const char *where, const char *const *keys) {
  for (struct mp_json *e = o->child; e; e = e->next) {
    int known = 0;
    for (const char *const *k = keys; *k && !known; k++) known = !strcmp(*k, e->key);
    if (!known) return bad(c, "plan: %s has an unknown field \"%s\"", where, e->key);
  }
  return 0;
}

/* An integer in [lo, hi], exactly (a double from JSON: 1.5, -1, 4294967296 are refused). */
static long req_int(struct ctx *c, const struct mp_json *o, const char *key, const char *where, long lo, long hi, long dflt,
                    int required) {
  struct mp_json *v = o ? mp_json_get(o, key) : NULL;
  if (!v) {
    if (required) bad(c, "plan: %s needs an integer \"%s\"", where, key);
    return dflt;
  }
  if (v->type != MP_JNUM || v->num != (double)(long)v->num || v->num < (double)lo || v->num > (double)hi) {
    bad(c, "plan: %s: \"%s\" must be an integer in range", where, key);
    return dflt;
  }
  return (long)v->num;
}

static int req_bool(struct ctx *c, const struct mp_json *o, const char *key, const char *where, int dflt) {
  struct mp_json *v = mp_json_get(o, key);
  if (!v) return dflt;
  if (v->type != MP_JBOOL) return bad(c, "plan: %s: \"%s\" must be true or false", where, key), dflt;
  return v->boolean;
}

#define MAX_ID 2147483647L

static const char *req_str(struct ctx *c, const struct mp_json *o, const char *key, const char *where) {
  const char *s = mp_json_str(o, key, NULL);
  if (!s) bad(c, "plan: %s needs a string \"%s\"", where, key);
  return s;
}

static char **str_array(struct ctx *c, const struct mp_json *arr, const char *where) {
  if (!arr || arr->type != MP_JARR) { bad(c, "plan: %s must be an array of strings%s", where, ""); return NULL; }
  char **v = mp_arena_alloc(c->a, (arr->len + 1) * sizeof(char *));
  if (!v) { bad(c, "plan: out of memory%s%s", "", ""); return NULL; }
  size_t i = 0;
  for (struct mp_json *e = arr->child; e; e = e->next) {
    if (e->type != MP_JSTR) { bad(c, "plan: %s must be an array of strings%s", where, ""); return NULL; }
    v[i++] = (char *)e->str;
  }
  v[i] = NULL;
  return v;
}

static const struct { const char *name; int flag; } ns_types[] = {
    {"mnt", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
    {"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
    {"user", CLONE_NEWUSER},
};

static int ns_flag(const char *t) {
  for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
    if (strcmp(ns_types[i].name, t) == 0) return ns_types[i].flag;
  return 0;
}

/* "@pause/net" or "@container:web/net": the pidfd of that process, joined with
 * setns(pidfd, CLONE_NEWNET) — never a /proc/PID path, which names whatever process has
 * that pid by the time it is opened. A literal path is kept as it is (pidfd -1). */
static int resolve_ns_ref(struct ctx *c, const char *path, mp_resolve_fn resolve, void *rctx, int *pidfd) {
  *pidfd = -1;
  if (path[0] != '@') return 0;
  const char *slash = strrchr(path, '/');
  if (!slash) return bad(c, "plan: bad namespace reference \"%s\"%s", path, "");
  char who[256];
  size_t n = (size_t)(slash - path - 1);
  if (n >= sizeof(who)) return bad(c, "plan: bad namespace reference \"%s\"%s", path, "");
  memcpy(who, path + 1, n);
  who[n] = 0;
  int fd = resolve ? resolve(rctx, who) : -1;
  if (fd < 0) return bad(c, "plan: namespace reference \"%s\": %s is not running", path, who);
  *pidfd = fd;
  return 0;
}

static unsigned long attrs_from(struct ctx *c, const struct mp_json *flags) {
  unsigned long a = 0;
  if (!flags) return 0;
  if (flags->type != MP_JARR) { bad(c, "plan: mount flags must be an array%s%s", "", ""); return 0; }
  for (struct mp_json *f = flags->child; f; f = f->next) {
    const char *s = f->type == MP_JSTR ? f->str : "";
    if (!strcmp(s, "ro")) a |= MP_MOUNT_ATTR_RDONLY;
    else if (!strcmp(s, "nosuid")) a |= MP_MOUNT_ATTR_NOSUID;
    else if (!strcmp(s, "nodev")) a |= MP_MOUNT_ATTR_NODEV;
    else if (!strcmp(s, "noexec")) a |= MP_MOUNT_ATTR_NOEXEC;
    else if (!strcmp(s, "noatime")) a |= MP_MOUNT_ATTR_NOATIME;
    else if (!strcmp(s, "relatime")) continue;
    else bad(c, "plan: unknown mount flag \"%s\"%s", s, "");
  }
  return a;
}

static int mount_options(struct ctx *c, const struct mp_json *j, struct mp_mount_op *m) {
  struct mp_json *o = mp_json_get(j, "options");
  if (!o) return 0;
  if (o->type != MP_JOBJ) return bad(c, "plan: mount options must be an object%s%s", "", "");
  for (struct mp_json *e = o->child; e; e = e->next) {
    if (m->nopts == MP_MAX_OPTS) return bad(c, "plan: too many mount options%s%s", "", "");
    m->opts[m->nopts].key = e->key;
    if (e->type == MP_JSTR) m->opts[m->nopts].value = e->str;
    else if (e->type == MP_JBOOL && e->boolean) m->opts[m->nopts].value = NULL;
    else return bad(c, "plan: mount option \"%s\" must be a string or true%s", e->key, "");
    m->nopts++;
  }
  return 0;
}

static int decode_mount(struct ctx *c, const struct mp_json *j, struct mp_mount_op *m) {
  if (!j || j->type != MP_JOBJ) return bad(c, "plan: mounts[] entries must be objects%s%s", "", "");
  const char *op = req_str(c, j, "op", "mounts[]");
  if (!op) return -1;
  m->name = op;
  m->uid = m->gid = -1;
  if (!strcmp(op, "propagation")) {
    static const char *const keys[] = {"op", "mode", NULL};
    only_keys(c, j, "propagation", keys);
    const char *mode = req_str(c, j, "mode", "propagation");
    m->kind = MP_M_PROPAGATION;
    m->dst = "/";
    if (mode && !strcmp(mode, "rprivate")) m->propagation = MS_REC | MS_PRIVATE;
    else if (mode && !strcmp(mode, "rslave")) m->propagation = MS_REC | MS_SLAVE;
    else return bad(c, "plan: propagation mode must be rprivate or rslave%s%s", "", "");
  } else if (!strcmp(op, "rootfs")) {
    const char *kind = req_str(c, j, "kind", "rootfs");
    m->dst = req_str(c, j, "target", "rootfs");
    m->readonly = req_bool(c, j, "readOnly", "rootfs", 0);
    m->attrs = attrs_from(c, mp_json_get(j, "flags"));
    if (kind && !strcmp(kind, "overlay")) {
      static const char *const keys[] = {"op", "kind", "lower", "upper", "work", "target", "readOnly", "flags", NULL};
      only_keys(c, j, "rootfs overlay", keys);
      m->kind = MP_M_ROOTFS_OVERLAY;
      m->upper = req_str(c, j, "upper", "rootfs overlay");
      m->work = req_str(c, j, "work", "rootfs overlay");
      char **lower = str_array(c, mp_json_get(j, "lower"), "rootfs overlay lower");
      if (!lower || !lower[0]) return bad(c, "plan: rootfs overlay needs at least one lower dir%s%s", "", "");
      size_t n = 0;
      for (char **l = lower; *l; l++) {
        /* overlayfs splits lowerdir at ':' (and takes '\' as an escape): a path with either
         * would name other directories than the plan says. */
        if (!(*l)[0] || strpbrk(*l, ":\\,")) return bad(c, "plan: overlay lower dir \"%s\" is empty or has ':', ',' or '\\'%s", *l, "");
        n += strlen(*l) + 1;
      }
      char *joined = mp_arena_alloc(c->a, n + 1);
      if (!joined) return bad(c, "plan: out of memory%s%s", "", "");
      joined[0] = 0; /* arena memory is not zeroed: strcat needs an empty string to start */
      for (char **l = lower; *l; l++) {
        if (l != lower) strcat(joined, ":");
        strcat(joined, *l);
      }
      m->lower = joined;
      m->lowers = lower;
      m->source = "overlay";
    } else if (kind && !strcmp(kind, "bind")) {
      static const char *const keys[] = {"op", "kind", "source", "target", "readOnly", "flags", NULL};
      only_keys(c, j, "rootfs bind", keys);
      m->kind = MP_M_ROOTFS_BIND;
      m->source = req_str(c, j, "source", "rootfs bind");
      if (m->source && !strcmp(m->source, "/")) return bad(c, "plan: rootfs bind of the host's / is refused%s%s", "", "");
    } else if (kind && !strcmp(kind, "tmpfs")) {
      static const char *const keys[] = {"op", "kind", "target", "readOnly", "flags", "options", NULL};
      only_keys(c, j, "rootfs tmpfs", keys);
      m->kind = MP_M_ROOTFS_TMPFS;
      m->source = "tmpfs";
      mount_options(c, j, m);
    } else {
      return bad(c, "plan: rootfs kind must be overlay, bind or tmpfs%s%s", "", "");
    }
  } else if (!strcmp(op, "mount")) {
    static const char *const keys[] = {"op", "fstype", "source", "dst", "flags", "options", NULL};
    only_keys(c, j, "mount", keys);
    m->kind = MP_M_MOUNT;
    m->fstype = req_str(c, j, "fstype", "mount");
    m->source = req_str(c, j, "source", "mount");
    m->dst = req_str(c, j, "dst", "mount");
    m->attrs = attrs_from(c, mp_json_get(j, "flags"));
    mount_options(c, j, m);
  } else if (!strcmp(op, "bind")) {
    static const char *const keys[] = {"op", "source", "dst", "readOnly", "recursive", "flags", "optional", "sourceRoot", "createSource", "idmap", "propagation", NULL};
    only_keys(c, j, "bind", keys);
    m->idmap = req_bool(c, j, "idmap", "bind", 0);
    m->kind = MP_M_BIND;
    m->source = req_str(c, j, "source", "bind");
    m->dst = req_str(c, j, "dst", "bind");
    m->source_root = mp_json_str(j, "sourceRoot", NULL);
    m->readonly = req_bool(c, j, "readOnly", "bind", 0);
    m->recursive = req_bool(c, j, "recursive", "bind", 1);
    m->optional = req_bool(c, j, "optional", "bind", 0);
    m->create_source = req_bool(c, j, "createSource", "bind", 0);
    m->attrs = attrs_from(c, mp_json_get(j, "flags"));
    if (m->readonly) m->attrs |= MP_MOUNT_ATTR_RDONLY;
    /* Shared or slave with the host's mount (Kubernetes' Bidirectional and HostToContainer
     * mountPropagation, an OCI mount's rshared/rslave): cloned before the namespace is made
     * private (mounts.c). A plain source only: no subPath resolution, no idmap. */
    const char *prop = mp_json_str(j, "propagation", NULL);
    if (prop) {
      static const struct { const char *n; unsigned long f; } props[] = {{"shared", MS_SHARED}, {"slave", MS_SLAVE}, {"rshared", MS_SHARED | MS_REC}, {"rslave", MS_SLAVE | MS_REC}};
      for (size_t k = 0; k < sizeof props / sizeof props[0]; k++) if (!strcmp(prop, props[k].n)) m->propagation = props[k].f;
      if (!m->propagation) return bad(c, "plan: bind propagation \"%s\" is not shared, slave, rshared or rslave%s", prop, "");
      if (m->source_root || m->idmap || m->create_source) return bad(c, "plan: bind propagation needs a plain source (no sourceRoot, idmap or createSource)%s%s", "", "");
    }
  } else if (!strcmp(op, "mknod")) {
    static const char *const keys[] = {"op", "dst", "kind", "major", "minor", "mode", "uid", "gid", NULL};
    only_keys(c, j, "mknod", keys);
    const char *k = req_str(c, j, "kind", "mknod");
    m->kind = MP_M_MKNOD;
    m->dst = req_str(c, j, "dst", "mknod");
    m->dev_kind = k ? k[0] : 0;
    if (!k || k[1] || (m->dev_kind != 'c' && m->dev_kind != 'b' && m->dev_kind != 'p')) return bad(c, "plan: mknod kind must be c, b or p%s%s", "", "");
    m->major = (unsigned)req_int(c, j, "major", "mknod", 0, 4095, 0, 1);
    m->minor = (unsigned)req_int(c, j, "minor", "mknod", 0, 1048575, 0, 1);
    m->mode = (mode_t)req_int(c, j, "mode", "mknod", 0, 07777, 0666, 0);
    m->uid = req_int(c, j, "uid", "mknod", 0, MAX_ID, -1, 0);
    m->gid = req_int(c, j, "gid", "mknod", 0, MAX_ID, -1, 0);
  } else if (!strcmp(op, "symlink")) {
    static const char *const keys[] = {"op", "target", "dst", NULL};
    only_keys(c, j, "symlink", keys);
    m->kind = MP_M_SYMLINK;
    m->link_target = req_str(c, j, "target", "symlink");
    m->dst = req_str(c, j, "dst", "symlink");
  } else if (!strcmp(op, "mkdir")) {
    static const char *const keys[] = {"op", "dst", "mode", NULL};
    only_keys(c, j, "mkdir", keys);
    m->kind = MP_M_MKDIR;
    m->dst = req_str(c, j, "dst", "mkdir");
    m->mode = (mode_t)req_int(c, j, "mode", "mkdir", 0, 07777, 0755, 0);
  } else if (!strcmp(op, "mask") || !strcmp(op, "readonly")) {
    static const char *const keys[] = {"op", "dst", NULL};
    only_keys(c, j, op, keys);
    m->kind = op[0] == 'm' ? MP_M_MASK : MP_M_READONLY;
    m->dst = req_str(c, j, "dst", op);
  } else if (!strcmp(op, "idmap")) {
    /* A host directory remounted over itself, idmapped, in this mount namespace only (the
     * overlay's layers: the image's owners then read as the container's ids). */
    static const char *const keys[] = {"op", "path", NULL};
    only_keys(c, j, "idmap", keys);
    m->kind = MP_M_IDMAP;
    m->dst = req_str(c, j, "path", "idmap");
    m->idmap = 1;
    if (m->dst && (m->dst[0] != '/' || !strcmp(m->dst, "/"))) return bad(c, "plan: idmap path \"%s\" must be an absolute directory other than /%s", m->dst, "");
  } else if (!strcmp(op, "pivot")) {
    static const char *const keys[] = {"op", "rootPropagation", NULL};
    only_keys(c, j, "pivot", keys);
    m->kind = MP_M_PIVOT;
    m->dst = "/";
    /* The new root's propagation once it is /, as an OCI config's rootfsPropagation says. */
    const char *rp = mp_json_str(j, "rootPropagation", NULL);
    static const struct { const char *n; unsigned long f; } props[] = {{"shared", MS_SHARED}, {"slave", MS_SLAVE}, {"private", MS_PRIVATE}, {"unbindable", MS_UNBINDABLE},
                                                                      {"rshared", MS_SHARED | MS_REC}, {"rslave", MS_SLAVE | MS_REC}, {"rprivate", MS_PRIVATE | MS_REC}, {"runbindable", MS_UNBINDABLE | MS_REC}};
    for (size_t k = 0; rp && k < sizeof props / sizeof props[0]; k++) if (!strcmp(rp, props[k].n)) m->propagation = props[k].f;
    if (rp && !m->propagation) return bad(c, "plan: pivot rootPropagation \"%s\" is not a propagation type%s", rp, "");
  } else if (!strcmp(op, "chroot")) {
    static const char *const keys[] = {"op", NULL};
    only_keys(c, j, "chroot", keys);
    m->kind = MP_M_CHROOT;
    m->dst = "/";
  } else {
    return bad(c, "plan: unknown mount op \"%s\"%s", op, "");
  }
  return c->failed ? -1 : 0;
}

static const struct { const char *name; int sig; } death_signals[] = {{"SIGKILL", 9}, {"SIGTERM", 15}};

int mp_plan_decode(struct mp_arena *a, const struct mp_json *j, struct mp_proc *p, mp_resolve_fn resolve,
                   void *rctx, char *err, size_t errlen) {
  struct ctx c = {a, err, errlen, 0};
  memset(p, 0, sizeof(*p));
  p->userns = -1;
  if (!j || j->type != MP_JOBJ) return bad(&c, "plan: a process plan must be an object%s%s", "", "");
  static const char *const keys[] = {"pod", "container", "namespaces", "loopbackUp", "hostname", "domainname", "mounts", "user",
                                     "capabilities", "noNewPrivileges", "cwd", "argv", "env", "setsid",
                                     "controllingTty", "parentDeathSignal", "cgroups", "oomScoreAdj", "seccomp", "rlimits", "sysctls", "capabilitySets", "startHooks", NULL};
  if (only_keys(&c, j, "the process plan", keys)) return -1;
  p->pod = mp_json_str(j, "pod", "");
  p->container = mp_json_str(j, "container", "");

  /* Namespaces must be spelled out: [] (the host's, for the supervisor itself) is a
   * choice, a missing list is a mistake. */
  struct mp_json *ns = mp_json_get(j, "namespaces");
  if (!ns || ns->type != MP_JARR) return bad(&c, "plan: \"namespaces\" must be an array (use [] for none)%s%s", "", "");
  int newns = 0;
  for (struct mp_json *e = ns->child; e; e = e->next) {
    if (p->nns == MP_MAX_NS) return bad(&c, "plan: too many namespace steps%s%s", "", "");
    if (e->type != MP_JOBJ) return bad(&c, "plan: namespaces[] entries must be objects%s%s", "", "");
    static const char *const nskeys[] = {"type", "action", "path", "after", NULL};
    if (only_keys(&c, e, "namespaces[]", nskeys)) return -1;
    struct mp_ns_op *o = &p->ns[p->nns++];
    o->pidfd = -1;
    o->type = req_str(&c, e, "type", "namespaces[]");
    const char *action = req_str(&c, e, "action", "namespaces[]");
    if (c.failed) return -1;
    if (!(o->flag = ns_flag(o->type))) return bad(&c, "plan: unknown namespace type \"%s\"%s", o->type, "");
    const char *after = mp_json_str(e, "after", NULL);
    if (mp_json_get(e, "after")) {
      if (!after || strcmp(after, "mounts")) return bad(&c, "plan: namespace \"%s\": after must be \"mounts\"%s", o->type, "");
      /* A pid or mount namespace must exist before the workload stage and its mounts. */
      if (o->flag == CLONE_NEWPID || o->flag == CLONE_NEWNS) return bad(&c, "plan: namespace \"%s\" cannot come after the mounts%s", o->type, "");
      o->after_mounts = 1;
    }
    /* A user namespace is made by the supervisor, with its id mappings (the pod plan's
     * userNamespace), and joined: one created here would have no mapping at all. */
    if (o->flag == CLONE_NEWUSER && strcmp(action, "join")) return bad(&c, "plan: a user namespace is joined, not created%s%s", "", "");
    for (int k = 0; k < p->nns - 1; k++)
      if (p->ns[k].flag == o->flag) return bad(&c, "plan: namespace \"%s\" is named twice%s", o->type, "");
    if (!strcmp(action, "create")) {
      o->action = MP_NS_CREATE;
      if (mp_json_get(e, "path")) return bad(&c, "plan: namespace \"%s\": create takes no path%s", o->type, "");
    } else if (!strcmp(action, "join")) {
      o->action = MP_NS_JOIN;
      const char *path = req_str(&c, e, "path", "namespaces[] join");
      if (!path) return -1;
      /* "@who/TYPE" names the namespace it joins: TYPE must be this step's. */
      if (path[0] == '@' && (!strrchr(path, '/') || strcmp(strrchr(path, '/') + 1, o->type)))
        return bad(&c, "plan: namespace reference \"%s\" is not a %s namespace", path, o->type);
      if (resolve_ns_ref(&c, path, resolve, rctx, &o->pidfd) < 0) return -1;
      o->path = path;
    } else {
      return bad(&c, "plan: namespace action must be create or join, not \"%s\"%s", action, "");
    }
    if (o->flag == CLONE_NEWNS) newns = 1;
    if (o->flag == CLONE_NEWUSER) p->userns = p->nns - 1;
  }
  p->loopback_up = req_bool(&c, j, "loopbackUp", "the process plan", 0);
  p->hostname = mp_json_str(j, "hostname", NULL);
  p->domainname = mp_json_str(j, "domainname", NULL);

  struct mp_json *mounts = mp_json_get(j, "mounts");
  if (!mounts || mounts->type != MP_JARR) return bad(&c, "plan: \"mounts\" must be an array (use [] for none)%s%s", "", "");
  if (mounts->len) {
    /* Mount steps outside a mount namespace of the process's own would change the host's. */
    if (!newns) return bad(&c, "plan: mount steps need a \"mnt\" namespace to create or join%s%s", "", "");
    p->mounts = mp_arena_alloc(a, mounts->len * sizeof(*p->mounts));
    if (!p->mounts) return bad(&c, "plan: out of memory%s%s", "", "");
    for (struct mp_json *e = mounts->child; e; e = e->next) {
      struct mp_mount_op *m = &p->mounts[p->nmounts++];
      if (decode_mount(&c, e, m)) return -1;
      /* Over a host path: without a private / first, the mount would propagate to the host. */
      if (m->kind == MP_M_IDMAP) {
        int private = 0;
        for (int k = 0; k < p->nmounts - 1; k++) private |= p->mounts[k].kind == MP_M_PROPAGATION;
        if (!private) return bad(&c, "plan: the idmap of \"%s\" needs a propagation step before it%s", m->dst, "");
      }
      if (m->idmap && p->userns < 0) return bad(&c, "plan: the idmapped mount of \"%s\" needs a user namespace to join%s", m->dst ? m->dst : "?", "");
      if (m->kind == MP_M_CHROOT) {
        /* The namespace it leaves must be one made for this process alone (so that what was
         * built in it goes with it), and returning needs host root: no user namespace. */
        int made = 0;
        for (int k = 0; k < p->nns; k++) made |= p->ns[k].flag == CLONE_NEWNS && p->ns[k].action == MP_NS_CREATE;
        if (!made || p->userns >= 0 || e->next) return bad(&c, "plan: a chroot step comes last, in a mount namespace the plan creates, without a user namespace%s%s", "", "");
        p->chroot_home = 1;
      }
      if ((m->kind == MP_M_ROOTFS_OVERLAY || m->kind == MP_M_ROOTFS_BIND || m->kind == MP_M_ROOTFS_TMPFS) && m->readonly)
        p->rootfs_readonly = 1;
    }
  }

  /* The user must be spelled out, ids in Kubernetes' range: a uid of -1 or 2^32 must never
   * wrap around to root. */
  struct mp_json *user = mp_json_get(j, "user");
  if (!user || user->type != MP_JOBJ) return bad(&c, "plan: \"user\" must be an object {uid, gid, groups}%s%s", "", "");
  static const char *const ukeys[] = {"uid", "gid", "groups", NULL};
  if (only_keys(&c, user, "user", ukeys)) return -1;
  p->uid = (uid_t)req_int(&c, user, "uid", "user", 0, MAX_ID, 0, 1);
  p->gid = (gid_t)req_int(&c, user, "gid", "user", 0, MAX_ID, 0, 1);
  struct mp_json *groups = mp_json_get(user, "groups");
  if (!groups || groups->type != MP_JARR) return bad(&c, "plan: user.groups must be an array%s%s", "", "");
  for (struct mp_json *g = groups->child; g; g = g->next) {
    if (p->ngroups == MP_MAX_GROUPS) return bad(&c, "plan: too many supplementary groups%s%s", "", "");
    if (g->type != MP_JNUM || g->num != (double)(long)g->num || g->num < 0 || g->num > (double)MAX_ID)
      return bad(&c, "plan: user.groups entries must be integers in range%s%s", "", "");
    p->groups[p->ngroups++] = (gid_t)g->num;
  }
  if (c.failed) return -1;

  /* null (keep every capability: a privileged container, the supervisor) must be said. */
  struct mp_json *caps = mp_json_get(j, "capabilities");
  if (!caps) return bad(&c, "plan: \"capabilities\" must be an array or null%s%s", "", "");
  if (caps->type == MP_JNULL) {
    p->keep_all_caps = 1;
  } else {
    if (caps->type != MP_JARR) return bad(&c, "plan: capabilities must be an array or null%s%s", "", "");
    for (struct mp_json *e = caps->child; e; e = e->next) {
      int n = e->type == MP_JSTR ? mp_cap_from_name(e->str) : -1;
      if (n < 0) return bad(&c, "plan: unknown capability \"%s\"%s", e->type == MP_JSTR ? e->str : "?", "");
      p->caps |= 1ULL << n;
    }
  }
  const struct mp_json *sets = mp_json_get(j, "capabilitySets");
  if (sets) {
    static const char *const names[] = {"bounding", "effective", "permitted", "inheritable", "ambient", NULL};
    unsigned long long *dst[] = {&p->cap_bounding, &p->cap_effective, &p->cap_permitted, &p->cap_inheritable, &p->cap_ambient};
    if (sets->type != MP_JOBJ || p->keep_all_caps) return bad(&c, "plan: capabilitySets must be an object, with capabilities a list%s%s", "", "");
    if (only_keys(&c, sets, "capabilitySets", names)) return -1;
    for (int k = 0; names[k]; k++) {
      const struct mp_json *l = mp_json_get(sets, names[k]);
      if (!l || l->type != MP_JARR) return bad(&c, "plan: capabilitySets.%s must be a list%s", names[k], "");
      for (const struct mp_json *e = l->child; e; e = e->next) {
        int n = e->type == MP_JSTR ? mp_cap_from_name(e->str) : -1;
        if (n < 0) return bad(&c, "plan: unknown capability \"%s\"%s", e->type == MP_JSTR ? e->str : "?", "");
        *dst[k] |= 1ULL << n;
      }
    }
    /* What the kernel would refuse anyway, said before the clone. */
    if ((p->cap_effective & ~p->cap_permitted) || (p->cap_ambient & ~(p->cap_permitted & p->cap_inheritable)))
      return bad(&c, "plan: capabilitySets: effective must be within permitted, ambient within permitted and inheritable%s%s", "", "");
    p->cap_sets = 1;
  }
  struct mp_json *nnp = mp_json_get(j, "noNewPrivileges");
  if (!nnp || nnp->type != MP_JBOOL) return bad(&c, "plan: \"noNewPrivileges\" must be true or false%s%s", "", "");
  p->no_new_privs = nnp->boolean;
  if (!(p->cwd = req_str(&c, j, "cwd", "the process plan"))) return -1;
  if (p->cwd[0] != '/') return bad(&c, "plan: cwd \"%s\" must be an absolute path%s", p->cwd, "");
  p->setsid = req_bool(&c, j, "setsid", "the process plan", 0);
  p->ctty = req_bool(&c, j, "controllingTty", "the process plan", 0);
  const char *pds = mp_json_str(j, "parentDeathSignal", NULL);
  if (mp_json_get(j, "parentDeathSignal")) {
    for (size_t i = 0; pds && i < sizeof(death_signals) / sizeof(death_signals[0]); i++)
      if (!strcmp(pds, death_signals[i].name)) p->parent_death_signal = death_signals[i].sig;
    if (!p->parent_death_signal) return bad(&c, "plan: parentDeathSignal must be \"SIGKILL\" or \"SIGTERM\"%s%s", "", "");
  }
  const struct mp_json *cg = mp_json_get(j, "cgroups");
  if (cg) {
    if (cg->type != MP_JARR || cg->len > MP_MAX_CGROUPS) return bad(&c, "plan: \"cgroups\" must be a list of at most 8 directories%s%s", "", "");
    for (const struct mp_json *e = cg->child; e; e = e->next) {
      if (e->type != MP_JSTR || e->str[0] != '/' || strstr(e->str, "/../") || strlen(e->str) > 3800)
        return bad(&c, "plan: cgroups: \"%s\" must be an absolute directory%s", e->type == MP_JSTR ? e->str : "?", "");
      p->cgroups[p->ncgroups++] = e->str;
    }
  }
  p->seccomp = mp_json_get(j, "seccomp");
  if (p->seccomp && p->seccomp->type != MP_JOBJ) return bad(&c, "plan: \"seccomp\" must be an object%s%s", "", "");
  const struct mp_json *oom = mp_json_get(j, "oomScoreAdj");
  if (oom) {
    if (oom->type != MP_JNUM || oom->num != (double)(int)oom->num || oom->num < -1000 || oom->num > 1000)
      return bad(&c, "plan: oomScoreAdj must be an integer from -1000 to 1000%s%s", "", "");
    p->set_oom = 1;
    p->oom_score_adj = (int)oom->num;
  }
  const struct mp_json *rl = mp_json_get(j, "rlimits");
  if (rl) {
    static const char *const names[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
                                        "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
                                        "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
    if (rl->type != MP_JARR || rl->len > 16) return bad(&c, "plan: \"rlimits\" must be a list of at most 16%s%s", "", "");
    for (const struct mp_json *e = rl->child; e; e = e->next) {
      const char *t = mp_json_str(e, "type", "");
      int res = -1;
      for (int k = 0; k < 16; k++) if (!strcmp(t, names[k])) res = k;
      const struct mp_json *soft = mp_json_get(e, "soft"), *hard = mp_json_get(e, "hard");
      if (res < 0) return bad(&c, "plan: unknown rlimit \"%s\"%s", t, "");
      if (!soft || !hard || soft->type != MP_JNUM || hard->type != MP_JNUM || soft->num < 0 || hard->num < 0 || soft->num > hard->num)
        return bad(&c, "plan: rlimit %s needs soft <= hard, both whole numbers%s", t, "");
      p->rlimits[p->nrlimits].resource = res;
      p->rlimits[p->nrlimits].soft = soft->num >= 18446744073709551615.0 ? ~0ULL : (unsigned long long)soft->num;
      p->rlimits[p->nrlimits].hard = hard->num >= 18446744073709551615.0 ? ~0ULL : (unsigned long long)hard->num;
      p->nrlimits++;
    }
  }
  const struct mp_json *sc = mp_json_get(j, "sysctls");
  if (sc) {
    if (sc->type != MP_JARR || sc->len > 32) return bad(&c, "plan: \"sysctls\" must be a list of at most 32%s%s", "", "");
    for (const struct mp_json *e = sc->child; e; e = e->next) {
      const char *n = mp_json_str(e, "name", ""), *v = mp_json_str(e, "value", NULL);
      /* A name is dots and words: never a path that leads out of /proc/sys. */
      int ok = n[0] && n[0] != '.' && v && strlen(n) < 200 && !strstr(n, "..");
      for (const char *q = n; ok && *q; q++) ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == '_' || *q == '.' || *q == '-';
      if (!ok) return bad(&c, "plan: sysctl \"%s\" must be a dotted name with a string value%s", n, "");
      p->sysctls[p->nsysctls].name = n;
      p->sysctls[p->nsysctls].value = v;
      p->nsysctls++;
    }
  }
  const struct mp_json *sh = mp_json_get(j, "startHooks");
  if (sh) {
    if (sh->type != MP_JARR || sh->len > 32) return bad(&c, "plan: \"startHooks\" must be a list of at most 32%s%s", "", "");
    if (!(p->start_hooks = mp_arena_alloc(a, (sh->len + 1) * sizeof(*p->start_hooks)))) return bad(&c, "plan: out of memory%s%s", "", "");
    for (const struct mp_json *e = sh->child; e; e = e->next) {
      struct mp_hook *h = &p->start_hooks[p->nstart_hooks++];
      const struct mp_json *t = mp_json_get(e, "timeout");
      h->path = mp_json_str(e, "path", "");
      /* Absolute: it is looked up in the container's root, never in a PATH or a cwd. */
      if (h->path[0] != '/') return bad(&c, "plan: startHooks: path \"%s\" must be absolute%s", h->path, "");
      if (!(h->argv = str_array(&c, mp_json_get(e, "args"), "startHooks[].args")) || !(h->env = str_array(&c, mp_json_get(e, "env"), "startHooks[].env"))) return -1;
      if (!h->argv[0]) return bad(&c, "plan: startHooks: args of \"%s\" must not be empty%s", h->path, "");
      if (t && (t->type != MP_JNUM || t->num != (double)(int)t->num || t->num < 0)) return bad(&c, "plan: startHooks: timeout must be whole seconds%s%s", "", "");
      h->timeout = t ? (int)t->num : 0;
    }
  }
  if (!(p->argv = str_array(&c, mp_json_get(j, "argv"), "argv"))) return -1;
  if (!p->argv[0] || !p->argv[0][0]) return bad(&c, "plan: argv must not be empty%s%s", "", "");
  if (!(p->env = str_array(&c, mp_json_get(j, "env"), "env"))) return -1;
  return c.failed ? -1 : 0;
}
