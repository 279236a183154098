/* The verbs the native front end runs itself, as containerd 1.6's runc v2 shim calls them
 * (README, "minipod under Kubernetes"): start lets the init go from its start gate; kill,
 * delete, ps, pause and resume act on the init (by pidfd, after checking its start time)
 * and on the cgroup; state and list print the OCI state. Every process is signalled
 * through a pidfd opened before its identity is checked, so a pid reused in between is
 * never signalled. */
#define _GNU_SOURCE
#include <dirent.h>
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

#include "create.h"

#define MAX_PIDS 4096
#define OCI_PATH_MAX 4096

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&t, &t) < 0 && errno == EINTR) {}
}

/* Signals pid if it is still the process it was (start time `start`, 0: any). */
static int signal_pid(pid_t pid, unsigned long long start, int sig) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return -1;
  int rc = -1;
  if (!start || oci_start_time(pid) == start) rc = (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
  close(fd);
  return rc;
}

/* Signals pid if it is still in the container's cgroup once its pidfd is open: a pid read from
 * cgroup.procs that exited and was reused outside the container meanwhile is left alone. */
static int signal_member(const struct oci_state *s, pid_t pid, int sig) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return -1;
  char file[64], buf[4096], want[OCI_PATH_MAX + 4];
  snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
  snprintf(want, sizeof(want), ":%s\n", s->cgroup_path ? s->cgroup_path : "");
  int in = 0;
  int cfd = open(file, O_RDONLY | O_CLOEXEC);
  if (cfd >= 0) {
    ssize_t n = read(cfd, buf, sizeof(buf) - 1);
    close(cfd);
    if (n > 0) {
      buf[n] = 0;
      in = s->cgroup_path && strstr(buf, want) != NULL;
    }
  }
  int rc = in ? (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : -1;
  close(fd);
  return rc;
}

static void signal_cgroup(const struct oci_state *s, int sig) {
  static pid_t pids[MAX_PIDS];
  int n = oci_cgroup_pids(s, pids, MAX_PIDS);
  for (int i = 0; i < n; i++) signal_member(s, pids[i], sig);
}

static int print_state(const struct oci_state *s, enum oci_status st, struct oci_err *e) {
  char *j = oci_state_json(s, st);
  if (!j) return oci_fail(e, "out of memory");
  printf("%s\n", j);
  free(j);
  return 0;
}

int oci_state_verb(const char *root, const char *id, struct oci_err *e) {
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  if (rc == 0) rc = print_state(&s, oci_status(root, &s), e);
  oci_state_free(&s);
  return rc;
}

int oci_start(const char *root, const char *id, void (*warn)(const char *msg), struct oci_err *e) {
  struct oci_state s;
  if (oci_state_load(root, id, &s, e) < 0) { oci_state_free(&s); return -1; }
  enum oci_status st = oci_status(root, &s);
  int rc = 0;
  if (st != OCI_CREATED) {
    rc = oci_fail(e, "cannot start a container that is %s", oci_status_name(st));
    goto out;
  }
  char fifo[4200];
  snprintf(fifo, sizeof(fifo), "%s/%s/exec.fifo", root, id);
  /* Opened while the init holds its read end (ENXIO: it is gone); unlinked before the byte is
   * written, so that once the init runs no `state` says "created". */
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    rc = oci_fail(e, errno == ENXIO ? "cannot start a container that is stopped" : "open %s: %s", fifo, strerror(errno));
    goto out;
  }
  unlink(fifo);
  /* The byte that lets the init go; with startContainer hooks, then the state they read
   * (8 hex digits of length, the JSON), which the init reads before it runs them
   * (native/exec/start-hooks.c). A write to an init that died meanwhile is EPIPE, not SIGPIPE. */
  const struct mp_json *hk = mp_json_get(s.root, "hooks");
  char *created = hk && mp_json_get(hk, "startContainer") ? oci_state_json(&s, OCI_CREATED) : NULL;
  size_t clen = created ? strlen(created) : 0;
  char head[16];
  snprintf(head, sizeof(head), "s%08zx", clen);
  signal(SIGPIPE, SIG_IGN);
  int wr = fcntl(fd, F_SETFL, 0) == 0 && write(fd, head, created ? 9 : 1) == (created ? 9 : 1);
  for (size_t off = 0; wr && off < clen;) {
    ssize_t n = write(fd, created + off, clen - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { wr = 0; break; }
    off += (size_t)n;
  }
  free(created);
  if (!wr) {
    rc = oci_fail(e, "write %s: %s", fifo, strerror(errno));
    close(fd);
    goto out;
  }
  close(fd);
  /* A failing poststart hook is a warning: the others run and the container goes on (runtime spec). */
  char *j = oci_state_json(&s, OCI_RUNNING);
  if (j) {
    struct oci_err he;
    oci_run_hooks(&s, "poststart", j, 0, warn, &he);
  }
  free(j);
out:
  oci_state_free(&s);
  return rc;
}

int oci_kill(const char *root, const char *id, const char *signame, int all, struct oci_err *e) {
  int sig = oci_signal_number(signame);
  if (sig < 0) return oci_fail(e, "unknown signal \"%s\"", signame);
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  if (rc < 0) goto out;
  static pid_t pids[MAX_PIDS];
  int alive = oci_init_alive(&s);
  if (all && s.ndirs) {
    int n = oci_cgroup_pids(&s, pids, MAX_PIDS);
    if (!alive && n == 0) { rc = oci_fail(e, "container not running"); goto out; }
    for (int i = 0; i < n; i++) signal_member(&s, pids[i], sig);
    goto out;
  }
  if (!alive || signal_pid(s.pid, s.start, sig) < 0) rc = oci_fail(e, "container not running");
out:
  oci_state_free(&s);
  return rc;
}

static int busy(const struct oci_state *s) {
  pid_t one;
  return oci_init_alive(s) || oci_cgroup_pids(s, &one, 1) > 0;
}

static void thaw(const struct oci_state *s) {
  if (!s->freezer_dir || !oci_frozen(s)) return;
  char file[4200];
  snprintf(file, sizeof(file), "%s/%s", s->freezer_dir, s->freezer_v2 ? "cgroup.freeze" : "freezer.state");
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (write(fd, s->freezer_v2 ? "0" : "THAWED", s->freezer_v2 ? 1 : 6) < 0) {}
  close(fd);
}


int oci_delete(const char *root, const char *id, int force, void (*warn)(const char *msg), struct oci_err *e) {
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  if (rc < 0) {
    oci_state_free(&s);
    return force && strstr(e->msg, "does not exist") ? 0 : -1;
  }
  enum oci_status st = oci_status(root, &s);
  if (st != OCI_STOPPED && !force) {
    rc = oci_fail(e, "cannot delete container %s that is not stopped: %s", id, oci_status_name(st));
    goto out;
  }
  if (busy(&s)) {
    thaw(&s); /* a frozen process does not die of SIGKILL until it is thawed */
    signal_cgroup(&s, SIGKILL);
    if (oci_init_alive(&s)) signal_pid(s.pid, s.start, SIGKILL);
    long long deadline = oci_mono_ms() + 5000;
    while (busy(&s) && oci_mono_ms() < deadline) sleep_ms(5);
    if (busy(&s)) {
      rc = oci_fail(e, "container %s: processes did not die within 5 s of SIGKILL", id);
      goto out;
    }
  }
  /* The last exit may take a moment to leave the cgroup (EBUSY). */
  for (int i = 0; i < 100 && oci_cgroup_remove_dirs(s.cgroup_path, s.dirs, s.ndirs) < 0; i++) sleep_ms(5);
  /* A failing poststop hook is a warning: the others run and the delete goes on (runtime spec). */
  char *j = oci_state_json(&s, OCI_STOPPED);
  if (j) {
    struct oci_err he;
    oci_run_hooks(&s, "poststop", j, 0, warn, &he);
  }
  free(j);
  char dir[4200];
  snprintf(dir, sizeof(dir), "%s/%s", root, id);
  if (oci_remove_dir(dir) < 0 && errno != ENOENT) rc = oci_fail(e, "remove %s: %s", dir, strerror(errno));
out:
  oci_state_free(&s);
  return rc;
}

int oci_ps(const char *root, const char *id, int json, struct oci_err *e) {
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  if (rc == 0) {
    static pid_t pids[MAX_PIDS];
    int n = s.ndirs ? oci_cgroup_pids(&s, pids, MAX_PIDS) : 0;
    if (!s.ndirs && oci_init_alive(&s)) pids[n++] = s.pid;
    if (!json) printf("PID\n");
    else printf("[");
    for (int i = 0; i < n; i++) printf(json ? "%s%d" : "%s%d\n", json && i ? "," : "", (int)pids[i]);
    if (json) printf("]\n");
  }
  oci_state_free(&s);
  return rc;
}

int oci_pause(const char *root, const char *id, int frozen, struct oci_err *e) {
  struct oci_state s;
  int rc = oci_state_load(root, id, &s, e);
  if (rc < 0) goto out;
  if (!oci_init_alive(&s)) { rc = oci_fail(e, "container not running"); goto out; }
  if (!s.freezer_dir) { rc = oci_fail(e, "the container has no freezer cgroup"); goto out; }
  char file[4200];
  snprintf(file, sizeof(file), "%s/%s", s.freezer_dir, s.freezer_v2 ? "cgroup.freeze" : "freezer.state");
  const char *v = s.freezer_v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, v, strlen(v)) < 0) rc = oci_fail(e, "write %s: %s", file, strerror(errno));
  if (fd >= 0) close(fd);
  /* v1 freezes asynchronously: pause returns once the cgroup says FROZEN (runc waits too). */
  for (long long deadline = oci_mono_ms() + 2000; rc == 0 && frozen && !oci_frozen(&s) && oci_mono_ms() < deadline;) sleep_ms(2);
out:
  oci_state_free(&s);
  return rc;
}

int oci_list(const char *root, int json, struct oci_err *e) {
  DIR *d = opendir(root);
  if (!d && errno != ENOENT) return oci_fail(e, "open %s: %s", root, strerror(errno));
  if (json) printf("[");
  else printf("ID\tPID\tSTATUS\tBUNDLE\n");
  int first = 1;
  for (struct dirent *de; d && (de = readdir(d));) {
    struct oci_err ignore;
    if (oci_check_id(de->d_name, &ignore) < 0) continue;
    struct oci_state s;
    if (oci_state_load(root, de->d_name, &s, &ignore) == 0) {
      enum oci_status st = oci_status(root, &s);
      if (json) {
        char *j = oci_state_json(&s, st);
        if (j) printf("%s%s", first ? "" : ",", j);
        free(j);
      } else {
        printf("%s\t%d\t%s\t%s\n", s.id, st == OCI_STOPPED ? 0 : (int)s.pid, oci_status_name(st), s.bundle);
      }
      first = 0;
    }
    oci_state_free(&s);
  }
  if (json) printf("]\n");
  if (d) closedir(d);
  return 0;
}
