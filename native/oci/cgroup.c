/* An OCI container's cgroup on this host's hierarchies (cgroupfs; the systemd driver's
 * "slice:prefix:name" is refused): linux.cgroupsPath, made before the init starts and given
 * linux.resources (create), written again by update; the init joins it first thing (the
 * executor), so the shim finds it in /proc/PID/cgroup once create returns, as it expects.
 * The same rules as the pod path's (src/cgroups): v1 hierarchies win over a cgroup2 mount
 * beside them (the hybrid host), cpuacct is used where it is mounted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../shim/shim.h"
#include "create.h"

static const char *const V1[OCI_V1_N] = {"cpu", "cpuacct", "memory", "pids", "devices", "freezer", "cpuset", "hugetlb", "blkio", "net_cls", "net_prio"};

static void unescape(char *s) {
  char *o = s;
  for (char *p = s; *p;) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 4;
    } else {
      *o++ = *p++;
    }
  }
  *o = 0;
}

/* The mount of mountinfo's field 3 (major:minor) is the one its mount point reaches: a mount
 * hidden under a later one at or above its path (a namespace that mounted /sys again) is not
 * a hierarchy of this process's. */
static int reachable(const char *devno, const char *mnt) {
  unsigned maj, min;
  struct stat st;
  if (sscanf(devno, "%u:%u", &maj, &min) != 2 || stat(mnt, &st) < 0) return 0;
  return major(st.st_dev) == maj && minor(st.st_dev) == min;
}

int oci_layout_parse(const char *mountinfo, int check, struct oci_layout *l) {
  memset(l, 0, sizeof(*l));
  char v2[OCI_PATH] = "";
  const char *line = mountinfo;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    size_t n = end ? (size_t)(end - line) : strlen(line);
    char buf[4096];
    if (n < sizeof(buf)) {
      memcpy(buf, line, n);
      buf[n] = 0;
      char *sep = strstr(buf, " - ");
      if (sep) {
        *sep = 0;
        char *f[6] = {0};
        int nf = 0;
        for (char *tok = strtok(buf, " "); tok && nf < 6; tok = strtok(NULL, " ")) f[nf++] = tok;
        char *fstype = strtok(sep + 3, " ");
        strtok(NULL, " "); /* source */
        char *super = strtok(NULL, " ");
        if (nf >= 5 && fstype) {
          unescape(f[4]);
          if (check && (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2")) && !reachable(f[2], f[4])) fstype = "";
          if (!strcmp(fstype, "cgroup2") && !v2[0]) snprintf(v2, sizeof(v2), "%s", f[4]);
          if (!strcmp(fstype, "cgroup") && super) {
            char opts[1024] = "";
            for (char *o = strtok(super, ","); o; o = strtok(NULL, ",")) {
              if (!strcmp(o, "rw") || !strcmp(o, "ro")) continue;
              if (strlen(opts) + strlen(o) + 2 < sizeof(opts)) {
                if (opts[0]) strcat(opts, ",");
                strcat(opts, o);
              }
              for (int c = 0; c < OCI_V1_N; c++)
                if (!strcmp(o, V1[c]) && !l->v1[c][0]) snprintf(l->v1[c], sizeof(l->v1[c]), "%s", f[4]);
            }
            for (int c = 0; c < OCI_V1_N; c++)
              if (!strcmp(l->v1[c], f[4])) snprintf(l->v1opts[c], sizeof(l->v1opts[c]), "%s", opts);
          }
        }
      }
    }
    line = end ? end + 1 : NULL;
  }
  if (l->v1[OCI_CPU][0] || l->v1[OCI_MEMORY][0]) l->version = 1;
  else if (v2[0]) {
    l->version = 2;
    snprintf(l->v2, sizeof(l->v2), "%s", v2);
  }
  return l->version;
}

const char *oci_v1_name(int c) {
  return V1[c];
}

/* A ".." part would name a cgroup outside the one meant (and, made, outside the hierarchy's tree). */
static int has_dotdot(const char *p) {
  for (const char *s = p; (s = strstr(s, "..")); s += 2)
    if ((s == p || s[-1] == '/') && (s[2] == 0 || s[2] == '/')) return 1;
  return 0;
}

int oci_cgroup_path(const char *cgroups_path, const char *id, int systemd, char *out, size_t n, struct oci_err *e) {
  const char *cp = cgroups_path ? cgroups_path : "";
  int colons = 0;
  for (const char *p = cp; *p; p++) colons += *p == ':';
  if (systemd || (cp[0] && cp[0] != '/' && colons == 2))
    return oci_fail(e, "config.json linux.cgroupsPath: \"%s\": the systemd cgroup driver is not supported (this host has no systemd); use cgroupfs paths", cp);
  char raw[OCI_PATH];
  if (!cp[0]) snprintf(raw, sizeof(raw), "/minipod-oci/%s", id);
  else if (cp[0] == '/') snprintf(raw, sizeof(raw), "%s", cp);
  else snprintf(raw, sizeof(raw), "/minipod-oci/%s", cp);
  if (has_dotdot(raw) || oci_abs(raw, out, n) < 0 || !strcmp(out, "/")) return oci_fail(e, "config.json linux.cgroupsPath: \"%s\" must name a cgroup below the root", cp);
  return 0;
}

int oci_cgroup_dirs(const struct oci_layout *l, const char *cg, struct oci_cgroup *out) {
  memset(out, 0, sizeof(*out));
  snprintf(out->path, sizeof(out->path), "%s", cg);
  if (l->version == 2) {
    snprintf(out->dirs[0], sizeof(out->dirs[0]), "%s%s", l->v2, cg);
    out->ndirs = 1;
    snprintf(out->freezer, sizeof(out->freezer), "%s", out->dirs[0]);
    out->freezer_v2 = 1;
    return 0;
  }
  for (int c = 0; c < OCI_V1_N; c++) {
    if (!l->v1[c][0]) continue;
    int seen = 0;
    for (int k = 0; k < c; k++) seen |= !strcmp(l->v1[k], l->v1[c]);
    if (!seen) snprintf(out->dirs[out->ndirs++], sizeof(out->dirs[0]), "%s%s", l->v1[c], cg);
  }
  if (l->v1[OCI_FREEZER][0]) snprintf(out->freezer, sizeof(out->freezer), "%s%s", l->v1[OCI_FREEZER], cg);
  return 0;
}


static int mkdir_p(const char *dir) {
  char p[OCI_PATH];
  snprintf(p, sizeof(p), "%s", dir);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
    *s = '/';
  }
  return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/* A whole number as JSON and cgroup files print it; doubles hold what configs write. */
static void whole(char *out, size_t n, double v) {
  if (v >= 9.2e18) snprintf(out, n, "%s", "9223372036854775807");
  else snprintf(out, n, "%lld", (long long)v);
}

/* runc's AllowedDevices, after the config's rules: mknod of any, the standard nodes, ptys, tun. */
static const char *const DEFAULT_ALLOWED[] = {"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm", NULL};

/* One device rule as the v1 file and the v2 program (native/shim/devices.c) take it. */
static int device_rule(const struct mp_json *d, int from_devices, char *out, size_t n, struct oci_err *e) {
  const char *type = mp_json_str(d, "type", "a"), *access = from_devices ? "rwm" : mp_json_str(d, "access", "rwm");
  if (from_devices && !strcmp(type, "u")) type = "c";
  if (strcmp(type, "a") && strcmp(type, "c") && strcmp(type, "b")) return oci_fail(e, "config.json linux.resources.devices: type \"%s\" is a, c or b", type);
  if (strspn(access, "rwm") != strlen(access) || !access[0]) return oci_fail(e, "config.json linux.resources.devices: access \"%s\" is made of r, w and m", access);
  const struct mp_json *maj = mp_json_get(d, "major"), *min = mp_json_get(d, "minor");
  char mj[24] = "*", mn[24] = "*";
  if (maj && maj->type == MP_JNUM && maj->num >= 0) snprintf(mj, sizeof(mj), "%lld", (long long)maj->num);
  if (min && min->type == MP_JNUM && min->num >= 0) snprintf(mn, sizeof(mn), "%lld", (long long)min->num);
  if (!strcmp(type, "a") && !strcmp(access, "rwm")) snprintf(out, n, "a");
  else if (!strcmp(type, "a")) snprintf(out, n, "a *:* %s", access);
  else snprintf(out, n, "%s %s:%s %s", type, mj, mn, access);
  return 0;
}

int oci_resource_writes(const struct oci_layout *l, const struct mp_json *r, const struct mp_json *extra_devices, struct oci_write *w, int max, struct oci_err *e) {
  int n = 0;
  int v2 = l->version == 2;
#define PUT(ctl, f, ...)                                                         \
  do {                                                                           \
    if (n == max) return oci_fail(e, "config.json linux.resources: too many settings"); \
    w[n].controller = (ctl);                                                     \
    snprintf(w[n].file, sizeof(w[n].file), "%s", (f));                           \
    snprintf(w[n].value, sizeof(w[n].value), __VA_ARGS__);                       \
    n++;                                                                         \
  } while (0)
  if (!r || r->type != MP_JOBJ) return 0;
  char a[32], b[32];
  const struct mp_json *cpu = mp_json_get(r, "cpu");
  if (cpu && cpu->type == MP_JOBJ) {
    const struct mp_json *shares = mp_json_get(cpu, "shares"), *quota = mp_json_get(cpu, "quota"), *period = mp_json_get(cpu, "period");
    if (shares && shares->type == MP_JNUM) {
      if (v2) {
        double wgt = 1 + floor(((shares->num - 2) * 9999) / 262142);
        PUT(OCI_CPU, "cpu.weight", "%d", (int)(wgt < 1 ? 1 : wgt > 10000 ? 10000 : wgt));
      } else {
        whole(a, sizeof(a), shares->num);
        PUT(OCI_CPU, "cpu.shares", "%s", a);
      }
    }
    if (period && period->type == MP_JNUM && !v2) {
      whole(a, sizeof(a), period->num);
      PUT(OCI_CPU, "cpu.cfs_period_us", "%s", a);
    }
    if (quota && quota->type == MP_JNUM) {
      whole(a, sizeof(a), quota->num);
      whole(b, sizeof(b), period && period->type == MP_JNUM ? period->num : 100000);
      if (v2) PUT(OCI_CPU, "cpu.max", "%s %s", quota->num > 0 ? a : "max", b);
      else PUT(OCI_CPU, "cpu.cfs_quota_us", "%s", a);
    }
  }
  const struct mp_json *mem = mp_json_get(r, "memory");
  if (mem && mem->type == MP_JOBJ) {
    const struct mp_json *limit = mp_json_get(mem, "limit"), *swap = mp_json_get(mem, "swap");
    if (limit && limit->type == MP_JNUM) {
      whole(a, sizeof(a), limit->num);
      PUT(OCI_MEMORY, v2 ? "memory.max" : "memory.limit_in_bytes", "%s", limit->num > 0 ? a : v2 ? "max" : "-1");
    }
    if (swap && swap->type == MP_JNUM && swap->num != 0) {
      if (v2) {
        double lim = limit && limit->type == MP_JNUM ? limit->num : 0;
        whole(a, sizeof(a), swap->num - lim > 0 ? swap->num - lim : 0);
        PUT(OCI_MEMORY, "memory.swap.max", "%s", swap->num > 0 && lim ? a : "max");
      } else {
        whole(a, sizeof(a), swap->num);
        PUT(OCI_MEMORY, "memory.memsw.limit_in_bytes", "%s", a);
      }
    }
  }
  if (mem && mem->type == MP_JOBJ) {
    const struct mp_json *resv = mp_json_get(mem, "reservation"), *kern = mp_json_get(mem, "kernel"), *tcp = mp_json_get(mem, "kernelTCP");
    const struct mp_json *swp = mp_json_get(mem, "swappiness"), *oom = mp_json_get(mem, "disableOOMKiller");
    if (resv && resv->type == MP_JNUM) {
      whole(a, sizeof(a), resv->num);
      PUT(OCI_MEMORY, v2 ? "memory.low" : "memory.soft_limit_in_bytes", "%s", resv->num > 0 ? a : v2 ? "0" : "-1");
    }
    /* Kernel memory limits are v1 only, and gone from newer kernels: written where the file is. */
    if (!v2 && kern && kern->type == MP_JNUM) { whole(a, sizeof(a), kern->num); PUT(OCI_MEMORY, "memory.kmem.limit_in_bytes", "%s", a); }
    if (!v2 && tcp && tcp->type == MP_JNUM) { whole(a, sizeof(a), tcp->num); PUT(OCI_MEMORY, "memory.kmem.tcp.limit_in_bytes", "%s", a); }
    if (!v2 && swp && swp->type == MP_JNUM) {
      if (swp->num < 0 || swp->num > 100) return oci_fail(e, "config.json linux.resources.memory.swappiness: %g is not 0..100", swp->num);
      PUT(OCI_MEMORY, "memory.swappiness", "%d", (int)swp->num);
    }
    if (!v2 && oom && oom->type == MP_JBOOL && oom->boolean) PUT(OCI_MEMORY, "memory.oom_control", "1");
  }
  if (cpu && cpu->type == MP_JOBJ) {
    const struct mp_json *rtp = mp_json_get(cpu, "realtimePeriod"), *rtr = mp_json_get(cpu, "realtimeRuntime");
    const struct mp_json *cpus = mp_json_get(cpu, "cpus"), *mems = mp_json_get(cpu, "mems");
    /* the period first: the kernel checks the runtime against it */
    if (!v2 && rtp && rtp->type == MP_JNUM) { whole(a, sizeof(a), rtp->num); PUT(OCI_CPU, "cpu.rt_period_us", "%s", a); }
    if (!v2 && rtr && rtr->type == MP_JNUM) { whole(a, sizeof(a), rtr->num); PUT(OCI_CPU, "cpu.rt_runtime_us", "%s", a); }
    if (cpus && cpus->type == MP_JSTR && cpus->len) PUT(OCI_CPUSET, "cpuset.cpus", "%s", cpus->str);
    if (mems && mems->type == MP_JSTR && mems->len) PUT(OCI_CPUSET, "cpuset.mems", "%s", mems->str);
  }
  const struct mp_json *huge = mp_json_get(r, "hugepageLimits");
  for (const struct mp_json *h = huge && huge->type == MP_JARR ? huge->child : NULL; h; h = h->next) {
    const char *size = mp_json_str(h, "pageSize", "");
    const struct mp_json *limit = mp_json_get(h, "limit");
    if (!size[0] || strspn(size, "0123456789KMGB") != strlen(size) || !limit || limit->type != MP_JNUM)
      return oci_fail(e, "config.json linux.resources.hugepageLimits: needs a pageSize such as 2MB and a limit");
    char f[64];
    snprintf(f, sizeof(f), v2 ? "hugetlb.%s.max" : "hugetlb.%s.limit_in_bytes", size);
    whole(a, sizeof(a), limit->num);
    PUT(OCI_HUGETLB, f, "%s", a);
  }
  const struct mp_json *bio = mp_json_get(r, "blockIO");
  if (bio && bio->type == MP_JOBJ) {
    static const char *const THROTTLE[][2] = {{"throttleReadBpsDevice", "blkio.throttle.read_bps_device"}, {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
                                              {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"}, {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"}};
    const struct mp_json *weight = mp_json_get(bio, "weight");
    if (weight && weight->type == MP_JNUM) PUT(OCI_BLKIO, v2 ? "io.weight" : "blkio.weight", "%d", (int)weight->num);
    for (int k = 0; k < 4; k++) {
      const struct mp_json *l = mp_json_get(bio, THROTTLE[k][0]);
      for (const struct mp_json *d = l && l->type == MP_JARR ? l->child : NULL; d; d = d->next) {
        if (v2) return oci_fail(e, "config.json linux.resources.blockIO.%s: not written on cgroup v2 yet", THROTTLE[k][0]);
        PUT(OCI_BLKIO, THROTTLE[k][1], "%d:%d %lld", (int)mp_json_num(d, "major", 0), (int)mp_json_num(d, "minor", 0), (long long)mp_json_num(d, "rate", 0));
      }
    }
  }
  /* Network classes: v1 only (cgroup v2 has no net_cls or net_prio files). */
  const struct mp_json *net = mp_json_get(r, "network");
  if (net && net->type == MP_JOBJ) {
    const struct mp_json *cls = mp_json_get(net, "classID"), *prios = mp_json_get(net, "priorities");
    if (v2 && ((cls && cls->type == MP_JNUM) || (prios && prios->type == MP_JARR && prios->child)))
      return oci_fail(e, "config.json linux.resources.network: net_cls and net_prio are cgroup v1 controllers; this host is v2");
    if (cls && cls->type == MP_JNUM) PUT(OCI_NET_CLS, "net_cls.classid", "%lld", (long long)cls->num);
    int k = 0;
    for (const struct mp_json *pr = prios && prios->type == MP_JARR ? prios->child : NULL; pr; pr = pr->next, k++) {
      const char *name = mp_json_str(pr, "name", "");
      const struct mp_json *prio = mp_json_get(pr, "priority");
      /* an interface name: never a second line or a second field in ifpriomap */
      if (!name[0] || strlen(name) > 15 || strcspn(name, " \t\n/") != strlen(name) || !prio || prio->type != MP_JNUM || prio->num < 0)
        return oci_fail(e, "config.json linux.resources.network.priorities[%d]: needs an interface name and a priority", k);
      PUT(OCI_NET_PRIO, "net_prio.ifpriomap", "%s %lld", name, (long long)prio->num);
    }
  }
  const struct mp_json *pids = mp_json_get(r, "pids");
  if (pids && pids->type == MP_JOBJ) {
    const struct mp_json *limit = mp_json_get(pids, "limit");
    if (limit && limit->type == MP_JNUM) {
      whole(a, sizeof(a), limit->num);
      PUT(OCI_PIDS, "pids.max", "%s", limit->num > 0 ? a : "max");
    }
  }
  const struct mp_json *devs = mp_json_get(r, "devices");
  if (!v2 && devs && devs->type == MP_JARR && devs->len > 0) {
    for (int pass = 0; pass < 2; pass++) {
      const struct mp_json *list = pass ? extra_devices : devs;
      for (const struct mp_json *d = list && list->type == MP_JARR ? list->child : NULL; d; d = d->next) {
        /* linux.devices, made in the container: allowed (u is c; p needs no rule) */
        if (pass && !strcmp(mp_json_str(d, "type", ""), "p")) continue;
        char rule[128];
        if (device_rule(d, pass, rule, sizeof(rule), e) < 0) return -1;
        PUT(OCI_DEVICES, pass || mp_json_bool(d, "allow", 0) ? "devices.allow" : "devices.deny", "%s", rule);
      }
    }
    for (int i = 0; DEFAULT_ALLOWED[i]; i++) PUT(OCI_DEVICES, "devices.allow", "%s", DEFAULT_ALLOWED[i]);
  }
  const struct mp_json *unified = mp_json_get(r, "unified");
  for (const struct mp_json *u = unified && unified->type == MP_JOBJ ? unified->child : NULL; u; u = u->next) {
    if (!v2) return oci_fail(e, "config.json linux.resources.unified: needs a cgroup v2 host");
    if (strchr(u->key, '/') || u->key[0] == '.' || !u->key[0]) return oci_fail(e, "config.json linux.resources.unified: \"%s\" is not a cgroup file name", u->key);
    if (u->type != MP_JSTR) return oci_fail(e, "config.json linux.resources.unified.%s: must be a string", u->key);
    PUT(OCI_UNIFIED, u->key, "%s", u->str);
  }
#undef PUT
  return n;
}

int oci_v2_devices(const struct mp_json *r, const struct mp_json *extra, struct jw *list, struct oci_err *e) {
  const struct mp_json *devs = r && r->type == MP_JOBJ ? mp_json_get(r, "devices") : NULL;
  if (!devs || devs->type != MP_JARR || !devs->len) return 0;
  char rule[128];
  int i = 0, deny_all = 0;
  /* First every rule checked: a deny after the first rule cannot be an allow list (fail closed). */
  for (const struct mp_json *d = devs->child; d; d = d->next, i++) {
    if (device_rule(d, 0, rule, sizeof(rule), e) < 0) return -1;
    if (!mp_json_bool(d, "allow", 0) && (i || strcmp(rule, "a")))
      return oci_fail(e, "config.json linux.resources.devices[%d]: on cgroup v2 a deny rule is taken only first and for every device (\"a\", rwm)", i);
  }
  i = 0;
  JW_LIT(list, "[");
  for (const struct mp_json *d = devs->child; d; d = d->next, i++) {
    if (device_rule(d, 0, rule, sizeof(rule), e) < 0) return -1;
    if (!mp_json_bool(d, "allow", 0)) { /* v2 has an allow list only: the first rule, denying everything */
      deny_all = 1;
      continue;
    }
    if (!deny_all || !strcmp(rule, "a")) return 0; /* everything allowed: no program */
    if (list->len > 1) JW_LIT(list, ",");
    jw_str(list, rule);
  }
  if (!deny_all) return 0;
  for (const struct mp_json *d = extra && extra->type == MP_JARR ? extra->child : NULL; d; d = d->next) {
    if (!strcmp(mp_json_str(d, "type", ""), "p")) continue;
    if (device_rule(d, 1, rule, sizeof(rule), e) < 0) return -1;
    if (list->len > 1) JW_LIT(list, ",");
    jw_str(list, rule);
  }
  for (int k = 0; DEFAULT_ALLOWED[k]; k++) {
    if (list->len > 1) JW_LIT(list, ",");
    jw_str(list, DEFAULT_ALLOWED[k]);
  }
  JW_LIT(list, "]");
  return 1;
}

int oci_apply_writes(const struct oci_layout *l, const struct oci_cgroup *cg, const struct oci_write *w, int n, int must_exist, void (*warn)(const char *), struct oci_err *e) {
  for (int i = 0; i < n; i++) {
    char dir[OCI_PATH];
    if (l->version == 2) snprintf(dir, sizeof(dir), "%s", cg->dirs[0]);
    else if (w[i].controller < OCI_V1_N && l->v1[w[i].controller][0]) snprintf(dir, sizeof(dir), "%s%s", l->v1[w[i].controller], cg->path);
    else {
      /* a controller this host does not have mounted: said, not silently dropped */
      char m[600];
      snprintf(m, sizeof(m), "config.json linux.resources: %s not written: this host has no %s hierarchy mounted", w[i].file, w[i].controller < OCI_V1_N ? V1[w[i].controller] : "unified");
      if (warn) warn(m);
      continue;
    }
    char file[OCI_PATH + 300];
    snprintf(file, sizeof(file), "%s/%s", dir, w[i].file);
    if (access(file, F_OK) < 0) {
      /* no swap accounting here; no kernel memory limits in this kernel */
      if (!strncmp(w[i].file, "memory.memsw", 12) || !strcmp(w[i].file, "memory.swap.max") || !strncmp(w[i].file, "memory.kmem.", 12) || !must_exist) continue;
      return oci_fail(e, "config.json linux.resources: %s does not exist on this host", file);
    }
    if (write_small(file, w[i].value) < 0 && !(errno == EOPNOTSUPP && !strncmp(w[i].file, "memory.kmem.", 12))) return oci_fail(e, "config.json linux.resources: write \"%s\" to %s: %s", w[i].value, file, strerror(errno));
  }
  return 0;
}

/* The v2 controller a write needs ("cpu", "memory", ..., a unified file's prefix). */
static void v2_controller(const struct oci_write *w, char *out, size_t n) {
  static const char *const names[] = {"cpu", "cpu", "memory", "pids", "", "", "cpuset", "hugetlb", "io", "", ""};
  if (w->controller < OCI_V1_N) snprintf(out, n, "%s", names[w->controller]);
  else snprintf(out, n, "%.*s", (int)strcspn(w->file, "."), w->file);
}

int oci_cgroup_make(const struct oci_layout *l, const struct oci_cgroup *cg, const struct oci_write *w, int nw, struct oci_err *e) {
  if (l->version == 2) {
    /* The controllers the writes need, enabled on the way down (v2 delegation), and no other:
     * a parent's subtree_control is the host's to keep as it is. */
    char at[OCI_PATH];
    snprintf(at, sizeof(at), "%s", l->v2);
    for (const char *p = cg->path; *p;) {
      while (*p == '/') p++;
      if (!*p) break;
      const char *q = strchr(p, '/');
      size_t len = q ? (size_t)(q - p) : strlen(p);
      char file[OCI_PATH + 32], ctrls[1024], en[2048] = "";
      snprintf(file, sizeof(file), "%s/cgroup.controllers", at);
      int fd = open(file, O_RDONLY | O_CLOEXEC);
      ssize_t r = fd >= 0 ? read(fd, ctrls, sizeof(ctrls) - 1) : -1;
      if (fd >= 0) close(fd);
      if (r > 0) {
        ctrls[r] = 0;
        for (char *c = strtok(ctrls, " \n"); c; c = strtok(NULL, " \n")) {
          int needed = 0;
          for (int i = 0; i < nw && !needed; i++) {
            char name[64];
            v2_controller(&w[i], name, sizeof(name));
            needed = !strcmp(name, c);
          }
          if (needed && strlen(en) + strlen(c) + 3 < sizeof(en)) { if (en[0]) strcat(en, " "); strcat(en, "+"); strcat(en, c); }
        }
        snprintf(file, sizeof(file), "%s/cgroup.subtree_control", at);
        if (en[0]) write_small(file, en); /* a parent with processes of its own cannot delegate: limits there stay unset */
      }
      size_t al = strlen(at);
      if (al + len + 2 >= sizeof(at)) return oci_fail(e, "cgroup path too long");
      at[al] = '/';
      memcpy(at + al + 1, p, len);
      at[al + 1 + len] = 0;
      if (mkdir(at, 0755) < 0 && errno != EEXIST) return oci_fail(e, "mkdir %s: %s", at, strerror(errno));
      p += len;
    }
    return 0;
  }
  for (int i = 0; i < cg->ndirs; i++)
    if (mkdir_p(cg->dirs[i]) < 0) return oci_fail(e, "mkdir %s: %s", cg->dirs[i], strerror(errno));
  /* A new v1 cpuset has no cpus and no mems, and no process can join it: each level made gets
   * its parent's (as runc does), top down. */
  if (l->v1[OCI_CPUSET][0]) {
    char at[OCI_PATH];
    snprintf(at, sizeof(at), "%s", l->v1[OCI_CPUSET]);
    for (const char *p = cg->path; *p;) {
      while (*p == '/') p++;
      if (!*p) break;
      const char *q = strchr(p, '/');
      size_t len = q ? (size_t)(q - p) : strlen(p), al = strlen(at);
      if (al + len + 2 >= sizeof(at)) break;
      char parent[OCI_PATH];
      snprintf(parent, sizeof(parent), "%s", at);
      at[al] = '/';
      memcpy(at + al + 1, p, len);
      at[al + 1 + len] = 0;
      const char *files[2] = {"cpuset.cpus", "cpuset.mems"};
      for (int k = 0; k < 2; k++) {
        char mine[OCI_PATH + 16], theirs[OCI_PATH + 16], v[4096];
        snprintf(mine, sizeof(mine), "%s/%s", at, files[k]);
        snprintf(theirs, sizeof(theirs), "%s/%s", parent, files[k]);
        if (read_small(mine, v, sizeof(v)) > 0 && v[0] != '\n') continue;
        if (read_small(theirs, v, sizeof(v)) > 0 && write_small(mine, v) < 0) return oci_fail(e, "write %s: %s", mine, strerror(errno));
      }
      p += len;
    }
  }
  return 0;
}

int oci_cgroup_remove_dirs(const char *path, const char *const *dirs, int n) {
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if (rmdir(dirs[i]) < 0 && errno != ENOENT) { rc = -1; continue; }
    if (!path || strncmp(path, "/minipod-oci/", 13) != 0) continue;
    /* The default parent (/minipod-oci, made by create) goes too once no container is left in it. */
    int levels = 0;
    for (const char *p = path + 1; *p; p++) levels += *p == '/';
    char up[OCI_PATH];
    snprintf(up, sizeof(up), "%s", dirs[i]);
    for (; levels > 0; levels--) {
      char *slash = strrchr(up, '/');
      if (!slash || slash == up) break;
      *slash = 0;
      if (rmdir(up) < 0) break; /* another container's, or gone */
    }
  }
  return rc;
}
