/* The pod's cgroups: made by the supervisor before pause starts, from the plan's
 * pod.cgroups.ops (src/cgroups/plan.ts), each "pod" directory journaled before it is made;
 * what a container leaves behind is killed through its cgroup; OOM kills are read there.
 *
 *   {"op": "cgroup", "path": DIR, "create": "parent"|"pod", "set": [{file, value, optional}]}
 *
 * "parent": made when missing, shared, never removed. "pod": made fresh (one that exists is
 * refused: it would hold something else), removed when the pod is undone. v2 ops may carry
 * "devices": the allow list, attached as a BPF_CGROUP_DEVICE program (devices.c). Settings are
 * written in order (v1 memsw after the memory limit; devices.deny "a" before the allow list).
 * Killing through a cgroup: v2 writes cgroup.kill; v1 freezes it (freezer.state) so nothing
 * in it can fork meanwhile, SIGKILLs every pid of cgroup.procs through a pidfd (a pid still
 * listed after its pidfd was opened is that process), and thaws it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

static int sane_dir(const char *s) {
  return s && s[0] == '/' && !strstr(s, "/../") && !strstr(s, "/./") && strlen(s) < 3800 && !strchr(s, '\n');
}

static int sane_file(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (const char *c = s; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_')) return 0;
  return 1;
}

int cgroups_decode(struct mp_arena *a, const struct mp_json *cg, struct cg_ops *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  if (!cg) return 0;
  const struct mp_json *ops = mp_json_get(cg, "ops");
  if (!ops || ops->type != MP_JARR) { snprintf(err, n, "plan: cgroups.ops must be a list"); return -1; }
  out->v = mp_arena_alloc(a, (ops->len ? ops->len : 1) * sizeof *out->v);
  if (!out->v) { snprintf(err, n, "plan: out of memory"); return -1; }
  int i = 0;
  for (const struct mp_json *o = ops->child; o; o = o->next, i++) {
    struct cg_op *c = &out->v[i];
    const char *create = mp_json_str(o, "create", "");
    c->path = mp_json_str(o, "path", NULL);
    c->set = mp_json_get(o, "set");
    c->devices = mp_json_get(o, "devices");
    if (c->devices && c->devices->type != MP_JARR) { snprintf(err, n, "plan: cgroups.ops[%d]: devices must be a list", i); return -1; }
    if (strcmp(mp_json_str(o, "op", ""), "cgroup")) { snprintf(err, n, "plan: cgroups.ops[%d]: unknown op", i); return -1; }
    if (!sane_dir(c->path)) { snprintf(err, n, "plan: cgroups.ops[%d]: path must be an absolute directory", i); return -1; }
    if (strcmp(create, "parent") && strcmp(create, "pod")) { snprintf(err, n, "plan: cgroups.ops[%d]: create must be \"parent\" or \"pod\"", i); return -1; }
    c->own = !strcmp(create, "pod");
    if (!c->set || c->set->type != MP_JARR) { snprintf(err, n, "plan: cgroups.ops[%d]: set must be a list", i); return -1; }
    for (const struct mp_json *s = c->set->child; s; s = s->next)
      if (!sane_file(mp_json_str(s, "file", NULL)) || !mp_json_str(s, "value", NULL)) {
        snprintf(err, n, "plan: cgroups.ops[%d]: every setting needs a plain file name and a value", i);
        return -1;
      }
  }
  out->n = i;
  out->version = (int)mp_json_num(cg, "version", 1);
  return 0;
}

static int write_file(const char *dir, const char *file, const char *value) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  return write_small(path, value);
}

int cgroups_setup(struct pod *p, struct mp_error *e) {
  /* Every directory of the pod journaled at once, in order, before any is made: one state
   * write instead of one per directory (the unwind tolerates those never made). */
  memset(e, 0, sizeof *e);
  int first = -1;
  for (int i = 0; i < p->cg.n; i++) {
    if (!p->cg.v[i].own) continue;
    if (first < 0) first = i;
    if (journal_add(&p->journal, J_CGROUP, p->cg.v[i].path, NULL) < 0) {
      snprintf(e->step, sizeof e->step, "cgroups[%d]", i);
      snprintf(e->syscall, sizeof e->syscall, "journal");
      e->err = ENOMEM;
      return -1;
    }
  }
  if (first >= 0) state_write(p);
  for (int i = 0; i < p->cg.n; i++) {
    const struct cg_op *o = &p->cg.v[i];
    memset(e, 0, sizeof *e);
    snprintf(e->step, sizeof e->step, "cgroups[%d]", i);
    snprintf(e->path, sizeof e->path, "%s", o->path);
    if (mkdir(o->path, 0755) < 0 && (o->own || errno != EEXIST)) {
      snprintf(e->syscall, sizeof e->syscall, "mkdir");
      e->err = errno;
      if (errno == EEXIST) snprintf(e->detail, sizeof e->detail, "the pod's cgroup exists already");
      return -1;
    }
    for (const struct mp_json *s = o->set->child; s; s = s->next) {
      const char *file = mp_json_str(s, "file", ""), *value = mp_json_str(s, "value", "");
      if (write_file(o->path, file, value) == 0) continue;
      if (errno == ENOENT && mp_json_bool(s, "optional", 0)) continue;
      snprintf(e->syscall, sizeof e->syscall, "write");
      snprintf(e->path, sizeof e->path, "%s/%s", o->path, file);
      snprintf(e->detail, sizeof e->detail, "\"%s\"", value);
      e->err = errno;
      return -1;
    }
    if (o->devices) {
      char derr[sizeof e->detail];
      if (cgroup_devices_attach(o->path, o->devices, derr, sizeof derr) < 0) {
        snprintf(e->syscall, sizeof e->syscall, "bpf");
        snprintf(e->detail, sizeof e->detail, "%s", derr);
        e->err = EPERM;
        return -1;
      }
    }
  }
  return 0;
}

/* The pids of dir/cgroup.procs into out (at most max); their count, or -1. */
static int read_pids(const char *dir, pid_t *out, int max) {
  char path[4200], buf[65536];
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t len = 0, r;
  while (len < (ssize_t)sizeof buf - 1 && (r = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0) len += r;
  close(fd);
  buf[len] = 0;
  int n = 0;
  for (char *s = buf, *end; *s && n < max; s = end) {
    long v = strtol(s, &end, 10);
    if (end == s) break;
    if (v > 0) out[n++] = (pid_t)v;
  }
  return n;
}

static int freezer_state(const char *dir, const char *want) {
  char path[4200], buf[32];
  snprintf(path, sizeof path, "%s/freezer.state", dir);
  ssize_t n = read_small(path, buf, sizeof buf);
  if (n < 0) return -1;
  return n > 0 && !strncmp(buf, want, strlen(want));
}

/* SIGKILLs what cgroup.procs lists, each through a pidfd that is kept only if its pid is
 * still listed once the pidfd is open. The count found. */
static int kill_listed(const char *dir) {
  static pid_t a[4096], b[4096];
  static int fds[4096];
  int n = read_pids(dir, a, 4096);
  if (n <= 0) return n < 0 ? 0 : 0;
  for (int i = 0; i < n; i++) fds[i] = (int)syscall(SYS_pidfd_open, a[i], 0);
  int m = read_pids(dir, b, 4096);
  for (int i = 0; i < n; i++) {
    if (fds[i] < 0) continue;
    for (int k = 0; k < m; k++)
      if (b[k] == a[i]) { syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0); break; }
    close(fds[i]);
  }
  return n;
}

static void nap(void) {
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
}

int cgroup_kill(int version, const char *dir, const char *freezer) {
  pid_t one[1];
  if (read_pids(dir, one, 1) <= 0) return 0; /* empty, or gone */
  int found = 0;
  if (version == 2 && write_file(dir, "cgroup.kill", "1") == 0) {
    found = 1;
  } else if (freezer && write_file(freezer, "freezer.state", "FROZEN") == 0) {
    for (int64_t until = now_ms() + 1000; freezer_state(freezer, "FROZEN") == 0 && now_ms() < until;) nap();
    found = kill_listed(freezer);
    write_file(freezer, "freezer.state", "THAWED"); /* a SIGKILLed frozen task dies once thawed */
  }
  for (int64_t until = now_ms() + 5000; now_ms() < until;) {
    int k = kill_listed(dir);
    if (!k) return found;
    found = found > k ? found : k;
    nap();
  }
  errno = EBUSY;
  return -1;
}

/* The kernel's count of OOM kills in a memory cgroup: v2 memory.events, v1 memory.oom_control
 * ("oom_kill N", Linux 4.13+). -1 when it cannot be read. */
long cgroup_oom_kills(int version, const char *memdir) {
  if (!memdir) return -1;
  char path[4200], buf[1024];
  snprintf(path, sizeof path, "%s/%s", memdir, version == 2 ? "memory.events" : "memory.oom_control");
  if (read_small(path, buf, sizeof buf) <= 0) return -1;
  for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, "oom_kill ", 9)) return strtol(l + 9, NULL, 10);
  return -1;
}

void ctr_cgroup_mark(struct ctr *c) {
  c->oom_base = cgroup_oom_kills(c->cg_version, c->cg_memory);
}

int ctr_oom_killed(struct pod *p, struct ctr *c) {
  (void)p;
  long now = cgroup_oom_kills(c->cg_version, c->cg_memory);
  return c->oom_base >= 0 && now > c->oom_base;
}

void ctr_cgroup_kill(struct pod *p, struct ctr *c) {
  if (!c->cg_dir) return;
  int n = cgroup_kill(c->cg_version, c->cg_dir, c->cg_freezer);
  if (n > 0) logmsg(p, "[%s] killed what was left in its cgroup", c->name);
  else if (n < 0) logmsg(p, "[%s] processes of its cgroup %s did not die in 5 s", c->name, c->cg_dir);
}
