/* Undoing a pod on the host: its processes, then its journal last entry first, then what
 * is still mounted under its directories, then the directories (all of them, or all but
 * the files `ps -a` and `logs` read).
 *
 * Two callers, one code: the supervisor when its pod has ended (no other process is
 * started for it, except one `nft` when the pod published ports), and
 * `minipod-shim --unwind keep|remove RUN_DIR LIB_DIR` for a pod whose supervisor died
 * (SIGKILL, a crash): `minipod gc`, `rm`, and a name that is reused. The supervisor takes
 * the pod's lock (RUN/locks/NAME.lock, the flock TypeScript's withPodLock takes too); the
 * --unwind mode runs under the lock its caller already holds.
 *
 * The pod's processes are found by its IPC namespace, which every one of them shares with
 * pause: through the pin (a bind mount of that namespace at RUN_DIR/ipc.ns, so its inode
 * cannot be handed to another namespace), or through pause itself while pause (the same
 * pid and start time) lives. When some process will not die, nothing else is undone: a
 * survivor could still use what would be removed; a later gc tries again. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "../net/hostops.h"
#include "../net/nl.h"
#include "shim.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* What was undone. The --unwind mode prints it on stdout (gc shows it); a supervisor logs
 * it, except to the terminal of a foreground run, which hears only about problems. */
static void say(struct pod *p, int problem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct pod *p, int problem, const char *fmt, ...) {
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (p->unwind_only) printf("%s\n", line);
  else if (problem || !p->attach) logmsg(p, "teardown: %s", line);
}

int journal_record(struct pod *p, enum jop_kind kind, const char *a, const char *b) {
  if (journal_add(&p->journal, kind, a, b) < 0) return -1;
  state_write(p);
  return 0;
}

int pod_pin(struct pod *p) {
  int own = -1, ns = -1, rc = -1, fd;
  if (journal_record(p, J_UMOUNT, p->pin, NULL) < 0) { logmsg(p, "recording the pin: out of memory"); return -1; }
  if ((fd = open(p->pin, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
    logmsg(p, "create %s: %s", p->pin, strerror(errno));
    return -1;
  }
  close(fd);
  /* Into pause's IPC namespace by its pidfd and straight back: we are single-threaded. */
  if ((own = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC)) < 0 || setns(p->pause_pidfd, CLONE_NEWIPC) < 0) {
    logmsg(p, "entering pause's IPC namespace: %s", strerror(errno));
    goto out;
  }
  ns = open("/proc/thread-self/ns/ipc", O_RDONLY | O_CLOEXEC);
  if (setns(own, CLONE_NEWIPC) < 0) {
    logmsg(p, "leaving pause's IPC namespace: %s", strerror(errno));
    abort(); /* never go on inside the pod's namespace */
  }
  struct stat st;
  char src[64];
  snprintf(src, sizeof src, "/proc/self/fd/%d", ns);
  if (ns < 0 || fstat(ns, &st) < 0 || mount(src, p->pin, NULL, MS_BIND, NULL) < 0) {
    logmsg(p, "pinning pause's IPC namespace at %s: %s", p->pin, strerror(errno));
    goto out;
  }
  p->ipc_ino = (unsigned long long)st.st_ino;
  p->pause_start = proc_start(p->pause_pid); /* our child, not reaped: the pid is still pause */
  p->pinned = 1;
  state_write(p);
  rc = 0;
out:
  if (own >= 0) close(own);
  if (ns >= 0) close(ns);
  return rc;
}

/* An fd of the pod's IPC namespace, or -1 when nothing of the pod can be found. */
static int pod_ipc(struct pod *p) {
  int fd = open(p->pin, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct statfs fs;
  if (fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == NSFS_MAGIC) return fd;
  if (fd >= 0) close(fd);
  const struct mp_json *ref = mp_json_get(p->prior, "pause");
  pid_t pid = p->pause_dead ? 0 : p->pause_pid;
  long long start = p->pause_start;
  if (!pid && ref) {
    pid = (pid_t)mp_json_num(ref, "pid", 0);
    start = (long long)mp_json_num(ref, "start", -1);
  }
  if (pid <= 0 || start < 0 || proc_start(pid) != start) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/ipc", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  /* Opened by pid: it is pause's namespace only if pause is still that process. */
  if (fd >= 0 && proc_start(pid) != start) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static int kill_all(struct pod *p) {
  int fd = pod_ipc(p);
  if (fd < 0) return 0;
  struct stat a, b;
  if (fstat(fd, &a) < 0 || stat("/proc/self/ns/ipc", &b) < 0 || (a.st_ino == b.st_ino && a.st_dev == b.st_dev)) {
    close(fd); /* never the host's own namespace */
    return 0;
  }
  int n = ns_kill_all_kind(fd, "ipc"), first = n;
  for (int64_t deadline = now_ms() + 5000; n && now_ms() < deadline;) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    n = ns_kill_all_kind(fd, "ipc");
  }
  close(fd);
  if (first) say(p, 0, "killed %d process(es) of the pod", first);
  if (n) say(p, 1, "%d process(es) of the pod did not die in 5 s", n);
  return n ? -1 : 0;
}

static void release_lease(struct pod *p, const struct jop *o) {
  char buf[4096];
  int fd = open(o->a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return; /* never allocated, or released already */
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  struct mp_arena a = {0};
  char err[64];
  struct mp_json *j = n > 0 ? mp_json_parse(&a, buf, (size_t)n, err, sizeof err) : NULL;
  /* A file we cannot read as JSON is one we were writing when we died (its name was
   * recorded before it was created); one that names another pod is that pod's. */
  int ours = !j || !strcmp(mp_json_str(j, "uid", ""), o->b);
  mp_arena_free(&a);
  if (!ours) return;
  if (unlink(o->a) == 0) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", o->a);
    say(p, 0, strstr(o->a, "/userns/") ? "released user ids %s" : "released address %s", basename(copy));
  }
}

static void undo_nft(struct pod *p, const struct jop *o) {
  int rc = mp_run_nft(o->a);
  if (rc == 0) { say(p, 0, "removed %s", o->b); return; }
  if (rc == -ENOENT) { say(p, 1, "could not remove %s: nft is not installed", o->b); return; }
  /* Some were missing (a crash before they were added, the table removed): line by line. */
  char *copy = strdup(o->a), *save = NULL;
  int done = 0, all = 0;
  for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save), all++) {
    char one[4096];
    snprintf(one, sizeof one, "%s\n", line);
    if (mp_run_nft(one) == 0) done++;
  }
  free(copy);
  if (done) say(p, 0, "removed %s (%d of %d; the others were gone already)", o->b, done, all);
}

static void undo(struct pod *p, const struct jop *o, int *nl) {
  switch (o->kind) {
    case J_UMOUNT:
      if (umount2(o->a, MNT_DETACH | UMOUNT_NOFOLLOW) == 0) say(p, 0, "unmounted %s", o->a);
      else if (errno != EINVAL && errno != ENOENT) say(p, 1, "could not unmount %s: %s", o->a, strerror(errno));
      break;
    case J_LINK: {
      if (*nl < 0) *nl = mp_nl_open();
      int rc = *nl < 0 ? *nl : mp_nl_link_del(*nl, o->a);
      if (rc == 0) say(p, 0, "removed veth %s", o->a);
      else if (rc != -ENODEV) say(p, 1, "could not remove veth %s: %s", o->a, strerror(-rc));
      break;
    }
    case J_LEASE: release_lease(p, o); break;
    case J_CGROUP: {
      int k = cgroup_kill(p->cg.version ? p->cg.version : 1, o->a, NULL);
      if (k > 0) say(p, 0, "killed what was left in cgroup %s", o->a);
      int gone = 0;
      for (int64_t until = now_ms() + 1000; !gone && now_ms() < until;) {
        if (rmdir(o->a) == 0 || errno == ENOENT) gone = 1;
        else if (errno != EBUSY) break;
        else { struct timespec ts = {0, 5 * 1000 * 1000}; nanosleep(&ts, NULL); }
      }
      if (gone) say(p, 0, "removed cgroup %s", o->a);
      else say(p, 1, "could not remove cgroup %s: %s", o->a, strerror(errno));
      break;
    }
    case J_NFT: undo_nft(p, o); break;
  }
}

static char *unescape(char *s) { /* mountinfo writes space, tab, newline, backslash as \ooo */
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
  return s;
}

static int deepest_first(const void *a, const void *b) {
  return (int)strlen(*(char *const *)b) - (int)strlen(*(char *const *)a);
}

/* Everything still mounted at or below dir, deepest first: what the journal missed. */
static int umount_under(struct pod *p, const char *dir) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f || !dir) { if (f) fclose(f); return 0; }
  char *line = NULL, **v = NULL;
  size_t cap = 0, dl = strlen(dir);
  int n = 0, left = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *mp = strtok_r(line, " ", &save);
    for (int i = 0; i < 4 && mp; i++) mp = strtok_r(NULL, " ", &save);
    if (!mp) continue;
    unescape(mp);
    if (strncmp(mp, dir, dl) || (mp[dl] && mp[dl] != '/')) continue;
    char **nv = realloc(v, (size_t)(n + 1) * sizeof *v);
    if (!nv) break;
    v = nv;
    v[n++] = strdup(mp);
  }
  free(line);
  fclose(f);
  qsort(v, (size_t)n, sizeof *v, deepest_first);
  for (int i = 0; i < n; i++) {
    if (!v[i]) continue;
    if (umount2(v[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0) say(p, 0, "unmounted %s", v[i]);
    else if (errno != EINVAL && errno != ENOENT) { say(p, 1, "could not unmount %s: %s", v[i], strerror(errno)); left++; }
    free(v[i]);
  }
  free(v);
  return left;
}

/* rm -rf path, never following a symlink or crossing into a mount left in it. */
static void remove_path(struct pod *p, const char *path) {
  struct stat st;
  if (!path || lstat(path, &st) < 0) return;
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path) == 0) return;
  } else {
    char parent[4200], base[4200];
    snprintf(parent, sizeof parent, "%s", path);
    snprintf(base, sizeof base, "%s", path);
    int dfd = open(dirname(parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dfd < 0 ? -1 : rm_tree_at(dfd, basename(base), st.st_dev, 0);
    if (dfd >= 0) close(dfd);
    if (rc == 0) {
      say(p, 0, "removed %s", path);
      return;
    }
  }
  say(p, 1, "left %s in place: %s", path, strerror(errno));
}

/* What an ended pod no longer needs, keeping what `ps -a` and `logs` read: the files of
 * its run directory, and its logs. */
static void remove_runtime(struct pod *p) {
  char path[4200];
  static const char *const lib[] = {"containers", "volumes", NULL};
  for (const char *const *d = lib; *d && p->lib_dir; d++) {
    snprintf(path, sizeof path, "%s/%s", p->lib_dir, *d);
    remove_path(p, path);
  }
  unlink(p->pin);
  DIR *d = opendir(p->run_dir);
  for (struct dirent *e; d && (e = readdir(d));) {
    if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", p->run_dir, e->d_name);
    remove_path(p, path);
  }
  if (d) closedir(d);
}

/* RUN_ROOT/locks/NAME.lock for RUN_ROOT/pods/NAME; 0 or -1. */
static int lock_path(const struct pod *p, char *out, size_t n) {
  const char *slash = strrchr(p->run_dir, '/');
  if (!slash || slash - p->run_dir < 5 || strncmp(slash - 5, "/pods", 5)) return -1;
  snprintf(out, n, "%.*s/locks/%s.lock", (int)(slash - 5 - p->run_dir), p->run_dir, slash + 1);
  return 0;
}

int pod_unwind(struct pod *p, enum at_exit how, int take_lock) {
  if (how == AT_NOTHING) return 0;
  char lock[4200];
  int lockfd = -1, rc = 0, nl = -1;
  int have_lock = lock_path(p, lock, sizeof lock) == 0;
  if (take_lock && have_lock) {
    lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd >= 0) while (flock(lockfd, LOCK_EX) < 0 && errno == EINTR) {}
  }
  int can_write = p->prior || !p->unwind_only;
  if (!p->torndown) {
    if (kill_all(p) < 0) {
      say(p, 1, "left %s and %s in place: processes of the pod are still alive", p->run_dir, p->lib_dir ? p->lib_dir : "");
      rc = -1;
      goto out;
    }
    while (p->journal.n > 0) {
      struct jop *o = &p->journal.v[p->journal.n - 1];
      undo(p, o, &nl);
      free(o->a);
      free(o->b);
      p->journal.n--;
      if (can_write) state_write(p); /* a crash from here on resumes where we were */
    }
  }
  if (umount_under(p, p->run_dir) + umount_under(p, p->lib_dir)) rc = -1;
  if (how == AT_KEEP) {
    remove_runtime(p);
    p->torndown = 1;
    if (can_write) state_write(p);
  } else {
    remove_path(p, p->run_dir);
    remove_path(p, p->lib_dir);
    if (have_lock) unlink(lock);
  }
out:
  if (nl >= 0) close(nl);
  if (lockfd >= 0) close(lockfd);
  return rc;
}

int unwind_main(int argc, char **argv) {
  if (argc != 5 || (strcmp(argv[2], "keep") && strcmp(argv[2], "remove")) || argv[3][0] != '/' || argv[4][0] != '/') {
    fprintf(stderr, "usage: minipod-shim --unwind keep|remove RUN_DIR LIB_DIR\n");
    return 2;
  }
  static struct pod pod;
  struct pod *p = &pod;
  memset(p, 0, sizeof *p);
  p->unwind_only = 1;
  p->run_dir = argv[3];
  p->lib_dir = argv[4];
  p->pause_start = -1;
  static char state[4200];
  snprintf(state, sizeof state, "%s/state.json", p->run_dir);
  snprintf(p->pin, sizeof p->pin, "%s/ipc.ns", p->run_dir);
  p->state_file = state;
  const char *rn = strrchr(p->run_dir, '/'), *ln = strrchr(p->lib_dir, '/');
  if (!rn || !ln || strcmp(rn, ln)) {
    fprintf(stderr, "minipod-shim: %s and %s are not the directories of one pod\n", p->run_dir, p->lib_dir);
    return 2;
  }
  p->name = rn + 1;
  char err[600];
  if (access(state, F_OK) == 0 && state_load(p, err, sizeof err) < 0) {
    /* Fail closed: a journal we cannot read is not guessed at. */
    fprintf(stderr, "minipod-shim: %s; the pod's host side is left as it is\n", err);
    return 1;
  }
  p->lib_dir = argv[4]; /* the caller's, whatever the file says */
  setvbuf(stdout, NULL, _IOLBF, 0);
  return pod_unwind(p, !strcmp(argv[2], "keep") ? AT_KEEP : AT_REMOVE, 0) < 0 ? 1 : 0;
}
