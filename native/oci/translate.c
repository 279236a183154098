/* config.json -> the ProcessPlan the pod path uses (src/plan/types.ts, as JSON), which the
 * executor's decoder then checks again and native/exec runs. Pure: the caller gives the
 * bundle, the container's cgroup and the host's cgroup layout and LSMs; nothing is read or
 * started here. What the executor cannot do is refused, naming the field, rather than
 * ignored: a container must never run with less confinement than its config asks for.
 *
 * This lives in C, not beside the pod path's planner in TypeScript, because create is on
 * the path of every container containerd starts and a Node start would double its time
 * (README, "minipod under Kubernetes"). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../exec/plan.h"
#include "create.h"

static const char *const DEVICE_NODES[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
static const char *const DEV_LINKS[][2] = {{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}};
static const char *const FLAGS[] = {"ro", "nosuid", "nodev", "noexec", "noatime", "relatime", NULL};
/* mount(2) flags minipod's mounts need not or cannot act on: accepted, with no effect. */
static const char *const IGNORED[] = {"rw", "suid", "dev", "exec", "atime", "strictatime", "nodiratime", "diratime", "async", "sync", "dirsync", "defaults", "remount", "mand", "nomand", "silent", "loud", "tmpcopyup", "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable", "norelatime", "nostrictatime", "iversion", "noiversion", NULL};
static const char *const PROPAGATIONS[] = {"shared", "slave", "private", "unbindable", "rshared", "rslave", "rprivate", "runbindable", NULL};
static const char *const CAP_SETS[] = {"bounding", "effective", "permitted", "inheritable", "ambient"};

static int in_list(const char *const *l, const char *s) {
  for (; *l; l++)
    if (!strcmp(*l, s)) return 1;
  return 0;
}

void oci_jstr(struct jw *w, const char *s) {
  if (s && !s[0]) JW_LIT(w, "\"\"");
  else jw_str(w, s);
}

/* A whole number, or a double as it was: JSON numbers of configs (rlimits may be 2^64-1). */
void oci_jnum(struct jw *w, double v) {
  if (v >= 18446744073709551615.0) JW_LIT(w, "18446744073709551615");
  else if (v >= 0 && v == (double)(unsigned long long)v) jw_putf(w, "%llu", (unsigned long long)v);
  else if (v < 0 && v > -9.2e18 && v == (double)(long long)v) jw_putf(w, "%lld", (long long)v);
  else jw_putf(w, "%.17g", v);
}

int oci_abs(const char *p, char *out, size_t n) {
  if (!p || p[0] != '/') return -1;
  size_t o = 0;
  const char *s = p;
  out[0] = 0;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    const char *q = s;
    while (*q && *q != '/') q++;
    size_t len = (size_t)(q - s);
    if (len == 2 && s[0] == '.' && s[1] == '.') {
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
      out[o] = 0;
    } else if (!(len == 1 && s[0] == '.') && o + len + 2 < n) {
      out[o++] = '/';
      memcpy(out + o, s, len);
      o += len;
      out[o] = 0;
    }
    s = q;
  }
  if (!o) snprintf(out, n, "/");
  return 0;
}

void oci_resolve(const char *dir, const char *p, char *out, size_t n) {
  char joined[OCI_PATH * 2];
  if (p[0] == '/') snprintf(joined, sizeof(joined), "%s", p);
  else snprintf(joined, sizeof(joined), "%s/%s", dir, p);
  oci_abs(joined, out, n);
}

int oci_check_lsm(const struct mp_json *p, const char *lsms, const char *field, struct oci_err *e) {
  char have[512];
  snprintf(have, sizeof(have), ",%s,", lsms ? lsms : "");
  const char *aa = p ? mp_json_str(p, "apparmorProfile", NULL) : NULL, *se = p ? mp_json_str(p, "selinuxLabel", NULL) : NULL;
  const char *shown = lsms && lsms[0] ? lsms : "none";
  if (aa && aa[0] && !strstr(have, ",apparmor,")) return oci_fail(e, "config.json %s.apparmorProfile: \"%s\": this host has no AppArmor (its LSMs: %s)", field, aa, shown);
  if (se && se[0] && !strstr(have, ",selinux,")) return oci_fail(e, "config.json %s.selinuxLabel: this host has no SELinux (its LSMs: %s)", field, shown);
  return 0;
}

/* One capability set, names checked, duplicates dropped; as a bit mask too. */
static int cap_set(const struct mp_json *caps, const char *k, const char *field, unsigned long long *mask, struct oci_err *e) {
  *mask = 0;
  const struct mp_json *l = caps ? mp_json_get(caps, k) : NULL;
  for (const struct mp_json *c = l && l->type == MP_JARR ? l->child : NULL; c; c = c->next) {
    int n = c->type == MP_JSTR ? mp_cap_from_name(c->str) : -1;
    if (n < 0) return oci_fail(e, "config.json %s.capabilities.%s: unknown capability \"%s\"", field, k, c->type == MP_JSTR ? c->str : "?");
    *mask |= 1ULL << n;
  }
  return 0;
}

/* The set's names in their order in the config, those in mask only, once each. */
static void cap_names(struct jw *w, const struct mp_json *caps, const char *k, unsigned long long mask) {
  JW_LIT(w, "[");
  unsigned long long done = 0;
  int first = 1;
  const struct mp_json *l = caps ? mp_json_get(caps, k) : NULL;
  for (const struct mp_json *c = l && l->type == MP_JARR ? l->child : NULL; c; c = c->next) {
    unsigned long long bit = 1ULL << mp_cap_from_name(c->str);
    if (!(mask & bit) || (done & bit)) continue;
    done |= bit;
    if (!first) JW_LIT(w, ",");
    first = 0;
    jw_str(w, c->str);
  }
  JW_LIT(w, "]");
}

unsigned long long oci_own_bounding(void) {
  char *t = oci_slurp("/proc/self/status", NULL);
  const char *l = t ? strstr(t, "\nCapBnd:") : NULL;
  unsigned long long v = l ? strtoull(l + 8, NULL, 16) : ~0ULL;
  free(t);
  return v;
}

int oci_translate_process(const struct mp_json *p, const char *field, unsigned long long runtime_caps, char *dropped, size_t dropped_len, struct jw *w, struct oci_err *e) {
  if (!p || p->type != MP_JOBJ) return oci_fail(e, "config.json %s: is required", field);
  const struct mp_json *args = mp_json_get(p, "args");
  if (!args || args->type != MP_JARR || !args->len) return oci_fail(e, "config.json %s.args: needs at least one entry", field);
  const char *cwd = mp_json_str(p, "cwd", NULL);
  if (!cwd || cwd[0] != '/') return oci_fail(e, "config.json %s.cwd: must be an absolute path", field);
  const struct mp_json *u = mp_json_get(p, "user");
  jw_key(w, "user");
  jw_putf(w, "{\"uid\":");
  oci_jnum(w, u ? mp_json_num(u, "uid", 0) : 0);
  jw_putf(w, ",\"gid\":");
  oci_jnum(w, u ? mp_json_num(u, "gid", 0) : 0);
  JW_LIT(w, ",\"groups\":[");
  const struct mp_json *ag = u ? mp_json_get(u, "additionalGids") : NULL;
  int first = 1;
  for (const struct mp_json *g = ag && ag->type == MP_JARR ? ag->child : NULL; g; g = g->next) {
    int dup = 0;
    for (const struct mp_json *h = ag->child; h != g; h = h->next) dup |= h->type == MP_JNUM && g->type == MP_JNUM && h->num == g->num;
    if (dup) continue;
    if (!first) JW_LIT(w, ",");
    first = 0;
    if (g->type != MP_JNUM) return oci_fail(e, "config.json %s.user.additionalGids: must be numbers", field);
    oci_jnum(w, g->num);
  }
  JW_LIT(w, "]}");
  const struct mp_json *caps = mp_json_get(p, "capabilities");
  unsigned long long m[5];
  for (int i = 0; i < 5; i++)
    if (cap_set(caps, CAP_SETS[i], field, &m[i], e) < 0) return -1;
  /* A capability this runtime does not hold itself cannot be given (capset: EPERM): it is
   * left out of every set, and named to the caller, who warns (a host without
   * CAP_SYS_RESOURCE still runs a privileged container, with one capability less). */
  unsigned long long asked = m[0] | m[1] | m[2] | m[3] | m[4], lost = asked & ~runtime_caps;
  if (dropped && dropped_len) dropped[0] = 0;
  for (int b = 0; b < 64 && dropped; b++) {
    if (!(lost & (1ULL << b))) continue;
    const char *name = mp_cap_name(b);
    size_t at = strlen(dropped);
    snprintf(dropped + at, dropped_len - at, "%s%s", at ? "," : "", name ? name : "?");
  }
  for (int i = 0; i < 5; i++) m[i] &= runtime_caps;
  /* What the kernel allows: effective within permitted, ambient within permitted and inheritable. */
  m[1] &= m[2];
  m[4] &= m[2] & m[3];
  /* The one list the executor also reads (its checks of an exec): the bounding set; what the
   * process holds is capabilitySets, exactly. */
  jw_key(w, "capabilities");
  cap_names(w, caps, "bounding", m[0]);
  jw_key(w, "capabilitySets");
  JW_LIT(w, "{");
  for (int i = 0; i < 5; i++) {
    jw_key(w, CAP_SETS[i]);
    cap_names(w, caps, CAP_SETS[i], m[i]);
  }
  JW_LIT(w, "}");
  jw_key(w, "noNewPrivileges");
  jw_bool(w, mp_json_bool(p, "noNewPrivileges", 0));
  jw_key(w, "cwd");
  oci_jstr(w, cwd);
  jw_key(w, "argv");
  jw_node(w, args);
  jw_key(w, "env");
  const struct mp_json *env = mp_json_get(p, "env");
  if (env && env->type == MP_JARR) jw_node(w, env);
  else JW_LIT(w, "[]");
  const struct mp_json *rl = mp_json_get(p, "rlimits");
  if (rl && rl->type == MP_JARR && rl->len) {
    jw_key(w, "rlimits");
    JW_LIT(w, "[");
    for (const struct mp_json *r = rl->child; r; r = r->next) {
      if (r != rl->child) JW_LIT(w, ",");
      JW_LIT(w, "{\"type\":");
      oci_jstr(w, mp_json_str(r, "type", ""));
      JW_LIT(w, ",\"soft\":");
      oci_jnum(w, mp_json_num(r, "soft", -1));
      JW_LIT(w, ",\"hard\":");
      oci_jnum(w, mp_json_num(r, "hard", -1));
      JW_LIT(w, "}");
    }
    JW_LIT(w, "]");
  }
  const struct mp_json *oom = mp_json_get(p, "oomScoreAdj");
  if (oom && oom->type == MP_JNUM) {
    jw_key(w, "oomScoreAdj");
    oci_jnum(w, oom->num);
  }
  if (mp_json_bool(p, "terminal", 0)) {
    jw_key(w, "setsid");
    jw_bool(w, 1);
    jw_key(w, "controllingTty");
    jw_bool(w, 1);
  }
  return 0;
}

/* Splits a mount's options into flags, bind/rbind and filesystem options. */
struct opts {
  int flags[6];
  int bind, recursive;
  const char *propagation; /* a bind's shared/slave/rshared/rslave; NULL: private */
  const struct mp_json *fs[MP_MAX_OPTS];
  int nfs;
};

static int parse_options(const struct mp_json *m, const char *field, struct opts *o, struct oci_err *e) {
  memset(o, 0, sizeof(*o));
  const char *type = mp_json_str(m, "type", "");
  o->bind = !strcmp(type, "bind");
  const struct mp_json *l = mp_json_get(m, "options");
  for (const struct mp_json *c = l && l->type == MP_JARR ? l->child : NULL; c; c = c->next) {
    if (c->type != MP_JSTR) return oci_fail(e, "config.json %s.options: must be strings", field);
    const char *s = c->str;
    int f = -1;
    for (int i = 0; FLAGS[i]; i++)
      if (!strcmp(FLAGS[i], s)) f = i;
    if (!strcmp(s, "bind") || !strcmp(s, "rbind")) {
      o->bind = 1;
      o->recursive |= !strcmp(s, "rbind");
    } else if (f >= 0) {
      o->flags[f] = 1;
    } else if (!strcmp(s, "idmap") || !strcmp(s, "ridmap")) {
      return oci_fail(e, "config.json %s.options: \"%s\" (idmapped mounts in an OCI config) is not supported", field, s);
    } else if (!strcmp(s, "shared") || !strcmp(s, "rshared") || !strcmp(s, "slave") || !strcmp(s, "rslave")) {
      o->propagation = s;
    } else if (!strcmp(s, "private") || !strcmp(s, "rprivate")) {
      o->propagation = NULL;
    } else if (in_list(IGNORED, s) || !strncmp(s, "x-", 2) || !strncmp(s, "X-", 2)) {
      continue;
    } else {
      if (o->nfs == MP_MAX_OPTS) return oci_fail(e, "config.json %s.options: at most %d filesystem options", field, MP_MAX_OPTS);
      o->fs[o->nfs++] = c;
    }
  }
  return 0;
}

static void flag_list(struct jw *w, const struct opts *o, int with_ro) {
  JW_LIT(w, "[");
  int first = 1;
  for (int i = with_ro ? 0 : 1; FLAGS[i]; i++) {
    if (!o->flags[i]) continue;
    if (!first) JW_LIT(w, ",");
    first = 0;
    jw_str(w, FLAGS[i]);
  }
  JW_LIT(w, "]");
}

static void fs_options(struct jw *w, const struct mp_json *const *fs, int n) {
  if (!n) return;
  JW_LIT(w, ",\"options\":{");
  for (int i = 0; i < n; i++) {
    const char *s = fs[i]->str, *eq = strchr(s, '=');
    char k[256];
    snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - s) : (int)strlen(s), s);
    jw_key(w, k);
    if (eq) oci_jstr(w, eq + 1);
    else jw_bool(w, 1);
  }
  JW_LIT(w, "}");
}

/* How a container sees its cgroups (src/cgroups/layout.ts containerCgroupMounts), at dst. */
static void cgroup_mounts(struct jw *w, const struct oci_layout *l, const char *dst, int privileged) {
  const char *flags = privileged ? "[\"nosuid\",\"nodev\",\"noexec\"]" : "[\"ro\",\"nosuid\",\"nodev\",\"noexec\"]";
  if (l->version == 2) {
    JW_LIT(w, ",{\"op\":\"mount\",\"fstype\":\"cgroup2\",\"source\":\"cgroup2\",\"dst\":");
    oci_jstr(w, dst);
    jw_putf(w, ",\"flags\":%s}", flags);
    return;
  }
  JW_LIT(w, ",{\"op\":\"mount\",\"fstype\":\"tmpfs\",\"source\":\"cgroup\",\"dst\":");
  oci_jstr(w, dst);
  JW_LIT(w, ",\"flags\":[\"nosuid\",\"nodev\",\"noexec\"],\"options\":{\"mode\":\"755\",\"size\":\"64k\"}}");
  for (int c = 0; c < OCI_V1_N; c++) {
    if (!l->v1[c][0]) continue;
    int seen = 0;
    for (int k = 0; k < c; k++) seen |= !strcmp(l->v1[k], l->v1[c]);
    if (seen) continue;
    const char *base = strrchr(l->v1[c], '/') ? strrchr(l->v1[c], '/') + 1 : l->v1[c];
    char at[OCI_PATH];
    snprintf(at, sizeof(at), "%s/%s", dst, base);
    JW_LIT(w, ",{\"op\":\"mount\",\"fstype\":\"cgroup\",\"source\":\"cgroup\",\"dst\":");
    oci_jstr(w, at);
    jw_putf(w, ",\"flags\":%s,\"options\":{", flags);
    char opts[1024];
    snprintf(opts, sizeof(opts), "%s", l->v1opts[c][0] ? l->v1opts[c] : oci_v1_name(c));
    int first = 1;
    for (char *o = strtok(opts, ","); o; o = strtok(NULL, ",")) {
      if (!first) JW_LIT(w, ",");
      first = 0;
      char *eq = strchr(o, '=');
      if (eq) *eq = 0;
      jw_str(w, o);
      JW_LIT(w, ":");
      if (eq) oci_jstr(w, eq + 1);
      else jw_bool(w, 1);
    }
    JW_LIT(w, "}}");
    /* cpu,cpuacct is also reachable as cpu and cpuacct, as on the host. */
    if (strchr(base, ',')) {
      char parts[256];
      snprintf(parts, sizeof(parts), "%s", base);
      for (char *s = strtok(parts, ","); s; s = strtok(NULL, ",")) {
        char link[OCI_PATH];
        snprintf(link, sizeof(link), "%s/%s", dst, s);
        JW_LIT(w, ",{\"op\":\"symlink\",\"target\":");
        oci_jstr(w, base);
        JW_LIT(w, ",\"dst\":");
        oci_jstr(w, link);
        JW_LIT(w, "}");
      }
    }
  }
  if (!privileged) {
    JW_LIT(w, ",{\"op\":\"readonly\",\"dst\":");
    oci_jstr(w, dst);
    JW_LIT(w, "}");
  }
}

/* linux.devices names this path (a privileged container's lists every host device: no limit). */
static int listed(const struct mp_json *devices, const char *path) {
  char p[OCI_PATH];
  for (const struct mp_json *d = devices && devices->type == MP_JARR ? devices->child : NULL; d; d = d->next)
    if (oci_abs(mp_json_str(d, "path", NULL), p, sizeof(p)) == 0 && !strcmp(p, path)) return 1;
  return 0;
}

static int mount_ops(const struct oci_translate_in *in, struct jw *w, struct oci_err *e) {
  const struct mp_json *c = in->config, *linux_ = mp_json_get(c, "linux");
  const struct mp_json *mounts = mp_json_get(c, "mounts"), *devices = linux_ ? mp_json_get(linux_, "devices") : NULL;
  int dev_tmpfs = 0, i = 0;
  char field[64], dst[OCI_PATH];
  for (const struct mp_json *m = mounts && mounts->type == MP_JARR ? mounts->child : NULL; m; m = m->next, i++) {
    snprintf(field, sizeof(field), "mounts[%d]", i);
    if (oci_abs(mp_json_str(m, "destination", NULL), dst, sizeof(dst)) < 0)
      return oci_fail(e, "config.json %s.destination: \"%s\" must be an absolute path inside the container", field, mp_json_str(m, "destination", ""));
    struct opts o;
    if (parse_options(m, field, &o, e) < 0) return -1;
    const char *type = mp_json_str(m, "type", NULL), *source = mp_json_str(m, "source", NULL);
    if (o.bind) {
      if (!source || !source[0]) return oci_fail(e, "config.json %s.source: a bind mount needs a source", field);
      char src[OCI_PATH];
      oci_resolve(in->bundle, source, src, sizeof(src));
      JW_LIT(w, ",{\"op\":\"bind\",\"source\":");
      oci_jstr(w, src);
      JW_LIT(w, ",\"dst\":");
      oci_jstr(w, dst);
      jw_putf(w, ",\"readOnly\":%s,\"recursive\":%s,\"flags\":", o.flags[0] ? "true" : "false", o.recursive ? "true" : "false");
      flag_list(w, &o, 0);
      if (o.propagation) jw_putf(w, ",\"propagation\":\"%s\"", o.propagation);
      JW_LIT(w, "}");
      continue;
    }
    if (!type || !type[0]) return oci_fail(e, "config.json %s.type: a mount needs a type (or the bind option)", field);
    if (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2")) {
      /* The container's own cgroup namespace shows its cgroup as the root, as runc's does. */
      if (!in->layout || !in->layout->version) return oci_fail(e, "config.json %s.type: this host has no cgroup filesystem", field);
      cgroup_mounts(w, in->layout, dst, !o.flags[0]);
      continue;
    }
    if (!strcmp(type, "tmpfs") && !strcmp(dst, "/dev")) dev_tmpfs = 1;
    JW_LIT(w, ",{\"op\":\"mount\",\"fstype\":");
    oci_jstr(w, type);
    JW_LIT(w, ",\"source\":");
    oci_jstr(w, source ? source : type);
    JW_LIT(w, ",\"dst\":");
    oci_jstr(w, dst);
    JW_LIT(w, ",\"flags\":");
    flag_list(w, &o, 1);
    fs_options(w, o.fs, o.nfs);
    JW_LIT(w, "}");
  }
  /* The devices every container gets (runc's defaults) on a /dev the config mounts empty, each
   * a bind of the host's node; those of linux.devices, made with mknod. */
  if (dev_tmpfs) {
    for (int k = 0; DEVICE_NODES[k]; k++) {
      char p[64];
      snprintf(p, sizeof(p), "/dev/%s", DEVICE_NODES[k]);
      if (listed(devices, p)) continue;
      jw_putf(w, ",{\"op\":\"bind\",\"source\":\"%s\",\"dst\":\"%s\",\"readOnly\":false,\"recursive\":false,\"flags\":[\"nosuid\",\"noexec\"]}", p, p);
    }
    for (int k = 0; k < 5; k++)
      if (!listed(devices, DEV_LINKS[k][1])) jw_putf(w, ",{\"op\":\"symlink\",\"target\":\"%s\",\"dst\":\"%s\"}", DEV_LINKS[k][0], DEV_LINKS[k][1]);
  }
  i = 0;
  for (const struct mp_json *d = devices && devices->type == MP_JARR ? devices->child : NULL; d; d = d->next, i++) {
    const char *t = mp_json_str(d, "type", "");
    if (strcmp(t, "c") && strcmp(t, "b") && strcmp(t, "u") && strcmp(t, "p")) return oci_fail(e, "config.json linux.devices[%d].type: \"%s\": a device is c, u, b or p", i, t);
    if (oci_abs(mp_json_str(d, "path", NULL), dst, sizeof(dst)) < 0) return oci_fail(e, "config.json linux.devices[%d].path: \"%s\" must be an absolute path inside the container", i, mp_json_str(d, "path", ""));
    if (in->user) {
      /* No mknod in a user namespace: the host's node of that path is bound, as runc does. */
      JW_LIT(w, ",{\"op\":\"bind\",\"source\":");
      oci_jstr(w, dst);
      JW_LIT(w, ",\"dst\":");
      oci_jstr(w, dst);
      JW_LIT(w, ",\"readOnly\":false,\"recursive\":false,\"flags\":[\"nosuid\",\"noexec\"]}");
      continue;
    }
    JW_LIT(w, ",{\"op\":\"mknod\",\"dst\":");
    oci_jstr(w, dst);
    jw_putf(w, ",\"kind\":\"%s\",\"major\":", !strcmp(t, "b") ? "b" : !strcmp(t, "p") ? "p" : "c");
    oci_jnum(w, mp_json_num(d, "major", 0));
    JW_LIT(w, ",\"minor\":");
    oci_jnum(w, mp_json_num(d, "minor", 0));
    jw_putf(w, ",\"mode\":%d", (int)mp_json_num(d, "fileMode", 0666) & 07777);
    const struct mp_json *uid = mp_json_get(d, "uid"), *gid = mp_json_get(d, "gid");
    if (uid && uid->type == MP_JNUM) { JW_LIT(w, ",\"uid\":"); oci_jnum(w, uid->num); }
    if (gid && gid->type == MP_JNUM) { JW_LIT(w, ",\"gid\":"); oci_jnum(w, gid->num); }
    JW_LIT(w, "}");
  }
  const char *lists[2] = {"maskedPaths", "readonlyPaths"};
  for (int k = 0; k < 2; k++) {
    const struct mp_json *l = linux_ ? mp_json_get(linux_, lists[k]) : NULL;
    for (const struct mp_json *p = l && l->type == MP_JARR ? l->child : NULL; p; p = p->next) {
      if (p->type != MP_JSTR || oci_abs(p->str, dst, sizeof(dst)) < 0) return oci_fail(e, "config.json linux.%s: \"%s\" must be an absolute path inside the container", lists[k], p->type == MP_JSTR ? p->str : "?");
      jw_putf(w, ",{\"op\":\"%s\",\"dst\":", k ? "readonly" : "mask");
      oci_jstr(w, dst);
      JW_LIT(w, "}");
    }
  }
  return 0;
}

static const char *ns_type(const char *oci) {
  static const char *const map[][2] = {{"pid", "pid"}, {"network", "net"}, {"mount", "mnt"}, {"ipc", "ipc"}, {"uts", "uts"}, {"cgroup", "cgroup"}};
  for (int i = 0; i < 6; i++)
    if (!strcmp(map[i][0], oci)) return map[i][1];
  return NULL;
}

int oci_user_namespace(const struct mp_json *config, struct oci_err *e) {
  const struct mp_json *linux_ = mp_json_get(config, "linux");
  const struct mp_json *nss = linux_ ? mp_json_get(linux_, "namespaces") : NULL;
  const struct mp_json *um = linux_ ? mp_json_get(linux_, "uidMappings") : NULL, *gm = linux_ ? mp_json_get(linux_, "gidMappings") : NULL;
  int user = 0, by_path = 0;
  for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next)
    if (!strcmp(mp_json_str(n, "type", ""), "user")) {
      user = 1;
      const char *p = mp_json_str(n, "path", NULL);
      by_path = p && p[0];
    }
  int maps = (um && um->type == MP_JARR && um->len) || (gm && gm->type == MP_JARR && gm->len);
  if (maps && !user) return oci_fail(e, "config.json linux.uidMappings: mappings need a user namespace in linux.namespaces");
  if (user && !by_path && !(um && um->type == MP_JARR && um->len && gm && gm->type == MP_JARR && gm->len))
    return oci_fail(e, "config.json linux.uidMappings: a new user namespace needs uidMappings and gidMappings");
  if (maps && by_path) return oci_fail(e, "config.json linux.uidMappings: a user namespace joined by path has its mappings already");
  return user;
}

int oci_translate(const struct oci_translate_in *in, struct jw *w, struct oci_err *e) {
  const struct mp_json *c = in->config, *linux_ = mp_json_get(c, "linux"), *root = mp_json_get(c, "root");
  const char *ver = mp_json_str(c, "ociVersion", "");
  if (strncmp(ver, "1.", 2)) return oci_fail(e, "config.json ociVersion: \"%s\": minipod-oci reads runtime spec 1.x", ver);
  const char *root_path = root ? mp_json_str(root, "path", NULL) : NULL;
  if (!root_path || !root_path[0]) return oci_fail(e, "config.json root.path: is required");
  const struct mp_json *sc = linux_ ? mp_json_get(linux_, "seccomp") : NULL;
  if (sc && sc->type == MP_JOBJ && mp_json_str(sc, "listenerPath", NULL)) return oci_fail(e, "config.json linux.seccomp.listenerPath: seccomp notify is not supported");
  if (linux_ && mp_json_get(linux_, "intelRdt")) return oci_fail(e, "config.json linux.intelRdt: is not supported");
  const struct mp_json *proc = mp_json_get(c, "process");
  if (oci_check_lsm(proc, in->lsms, "process", e) < 0) return -1;

  JW_LIT(w, "{\"pod\":\"\",\"container\":");
  oci_jstr(w, in->id);
  JW_LIT(w, ",\"namespaces\":[");
  const struct mp_json *nss = linux_ ? mp_json_get(linux_, "namespaces") : NULL;
  /* A user namespace first: it is joined (made by create with the config's mappings, or
   * named by path) before the others are created, so that they are its own, as runc has it. */
  int user = oci_user_namespace(c, e), first = 1;
  if (user < 0) return -1;
  if (user) {
    const char *upath = NULL;
    for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next)
      if (!strcmp(mp_json_str(n, "type", ""), "user")) upath = mp_json_str(n, "path", NULL);
    JW_LIT(w, "{\"type\":\"user\",\"action\":\"join\",\"path\":");
    oci_jstr(w, upath && upath[0] ? upath : "@userns/user");
    JW_LIT(w, "}");
    first = 0;
  }
  const char *seen[8];
  int nseen = 0, k = 0, have_mnt = 0, have_uts = 0;
  for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next, k++) {
    const char *t = mp_json_str(n, "type", ""), *type = ns_type(t);
    if (!strcmp(t, "user")) continue;
    if (!type) return oci_fail(e, !strcmp(t, "time") ? "config.json linux.namespaces[%d].type: a %s namespace is not supported yet" : "config.json linux.namespaces[%d].type: unknown namespace type \"%s\"", k, t);
    for (int i = 0; i < nseen; i++)
      if (!strcmp(seen[i], type)) return oci_fail(e, "config.json linux.namespaces[%d].type: \"%s\" is named twice", k, t);
    if (nseen < 8) seen[nseen++] = type;
    have_mnt |= !strcmp(type, "mnt");
    have_uts |= !strcmp(type, "uts");
    const char *path = mp_json_str(n, "path", NULL);
    if (!first) JW_LIT(w, ",");
    first = 0;
    jw_putf(w, "{\"type\":\"%s\",\"action\":\"%s\"", type, path && path[0] ? "join" : "create");
    if (path && path[0]) { JW_LIT(w, ",\"path\":"); oci_jstr(w, path); }
    JW_LIT(w, "}");
  }
  /* Without a mount namespace the container stays in the runtime's, yet nothing is mounted
   * there: its tree is built in a namespace made for the init alone, which then returns to the
   * runtime's and chroots into a detached clone of that tree (the plan's chroot step). */
  int home_mnt = !have_mnt;
  if (home_mnt && user) return oci_fail(e, "config.json linux.namespaces: a user namespace needs a mount namespace of its own");
  if (home_mnt) jw_putf(w, "%s{\"type\":\"mnt\",\"action\":\"create\"}", first ? "" : ",");
  JW_LIT(w, "]");
  const char *hostname = mp_json_str(c, "hostname", NULL);
  if (hostname && hostname[0] && !have_uts) return oci_fail(e, "config.json hostname: needs a uts namespace (the host's would be renamed)");
  const char *domain = mp_json_str(c, "domainname", NULL);
  if (domain && domain[0] && !have_uts) return oci_fail(e, "config.json domainname: needs a uts namespace (the host's would be renamed)");
  JW_LIT(w, ",\"loopbackUp\":false");
  if (hostname && hostname[0]) { jw_key(w, "hostname"); oci_jstr(w, hostname); }
  if (domain && domain[0]) { jw_key(w, "domainname"); oci_jstr(w, domain); }

  const char *prop = linux_ ? mp_json_str(linux_, "rootfsPropagation", NULL) : NULL;
  if (prop && !in_list(PROPAGATIONS, prop)) return oci_fail(e, "config.json linux.rootfsPropagation: \"%s\" is not one of shared, slave, private, unbindable, rshared, rslave, rprivate, runbindable", prop);
  char rootfs[OCI_PATH];
  oci_resolve(in->bundle, root_path, rootfs, sizeof(rootfs));
  jw_putf(w, ",\"mounts\":[{\"op\":\"propagation\",\"mode\":\"%s\"}", prop && strstr(prop, "slave") ? "rslave" : "rprivate");
  JW_LIT(w, ",{\"op\":\"rootfs\",\"kind\":\"bind\",\"source\":");
  oci_jstr(w, rootfs);
  JW_LIT(w, ",\"target\":");
  oci_jstr(w, rootfs);
  jw_putf(w, ",\"readOnly\":%s}", mp_json_bool(root, "readonly", 0) ? "true" : "false");
  if (mount_ops(in, w, e) < 0) return -1;
  if (home_mnt && prop && !strstr(prop, "private")) return oci_fail(e, "config.json linux.rootfsPropagation: \"%s\" needs a mount namespace of its own (without one the root is a private detached tree)", prop);
  jw_putf(w, ",{\"op\":\"%s\"", home_mnt ? "chroot" : "pivot");
  if (prop && !home_mnt) jw_putf(w, ",\"rootPropagation\":\"%s\"", prop);
  JW_LIT(w, "}]");

  if (oci_translate_process(proc, "process", in->runtime_caps, in->dropped, in->dropped_len, w, e) < 0) return -1;
  if (in->cgroup && in->cgroup->ndirs) {
    jw_key(w, "cgroups");
    JW_LIT(w, "[");
    for (int i = 0; i < in->cgroup->ndirs; i++) {
      if (i) JW_LIT(w, ",");
      oci_jstr(w, in->cgroup->dirs[i]);
    }
    JW_LIT(w, "]");
  }
  const struct mp_json *sysctl = linux_ ? mp_json_get(linux_, "sysctl") : NULL;
  if (sysctl && sysctl->type == MP_JOBJ && sysctl->child) {
    jw_key(w, "sysctls");
    JW_LIT(w, "[");
    for (const struct mp_json *s = sysctl->child; s; s = s->next) {
      if (s != sysctl->child) JW_LIT(w, ",");
      JW_LIT(w, "{\"name\":");
      oci_jstr(w, s->key);
      JW_LIT(w, ",\"value\":");
      if (s->type == MP_JSTR) oci_jstr(w, s->str);
      else { JW_LIT(w, "\""); oci_jnum(w, s->num); JW_LIT(w, "\""); }
      JW_LIT(w, "}");
    }
    JW_LIT(w, "]");
  }
  if (sc && sc->type == MP_JOBJ && oci_translate_seccomp(sc, w, e) < 0) return -1;
  if (oci_translate_start_hooks(mp_json_get(c, "hooks"), w, e) < 0) return -1;
  JW_LIT(w, "}");
  return w->oom ? oci_fail(e, "out of memory") : 0;
}
