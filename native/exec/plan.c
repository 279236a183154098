/* JSON -> struct mp_proc. Everything is checked here, in the parent, so that the child only
 * executes: an unknown op, a missing field or a wrong type is an error before any clone. */
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
};

static int ns_flag(const char *t) {
  for (size_t i = 0; i < sizeof(ns_types) / sizeof(ns_types[0]); i++)
    if (strcmp(ns_types[i].name, t) == 0) return ns_types[i].flag;
  return 0;
}

/* "@pause/net" or "@container:web/net" -> "/proc/<pid>/ns/net" */
static const char *resolve_ns_path(struct ctx *c, const char *path, mp_resolve_fn resolve, void *rctx) {
  if (path[0] != '@') return path;
  const char *slash = strrchr(path, '/');
  if (!slash) { bad(c, "plan: bad namespace reference \"%s\"%s", path, ""); return NULL; }
  char who[256];
  size_t n = (size_t)(slash - path - 1);
  if (n >= sizeof(who)) { bad(c, "plan: bad namespace reference \"%s\"%s", path, ""); return NULL; }
  memcpy(who, path + 1, n);
  who[n] = 0;
  int pid = resolve ? resolve(rctx, who) : -1;
  if (pid <= 0) { bad(c, "plan: namespace reference \"%s\": %s is not running", path, who); return NULL; }
  char buf[320];
  snprintf(buf, sizeof(buf), "/proc/%d/ns/%s", pid, slash + 1);
  return mp_arena_strdup(c->a, buf);
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

static int decode_mount(struct ctx *c, const struct mp_json *j, struct mp_mount_op *m) {
  const char *op = req_str(c, j, "op", "mounts[]");
  if (!op) return -1;
  m->name = op;
  m->uid = m->gid = -1;
  if (!strcmp(op, "propagation")) {
    const char *mode = req_str(c, j, "mode", "propagation");
    m->kind = MP_M_PROPAGATION;
    m->dst = "/";
    if (mode && !strcmp(mode, "rprivate")) m->propagation = MS_REC | MS_PRIVATE;
    else if (mode && !strcmp(mode, "rslave")) m->propagation = MS_REC | MS_SLAVE;
    else return bad(c, "plan: propagation mode must be rprivate or rslave%s%s", "", "");
  } else if (!strcmp(op, "rootfs")) {
    const char *kind = req_str(c, j, "kind", "rootfs");
    m->dst = req_str(c, j, "target", "rootfs");
    m->readonly = mp_json_bool(j, "readOnly", 0);
    if (kind && !strcmp(kind, "overlay")) {
      m->kind = MP_M_ROOTFS_OVERLAY;
      m->upper = req_str(c, j, "upper", "rootfs overlay");
      m->work = req_str(c, j, "work", "rootfs overlay");
      char **lower = str_array(c, mp_json_get(j, "lower"), "rootfs overlay lower");
      if (!lower || !lower[0]) return bad(c, "plan: rootfs overlay needs at least one lower dir%s%s", "", "");
      size_t n = 0;
      for (char **l = lower; *l; l++) n += strlen(*l) + 1;
      char *joined = mp_arena_alloc(c->a, n + 1);
      if (!joined) return bad(c, "plan: out of memory%s%s", "", "");
      for (char **l = lower; *l; l++) {
        if (l != lower) strcat(joined, ":");
        strcat(joined, *l);
      }
      m->lower = joined;
      m->source = "overlay";
    } else if (kind && !strcmp(kind, "bind")) {
      m->kind = MP_M_ROOTFS_BIND;
      m->source = req_str(c, j, "source", "rootfs bind");
    } else {
      return bad(c, "plan: rootfs kind must be overlay or bind%s%s", "", "");
    }
  } else if (!strcmp(op, "mount")) {
    m->kind = MP_M_MOUNT;
    m->fstype = req_str(c, j, "fstype", "mount");
    m->source = req_str(c, j, "source", "mount");
    m->dst = req_str(c, j, "dst", "mount");
    m->attrs = attrs_from(c, mp_json_get(j, "flags"));
    struct mp_json *o = mp_json_get(j, "options");
    if (o && o->type == MP_JOBJ) {
      for (struct mp_json *e = o->child; e; e = e->next) {
        if (m->nopts == MP_MAX_OPTS) return bad(c, "plan: too many mount options%s%s", "", "");
        m->opts[m->nopts].key = e->key;
        if (e->type == MP_JSTR) m->opts[m->nopts].value = e->str;
        else if (e->type == MP_JBOOL && e->boolean) m->opts[m->nopts].value = NULL;
        else return bad(c, "plan: mount option \"%s\" must be a string or true%s", e->key, "");
        m->nopts++;
      }
    }
  } else if (!strcmp(op, "bind")) {
    m->kind = MP_M_BIND;
    m->source = req_str(c, j, "source", "bind");
    m->dst = req_str(c, j, "dst", "bind");
    m->source_root = mp_json_str(j, "sourceRoot", NULL);
    m->readonly = mp_json_bool(j, "readOnly", 0);
    m->recursive = mp_json_bool(j, "recursive", 1);
    m->optional = mp_json_bool(j, "optional", 0);
    m->create_source = mp_json_bool(j, "createSource", 0);
    m->attrs = attrs_from(c, mp_json_get(j, "flags"));
    if (m->readonly) m->attrs |= MP_MOUNT_ATTR_RDONLY;
  } else if (!strcmp(op, "mknod")) {
    const char *k = req_str(c, j, "kind", "mknod");
    m->kind = MP_M_MKNOD;
    m->dst = req_str(c, j, "dst", "mknod");
    m->dev_kind = k ? k[0] : 0;
    if (m->dev_kind != 'c' && m->dev_kind != 'b') return bad(c, "plan: mknod kind must be c or b%s%s", "", "");
    m->major = (unsigned)mp_json_num(j, "major", 0);
    m->minor = (unsigned)mp_json_num(j, "minor", 0);
    m->mode = (mode_t)mp_json_num(j, "mode", 0666);
    m->uid = (long)mp_json_num(j, "uid", -1);
    m->gid = (long)mp_json_num(j, "gid", -1);
  } else if (!strcmp(op, "symlink")) {
    m->kind = MP_M_SYMLINK;
    m->link_target = req_str(c, j, "target", "symlink");
    m->dst = req_str(c, j, "dst", "symlink");
  } else if (!strcmp(op, "mkdir")) {
    m->kind = MP_M_MKDIR;
    m->dst = req_str(c, j, "dst", "mkdir");
    m->mode = (mode_t)mp_json_num(j, "mode", 0755);
  } else if (!strcmp(op, "mask")) {
    m->kind = MP_M_MASK;
    m->dst = req_str(c, j, "dst", "mask");
  } else if (!strcmp(op, "readonly")) {
    m->kind = MP_M_READONLY;
    m->dst = req_str(c, j, "dst", "readonly");
  } else if (!strcmp(op, "pivot")) {
    m->kind = MP_M_PIVOT;
    m->dst = "/";
  } else {
    return bad(c, "plan: unknown mount op \"%s\"%s", op, "");
  }
  return c->failed ? -1 : 0;
}

int mp_plan_decode(struct mp_arena *a, const struct mp_json *j, struct mp_proc *p, mp_resolve_fn resolve,
                   void *rctx, char *err, size_t errlen) {
  struct ctx c = {a, err, errlen, 0};
  memset(p, 0, sizeof(*p));
  if (!j || j->type != MP_JOBJ) return bad(&c, "plan: a process plan must be an object%s%s", "", "");
  p->pod = mp_json_str(j, "pod", "");
  p->container = mp_json_str(j, "container", "");

  struct mp_json *ns = mp_json_get(j, "namespaces");
  if (ns && ns->type == MP_JARR) {
    for (struct mp_json *e = ns->child; e; e = e->next) {
      if (p->nns == MP_MAX_NS) return bad(&c, "plan: too many namespace steps%s%s", "", "");
      struct mp_ns_op *o = &p->ns[p->nns++];
      o->type = req_str(&c, e, "type", "namespaces[]");
      const char *action = req_str(&c, e, "action", "namespaces[]");
      if (c.failed) return -1;
      if (!(o->flag = ns_flag(o->type))) return bad(&c, "plan: unknown namespace type \"%s\"%s", o->type, "");
      if (!strcmp(action, "create")) {
        o->action = MP_NS_CREATE;
      } else if (!strcmp(action, "join")) {
        o->action = MP_NS_JOIN;
        const char *path = req_str(&c, e, "path", "namespaces[] join");
        if (!path || !(o->path = resolve_ns_path(&c, path, resolve, rctx))) return -1;
      } else {
        return bad(&c, "plan: namespace action must be create or join, not \"%s\"%s", action, "");
      }
    }
  }
  p->loopback_up = mp_json_bool(j, "loopbackUp", 0);
  p->hostname = mp_json_str(j, "hostname", NULL);

  struct mp_json *mounts = mp_json_get(j, "mounts");
  if (mounts && mounts->type == MP_JARR && mounts->len) {
    p->mounts = mp_arena_alloc(a, mounts->len * sizeof(*p->mounts));
    if (!p->mounts) return bad(&c, "plan: out of memory%s%s", "", "");
    for (struct mp_json *e = mounts->child; e; e = e->next) {
      struct mp_mount_op *m = &p->mounts[p->nmounts++];
      if (decode_mount(&c, e, m)) return -1;
      if ((m->kind == MP_M_ROOTFS_OVERLAY || m->kind == MP_M_ROOTFS_BIND) && m->readonly) p->rootfs_readonly = 1;
    }
  }

  struct mp_json *user = mp_json_get(j, "user");
  p->uid = (uid_t)mp_json_num(user, "uid", 0);
  p->gid = (gid_t)mp_json_num(user, "gid", 0);
  struct mp_json *groups = mp_json_get(user, "groups");
  if (groups && groups->type == MP_JARR)
    for (struct mp_json *g = groups->child; g; g = g->next) {
      if (p->ngroups == MP_MAX_GROUPS) return bad(&c, "plan: too many supplementary groups%s%s", "", "");
      p->groups[p->ngroups++] = (gid_t)g->num;
    }

  struct mp_json *caps = mp_json_get(j, "capabilities");
  if (!caps || caps->type == MP_JNULL) {
    p->keep_all_caps = 1;
  } else {
    if (caps->type != MP_JARR) return bad(&c, "plan: capabilities must be an array or null%s%s", "", "");
    for (struct mp_json *e = caps->child; e; e = e->next) {
      int n = e->type == MP_JSTR ? mp_cap_from_name(e->str) : -1;
      if (n < 0) return bad(&c, "plan: unknown capability \"%s\"%s", e->type == MP_JSTR ? e->str : "?", "");
      p->caps |= 1ULL << n;
    }
  }
  p->no_new_privs = mp_json_bool(j, "noNewPrivileges", 0);
  p->cwd = mp_json_str(j, "cwd", "/");
  p->setsid = mp_json_bool(j, "setsid", 0);
  p->ctty = mp_json_bool(j, "controllingTty", 0);
  if (!(p->argv = str_array(&c, mp_json_get(j, "argv"), "argv"))) return -1;
  if (!p->argv[0] || !p->argv[0][0]) return bad(&c, "plan: argv must not be empty%s%s", "", "");
  if (!(p->env = str_array(&c, mp_json_get(j, "env"), "env"))) return -1;
  return c.failed ? -1 : 0;
}
