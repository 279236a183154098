/* The parent side of a spawn, posix_spawn-style.
 *
 * Everything that allocates or can block on something other than the child happens here,
 * before the clone: namespace files are opened, /dev/null is opened, stacks are mapped.
 * Then all signals are blocked and the child is cloned *without* CLONE_VM: it gets a
 * copy-on-write copy of our memory and fd table, never a share of them. The child joins
 * namespaces where a container's root processes live; a child sharing our memory would let
 * them write into a host-root process through /proc/PID/mem in the window before execve
 * (runc's nsexec rule: the process that enters a container shares nothing with the
 * spawner). The child makes itself non-dumpable and closes every fd it does not pass on
 * before it joins anything. We read the error pipe until it closes (at the child's execve
 * or exit): then it holds everything the child had to say.
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
#define GUARD_SIZE (64 * 1024) /* PROT_NONE below each stack: an overflow faults instead of writing the other */

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
  c.syncfd = c.spawner_pidfd = -1;
  for (int i = 0; i < MP_MAX_NS; i++) c.nsfd[i] = -1;
  c.console_fd = io->console_fd;
  c.home_mntns = -1;
  for (int i = 0; i < MP_MAX_CGROUPS; i++) c.cgfd[i] = -1;
  res->pid = 0;
  res->pidfd = res->mntns = -1;

  int rc = -1, devnull = -1, pipefd[2] = {-1, -1}, syncp[2] = {-1, -1}, pidfd = -1, mntns = -1;
  char *stack = MAP_FAILED;
  size_t stack_len = GUARD_SIZE + STACK_SIZE;
  char step[64];

  /* Open every namespace first: once the child has joined one (say the pod's pid or mount
   * namespace) the paths of the others may no longer mean the same thing. */
  for (int i = 0; i < p->nns; i++) {
    if (p->ns[i].flag == CLONE_NEWPID) c.need_fork = 1;
    if (p->ns[i].action != MP_NS_JOIN) continue;
    /* A reference is a pidfd the caller holds (setns(pidfd, flag) joins that process's
     * namespace, or fails once it has exited); a path is opened here. */
    c.nsfd[i] = p->ns[i].pidfd >= 0 ? fcntl(p->ns[i].pidfd, F_DUPFD_CLOEXEC, 0) : open(p->ns[i].path, O_RDONLY | O_CLOEXEC);
    if (c.nsfd[i] < 0) {
      snprintf(step, sizeof(step), "namespaces[%d]:join", i);
      parent_fail(err, step, "open", errno, p->ns[i].path);
      goto out;
    }
  }
  /* A chroot step returns the child to this mount namespace (an OCI config without one of
   * its own): opened here, by fd, before the child leaves it. */
  if (p->chroot_home && (c.home_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC)) < 0) {
    parent_fail(err, "mounts:chroot", "open", errno, "/proc/self/ns/mnt");
    goto out;
  }
  /* The cgroups, opened here (the child enters namespaces where the host's cgroupfs is not
   * visible) and joined by the child before anything else: write "0" to cgroup.procs. */
  for (int i = 0; i < p->ncgroups; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/cgroup.procs", p->cgroups[i]);
    if ((c.cgfd[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
      snprintf(step, sizeof(step), "cgroups[%d]", i);
      parent_fail(err, step, "open", errno, path);
      goto out;
    }
  }
  if (p->seccomp) {
    char msg[sizeof(err->detail)];
    if (mp_seccomp_compile(p->seccomp, &c.seccomp, msg, sizeof msg) < 0) {
      parent_fail(err, "seccomp", "seccomp_export_bpf", EINVAL, NULL);
      snprintf(err->detail, sizeof(err->detail), "%s", msg);
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
  if (io->gate_fd >= 0) {
    c.syncfd = io->gate_fd; /* the child waits on it; nobody here writes it */
  } else if (io->want_mntns) {
    if (pipe2(syncp, O_CLOEXEC) < 0) {
      parent_fail(err, "spawn", "pipe2", errno, NULL);
      goto out;
    }
    c.syncfd = syncp[0];
  }
  /* With a parent-death signal the child checks, after setting it, that we still live:
   * had we died just before, it would never get the signal. */
  if (p->parent_death_signal && (c.spawner_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0)) < 0) {
    parent_fail(err, "spawn", "pidfd_open", errno, NULL);
    goto out;
  }
  if (c.need_fork) stack_len *= 2;
  /* [guard][stack 1][guard][stack 2]: each stack grows down towards its own guard. */
  stack = mmap(NULL, stack_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    parent_fail(err, "spawn", "mmap", errno, NULL);
    goto out;
  }
  char *stack1 = stack + GUARD_SIZE;
  if (mprotect(stack1, STACK_SIZE, PROT_READ | PROT_WRITE) < 0 ||
      (c.need_fork && mprotect(stack1 + STACK_SIZE + GUARD_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE) < 0)) {
    parent_fail(err, "spawn", "mprotect", errno, NULL);
    goto out;
  }
  c.stack2 = stack1 + STACK_SIZE + GUARD_SIZE;
  c.stack2_size = STACK_SIZE;

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pid = clone(mp_child_entry, stack1 + STACK_SIZE, CLONE_PIDFD | SIGCHLD, &c, &pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipefd[1]);
  pipefd[1] = -1;
  if (syncp[0] >= 0) {
    close(syncp[0]);
    syncp[0] = -1;
  }
  if (pid < 0) {
    parent_fail(err, "spawn", "clone", clone_errno, NULL);
    goto out;
  }

  /* Until the pipe closes (the workload exec'ed or every stage exited). */
  struct mp_rec rec;
  int workload = c.need_fork ? -1 : pid, failed = 0, ready = 0;
  ssize_t n;
  while ((n = read(pipefd[0], &rec, sizeof(rec))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof(rec)) break;
    if (rec.kind == MP_REC_PID) workload = rec.pid;
    if (rec.kind == MP_REC_READY) ready = 1;
    if (rec.kind == MP_REC_ERROR && !failed) {
      *err = rec.e;
      failed = 1;
    }
    /* Gated: ready and waiting for its start, which is not ours to give. Whatever it
     * reports after its start (an execve that fails) goes nowhere: runtimes check the
     * command before create, as runc does. */
    if (io->gate_fd >= 0 && ready && workload > 0 && !failed) break;
    /* READY and the middle process's PID record may come in either order. */
    if (ready && workload > 0 && mntns < 0 && !failed && io->gate_fd < 0) {
      /* The workload is our child, not reaped, and waits for us: the pid is its. */
      char path[64];
      snprintf(path, sizeof(path), "/proc/%d/ns/mnt", workload);
      if ((mntns = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        parent_fail(err, "spawn", "open", errno, path);
        failed = 1;
      } else if (write(syncp[1], "g", 1) != 1) {
        parent_fail(err, "spawn", "write", errno, "(sync pipe)");
        failed = 1;
      }
    }
  }
  if (syncp[1] >= 0) {
    close(syncp[1]); /* a workload still waiting (we failed) reads EOF and exits */
    syncp[1] = -1;
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
  if (!failed && io->want_mntns && mntns < 0) {
    parent_fail(err, "spawn", "open", ESRCH, "(the workload's mount namespace)");
    failed = 1;
  }
  if (failed) {
    if (pidfd >= 0) {
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      reap(pidfd);
    }
    goto out;
  }
  res->pid = workload;
  res->pidfd = pidfd;
  res->mntns = mntns;
  pidfd = mntns = -1;
  rc = 0;

out:
  if (pidfd >= 0) close(pidfd);
  if (mntns >= 0) close(mntns);
  if (stack != MAP_FAILED) munmap(stack, stack_len);
  for (int i = 0; i < 2; i++) {
    if (pipefd[i] >= 0) close(pipefd[i]);
    if (syncp[i] >= 0) close(syncp[i]);
  }
  if (c.spawner_pidfd >= 0) close(c.spawner_pidfd);
  if (c.home_mntns >= 0) close(c.home_mntns);
  if (devnull >= 0) close(devnull);
  for (int i = 0; i < MP_MAX_NS; i++)
    if (c.nsfd[i] >= 0) close(c.nsfd[i]);
  for (int i = 0; i < MP_MAX_CGROUPS; i++)
    if (c.cgfd[i] >= 0) close(c.cgfd[i]);
  free(c.seccomp.filter);
  return rc;
}
