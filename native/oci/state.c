/* A container's state as minipod-oci keeps it (written by src/oci/state.ts at create) and
 * what is derived from it: the status, from the init's pid and start time (a pid reused by
 * another process never passes for the init, as crun's status.c checks it), the OCI state
 * JSON, the cgroup's pids, hooks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../shim/shim.h"
#include "oci.h"

int oci_fail(struct oci_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
  va_end(ap);
  return -1;
}

/* runc's rule (and src/oci/state.ts's): letters, digits, '_', '.', '+', '-', not starting
 * with a separator, so that an id never names a path outside ROOT. */
int oci_check_id(const char *id, struct oci_err *e) {
  size_t n = strlen(id);
  int ok = n > 0 && n <= 1024;
  for (size_t i = 0; ok && i < n; i++) {
    char c = id[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || (i > 0 && (c == '_' || c == '.' || c == '+' || c == '-'));
  }
  return ok ? 0 : oci_fail(e, "invalid container id \"%s\": letters, digits, '_', '.', '+' and '-' only", id);
}

char *oci_slurp(const char *file, size_t *len) {
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return NULL;
  size_t cap = 8192, n = 0;
  char *b = malloc(cap);
  for (;;) {
    if (!b) { close(fd); errno = ENOMEM; return NULL; }
    ssize_t r = read(fd, b + n, cap - n - 1);
    if (r < 0) { int err = errno; free(b); close(fd); errno = err; return NULL; }
    if (r == 0) break;
    n += (size_t)r;
    if (cap - n < 2) {
      char *nb = cap > (64u << 20) ? NULL : realloc(b, cap *= 2);
      if (!nb) { free(b); close(fd); errno = EFBIG; return NULL; }
      b = nb;
    }
  }
  close(fd);
  b[n] = 0;
  if (len) *len = n;
  return b;
}

int oci_state_load(const char *root, const char *id, struct oci_state *s, struct oci_err *e) {
  memset(s, 0, sizeof(*s));
  if (oci_check_id(id, e) < 0) return -1;
  char file[4200];
  snprintf(file, sizeof(file), "%s/%s/state.json", root, id);
  size_t len;
  char *text = oci_slurp(file, &len);
  if (!text) {
    if (errno == ENOENT || errno == ENOTDIR) return oci_fail(e, "container \"%s\" does not exist", id);
    return oci_fail(e, "read %s: %s", file, strerror(errno));
  }
  char jerr[256];
  const struct mp_json *j = mp_json_parse(&s->arena, text, len, jerr, sizeof(jerr));
  free(text);
  if (!j || j->type != MP_JOBJ) return oci_fail(e, "%s: %s", file, j ? "not an object" : jerr);
  s->root = j;
  s->id = mp_json_str(j, "id", id);
  s->bundle = mp_json_str(j, "bundle", "");
  s->created = mp_json_str(j, "created", "");
  double pid = mp_json_num(j, "pid", 0), start = mp_json_num(j, "start", 0);
  if (pid < 0 || pid > 4194304 || start < 0) return oci_fail(e, "%s: bad pid or start time", file);
  s->pid = (pid_t)pid;
  s->start = (unsigned long long)start;
  const struct mp_json *cg = mp_json_get(j, "cgroup");
  if (cg && cg->type == MP_JOBJ) {
    s->cgroup_path = mp_json_str(cg, "path", NULL);
    const struct mp_json *dirs = mp_json_get(cg, "dirs");
    for (const struct mp_json *d = dirs && dirs->type == MP_JARR ? dirs->child : NULL; d && s->ndirs < OCI_MAX_DIRS; d = d->next)
      if (d->type == MP_JSTR && d->str[0] == '/') s->dirs[s->ndirs++] = d->str;
  }
  const struct mp_json *fz = mp_json_get(j, "freezer");
  if (fz && fz->type == MP_JOBJ) {
    s->freezer_dir = mp_json_str(fz, "dir", NULL);
    s->freezer_v2 = mp_json_bool(fz, "v2", 0);
  }
  return 0;
}

void oci_state_free(struct oci_state *s) {
  mp_arena_free(&s->arena);
}

unsigned long long oci_start_time(pid_t pid) {
  if (pid <= 0) return 0;
  char file[64], buf[1024];
  snprintf(file, sizeof(file), "/proc/%d/stat", (int)pid);
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  /* The command name may hold spaces and parentheses: fields are counted after the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ') return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') return 0; /* ended */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p) return 0;
    p++;
  }
  return strtoull(p, NULL, 10);
}

int oci_init_alive(const struct oci_state *s) {
  return s->pid > 0 && oci_start_time(s->pid) == s->start;
}

int oci_frozen(const struct oci_state *s) {
  if (!s->freezer_dir) return 0;
  char file[4200];
  snprintf(file, sizeof(file), "%s/%s", s->freezer_dir, s->freezer_v2 ? "cgroup.events" : "freezer.state");
  char *t = oci_slurp(file, NULL);
  if (!t) return 0;
  int frozen = s->freezer_v2 ? (strncmp(t, "frozen 1", 8) == 0 || strstr(t, "\nfrozen 1") != NULL) : strncmp(t, "FROZEN", 6) == 0;
  free(t);
  return frozen;
}

enum oci_status oci_status(const char *root, const struct oci_state *s) {
  if (!oci_init_alive(s)) return OCI_STOPPED;
  char fifo[4200];
  struct stat st;
  snprintf(fifo, sizeof(fifo), "%s/%s/exec.fifo", root, s->id);
  if (lstat(fifo, &st) == 0) return OCI_CREATED; /* start removes it */
  return oci_frozen(s) ? OCI_PAUSED : OCI_RUNNING;
}

const char *oci_status_name(enum oci_status st) {
  static const char *names[] = {"created", "running", "paused", "stopped"};
  return names[st];
}

char *oci_state_json(const struct oci_state *s, enum oci_status st) {
  struct jw w = {0};
  JW_LIT(&w, "{\n  \"ociVersion\": \"" OCI_VERSION "\",\n  \"id\": ");
  jw_str(&w, s->id);
  jw_putf(&w, ",\n  \"status\": \"%s\",\n  \"pid\": %d,\n  \"bundle\": ", oci_status_name(st), st == OCI_STOPPED ? 0 : (int)s->pid);
  jw_str(&w, s->bundle);
  JW_LIT(&w, ",\n  \"annotations\": ");
  const struct mp_json *a = mp_json_get(s->root, "annotations");
  if (a && a->type == MP_JOBJ) jw_node(&w, a);
  else JW_LIT(&w, "{}");
  JW_LIT(&w, ",\n  \"created\": ");
  jw_str(&w, s->created);
  JW_LIT(&w, "\n}");
  if (w.oom) { free(w.b); return NULL; }
  return w.b;
}

int oci_cgroup_pids(const struct oci_state *s, pid_t *out, int max) {
  if (!s->ndirs) return 0;
  char file[4200];
  snprintf(file, sizeof(file), "%s/cgroup.procs", s->dirs[0]);
  char *t = oci_slurp(file, NULL);
  if (!t) return 0;
  int n = 0;
  for (char *p = t; *p && n < max;) {
    char *end;
    long v = strtol(p, &end, 10);
    if (end == p) break;
    if (v > 0) out[n++] = (pid_t)v;
    p = end;
    while (*p == '\n') p++;
  }
  free(t);
  return n;
}

static const char *const SIGNALS[] = {NULL, "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS"};

int oci_signal_number(const char *s) {
  if (s[0] >= '0' && s[0] <= '9') {
    char *end;
    long n = strtol(s, &end, 10);
    return *end == 0 && n > 0 && n < 65 ? (int)n : -1;
  }
  const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
  for (int i = 1; i < (int)(sizeof(SIGNALS) / sizeof(SIGNALS[0])); i++)
    if (strcasecmp(name, SIGNALS[i]) == 0) return i;
  return -1;
}

int oci_remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    char p[4200];
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR) oci_remove_dir(p);
  }
  closedir(d);
  return rmdir(dir);
}

/* The host's LSMs, comma-separated: securityfs's list, else what /sys/module shows. */
void oci_host_lsms(char *out, size_t n) {
  char *t = oci_slurp("/sys/kernel/security/lsm", NULL);
  if (t) {
    t[strcspn(t, "\n")] = 0;
    snprintf(out, n, "%s", t);
    free(t);
    return;
  }
  out[0] = 0;
  if (access("/sys/module/apparmor", F_OK) == 0) snprintf(out, n, "apparmor");
  if (access("/sys/module/selinux", F_OK) == 0) snprintf(out + strlen(out), n - strlen(out), "%sselinux", out[0] ? "," : "");
}

long long oci_mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
