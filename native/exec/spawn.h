/* Spawning one process from a plan: the parent side (spawn.c) and the child side (child.c).
 * native/README.md describes the sequence of steps. */
#ifndef MP_SPAWN_H
#define MP_SPAWN_H

#include <sys/types.h>

#include "plan.h"
#include "seccomp-plan.h"

/* What went wrong, reported by the child through the error pipe or by the parent itself. */
struct mp_error {
  char step[96];     /* "namespaces[1]:join", "mounts[4]:bind", "exec", ... */
  char syscall[32];  /* "open_tree", "move_mount", "execve", ... */
  int err;           /* errno */
  char path[1024];
  char dest[512];
  char detail[256];  /* e.g. the kernel's fs-context message for a failed overlay mount */
};

#define MP_STDIO_NULL (-1)
#define MP_STDIO_INHERIT (-2)

struct mp_spawn_io {
  int stdio[3];        /* fds in the spawner, or MP_STDIO_NULL / MP_STDIO_INHERIT */
  const int *extra;    /* fds that become 3, 4, ... in the child */
  int nextra;
  int want_mntns;      /* return an fd of the workload's mount namespace (opened before its execve) */
  int console_fd;      /* >= 0: a connected unix socket: the workload opens a terminal in its own
                          devpts once its mounts are done, makes it its stdio and controlling
                          terminal, and sends the master there (runc's console socket). -1: none */
  int gate_fd;         /* >= 0: a FIFO (opened O_RDWR by the caller): the workload, ready, waits to
                          read one byte from it before its execve, and mp_spawn returns at once
                          (an OCI runtime's create; its start writes the byte). -1: none */
};

struct mp_spawn_result {
  pid_t pid;   /* the workload: a direct child of the caller */
  int pidfd;   /* CLOEXEC pidfd of the workload */
  int mntns;   /* with want_mntns: CLOEXEC fd of its mount namespace, else -1 */
};

/* Returns 0 and fills res, or -1 and fills err. The workload is a direct child of the
 * calling process (also when a pid namespace needed a second fork). */
int mp_spawn(const struct mp_proc *p, const struct mp_spawn_io *io, struct mp_spawn_result *res,
             struct mp_error *err);

/* Internal: the context the child walks, built by mp_spawn. */
struct mp_child {
  const struct mp_proc *p;
  int errfd;
  int syncfd;          /* want_mntns: read end of the spawner's "go on" pipe, else -1 */
  int spawner_pidfd;   /* the spawner, for the parent-death check; -1 when not needed */
  int nsfd[MP_MAX_NS];
  int cgfd[MP_MAX_CGROUPS]; /* O_WRONLY fds of each cgroups[i]/cgroup.procs */
  struct sock_fprog seccomp; /* compiled by the spawner; len 0: none */
  int stdio[3];
  const int *extra;
  int nextra;
  int console_fd;      /* io->console_fd, or -1 */
  int home_mntns;      /* a chroot step: the spawner's mount namespace, to return to; else -1 */
  int need_fork;
  int cap_last;
  char *stack2;
  size_t stack2_size;
};

int mp_child_entry(void *arg);

/* Record kinds written to the error pipe. */
#define MP_REC_ERROR 1
#define MP_REC_PID 2
#define MP_REC_READY 3 /* want_mntns: about to execve, waits for a byte on syncfd */

struct mp_rec {
  int kind;
  int pid;
  struct mp_error e;
};

#endif
