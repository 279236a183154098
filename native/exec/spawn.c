/* The parent side of a spawn, posix_spawn-style.
 *
 * Everything that allocates or can block on something other than the child happens here,
 * before the clone: namespace files are opened, /dev/null is opened, stacks are mapped.
 * Then all signals are blocked, the child is cloned with CLONE_VM|CLONE_VFORK (no page
 * tables are copied, which matters for a process as large as Node), and the parent sleeps
 * until the child has exec'ed or exited. Then the error pipe holds everything the child had
 * to say: a pid record when a second fork was needed, an error record on failure.
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys.h"

#define STACK_SIZE (256 * 1024)

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int parent_fail(struct mp_error *err, const char *step, const char *sys, int e, const char *path) {
  memset(err, 0, sizeof(*err));
  snprintf(err->step, sizeof(err->step), "%s", step);
  snprintf(err->syscall, sizeof(err->syscall), "%s", sys);
  err->err = e;
  if (path) snprintf(err->path, sizeof(err->path), "%s", path);
  return -1;
}

static int cap_last(void) {
  static int cached = -1;
  if (cached >= 0) return cached;
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  char buf[16] = "";
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n > 0) buf[n] = 0;
  }
  int v = atoi(buf);
  cached = v > 0 && v < 64 ? v : 40;
  return cached;
}

static void reap(int pidfd) {
  siginfo_t si;
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL) < 0 && errno == EINTR) {
  }
}

int mp_spawn(const struct mp_proc *p, const struct mp_spawn_io *io, struct mp_spawn_result *res,
             struct mp_error *err) {
  struct mp_child c;
  memset(&c, 0, sizeof(c));
  c.p = p;
  c.extra = io->extra;
  c.nextra = io->nextra;
  c.cap_last = cap_last();
  for (int i = 0; i < MP_MAX_NS; i++) c.nsfd[i] = -1;

  int rc = -1, devnull = -1, pipefd[2] = {-1, -1}, pidfd = -1;
  char *stack = MAP_FAILED;
  size_t stack_len = STACK_SIZE;
  char step[64];

  /* Open every namespace first: once the child has joined one (say the pod's pid or mount
   * namespace) the paths of the others may no longer mean the same thing. */
  for (int i = 0; i < p->nns; i++) {
    if (p->ns[i].flag == CLONE_NEWPID) c.need_fork = 1;
    if (p->ns[i].action != MP_NS_JOIN) continue;
    c.nsfd[i] = open(p->ns[i].path, O_RDONLY | O_CLOEXEC);
    if (c.nsfd[i] < 0) {
      snprintf(step, sizeof(step), "namespaces[%d]:join", i);
      parent_fail(err, step, "open", errno, p->ns[i].path);
      goto out;
    }
  }
  for (int i = 0; i < 3; i++) {
    c.stdio[i] = io->stdio[i];
    if (c.stdio[i] != MP_STDIO_NULL) continue;
    if (devnull < 0 && (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
      parent_fail(err, "stdio", "open", errno, "/dev/null");
      goto out;
    }
    c.stdio[i] = devnull;
  }
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    parent_fail(err, "spawn", "pipe2", errno, NULL);
    goto out;
  }
  c.errfd = pipefd[1];
  if (c.need_fork) stack_len *= 2;
  stack = mmap(NULL, stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    parent_fail(err, "spawn", "mmap", errno, NULL);
    goto out;
  }
  c.stack2 = stack + STACK_SIZE;
  c.stack2_size = STACK_SIZE;

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pid = clone(mp_child_entry, stack + STACK_SIZE, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &c, &pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipefd[1]);
  pipefd[1] = -1;
  if (pid < 0) {
    parent_fail(err, "spawn", "clone", clone_errno, NULL);
    goto out;
  }

  /* The child has exec'ed or exited (vfork semantics), so the pipe holds all it wrote. */
  struct mp_rec rec;
  int workload = c.need_fork ? -1 : pid, failed = 0;
  ssize_t n;
  while ((n = read(pipefd[0], &rec, sizeof(rec))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof(rec)) break;
    if (rec.kind == MP_REC_PID) workload = rec.pid;
    if (rec.kind == MP_REC_ERROR && !failed) {
      *err = rec.e;
      failed = 1;
    }
  }
  if (c.need_fork) {
    reap(pidfd); /* the middle process */
    close(pidfd);
    pidfd = -1;
    /* The workload is our child and not reaped yet, so its pid cannot have been reused. */
    if (workload > 0 && (pidfd = (int)syscall(SYS_pidfd_open, workload, 0)) < 0 && !failed) {
      parent_fail(err, "spawn", "pidfd_open", errno, NULL);
      failed = 1;
    }
    if (workload <= 0 && !failed) {
      parent_fail(err, "spawn", "clone", ECHILD, "(no workload pid reported)");
      failed = 1;
    }
  }
  if (failed) {
    if (pidfd >= 0) reap(pidfd);
    goto out;
  }
  res->pid = workload;
  res->pidfd = pidfd;
  pidfd = -1;
  rc = 0;

out:
  if (pidfd >= 0) close(pidfd);
  if (stack != MAP_FAILED) munmap(stack, stack_len);
  if (pipefd[0] >= 0) close(pipefd[0]);
  if (pipefd[1] >= 0) close(pipefd[1]);
  if (devnull >= 0) close(devnull);
  for (int i = 0; i < MP_MAX_NS; i++)
    if (c.nsfd[i] >= 0) close(c.nsfd[i]);
  return rc;
}
