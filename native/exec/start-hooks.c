/* An OCI config's startContainer hooks (runtime spec "Lifecycle" step 7): run by the
 * workload itself after start has let it go and before its execve, so each one runs in
 * every namespace of the container, under its root, with its identity and capabilities and
 * (with no_new_privs) its seccomp filter, as runc and crun run them. Their path is resolved
 * in the container's root: a hook can never run a file of the host's.
 *
 * start sends the container's state through the gate after the byte that lets us go: 8 hex
 * digits of length, then the JSON, which each hook gets on its stdin. Their stdout and
 * stderr are the container's. A hook that fails (exits non-zero, is killed, or outlives its
 * timeout) stops the container before its command runs: the reason goes to the container's
 * stderr (start has returned by then, as runc's has) and the workload exits 127.
 *
 * The rules of the child apply (child.c): raw system calls only, no libc.
 */
#define _GNU_SOURCE
#include "child.h"

#define STATE_MAX (256 * 1024)
static char state[STATE_MAX]; /* untouched (and so never paged in) without hooks */

static long read_full(int fd, char *buf, long n) {
  long got = 0;
  while (got < n) {
    long r = MP_SYS3(SYS_read, fd, buf + got, n - got);
    if (r == -EINTR) continue;
    if (r <= 0) return r < 0 ? r : -EPIPE;
    got += r;
  }
  return got;
}

/* Says why, on the container's stderr, and stops. */
__attribute__((noreturn)) static void hook_failed(const char *path, const char *why, long n) {
  char m[PATHBUF + 160] = "minipod-oci: startContainer hook ";
  cat(m, sizeof(m), path);
  cat(m, sizeof(m), " failed: ");
  cat(m, sizeof(m), why);
  if (n >= 0) cat_int(m, sizeof(m), n);
  cat(m, sizeof(m), "\n");
  MP_SYS3(SYS_write, 2, m, xlen(m));
  MP_SYS1(SYS_exit_group, 127);
  __builtin_unreachable();
}

static void run_hook(const struct mp_hook *h, long len) {
  int in[2];
  long r = MP_SYS2(SYS_pipe2, in, O_CLOEXEC);
  if (r < 0) hook_failed(h->path, "pipe2: errno ", -r);
  /* fork: a copy of this process (no CLONE_VM), which becomes the hook */
  long pid = MP_SYS5(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) hook_failed(h->path, "clone: errno ", -pid);
  if (pid == 0) {
    struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
    MP_SYS4(SYS_rt_sigaction, SIGPIPE, &dfl, NULL, 8);
    MP_SYS3(SYS_dup3, in[0], 0, 0);
    long e = MP_SYS3(SYS_execve, h->path, h->argv, h->env);
    char m[PATHBUF + 64] = "minipod-oci: startContainer hook ";
    cat(m, sizeof(m), h->path);
    cat(m, sizeof(m), ": execve: errno ");
    cat_int(m, sizeof(m), -e);
    cat(m, sizeof(m), "\n");
    MP_SYS3(SYS_write, 2, m, xlen(m));
    MP_SYS1(SYS_exit_group, 127);
  }
  MP_SYS1(SYS_close, in[0]);
  /* A hook that does not read its stdin gets EPIPE here (SIGPIPE is ignored meanwhile):
   * that is not its failure. */
  for (long off = 0; off < len;) {
    long n = MP_SYS3(SYS_write, in[1], state + off, len - off);
    if (n == -EINTR) continue;
    if (n <= 0) break;
    off += n;
  }
  MP_SYS1(SYS_close, in[1]);
  if (h->timeout > 0) {
    long pfd = MP_SYS2(SYS_pidfd_open, pid, 0);
    struct { int fd; short events, revents; } pf = {(int)pfd, 1 /* POLLIN: it has exited */, 0};
    struct { long s, ns; } limit = {h->timeout, 0};
    long ready;
    do ready = pfd >= 0 ? MP_SYS5(SYS_ppoll, &pf, 1, &limit, NULL, 0) : 1;
    while (ready == -EINTR);
    if (ready == 0) {
      MP_SYS2(SYS_kill, pid, SIGKILL);
      MP_SYS4(SYS_wait4, pid, NULL, 0, NULL);
      hook_failed(h->path, "timed out: its timeout (seconds) is ", h->timeout);
    }
    if (pfd >= 0) MP_SYS1(SYS_close, pfd);
  }
  int status = 0;
  while ((r = MP_SYS4(SYS_wait4, pid, &status, 0, NULL)) == -EINTR) {}
  if (r < 0) hook_failed(h->path, "wait4: errno ", -r);
  if ((status & 0x7f) != 0) hook_failed(h->path, "killed by signal ", status & 0x7f);
  if ((status >> 8) & 0xff) hook_failed(h->path, "exit ", (status >> 8) & 0xff);
}

void mp_start_hooks(struct walk *w, int syncfd) {
  const struct mp_proc *p = w->c->p;
  mp_set_step(w, "startHooks", -1, NULL);
  char hex[8];
  long len = 0;
  if (read_full(syncfd, hex, 8) != 8) hook_failed(p->start_hooks[0].path, "no state from start", -1);
  for (int i = 0; i < 8; i++) {
    char d = hex[i];
    int v = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : -1;
    if (v < 0) hook_failed(p->start_hooks[0].path, "a malformed state from start", -1);
    len = len * 16 + v;
  }
  if (len > STATE_MAX) hook_failed(p->start_hooks[0].path, "the state is larger than the bytes it may be: ", STATE_MAX);
  if (read_full(syncfd, state, len) != len) hook_failed(p->start_hooks[0].path, "a short state from start", -1);
  struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } ign = {SIG_IGN, 0, NULL, 0}, dfl = {SIG_DFL, 0, NULL, 0};
  MP_SYS4(SYS_rt_sigaction, SIGPIPE, &ign, NULL, 8);
  for (int i = 0; i < p->nstart_hooks; i++) run_hook(&p->start_hooks[i], len);
  MP_SYS4(SYS_rt_sigaction, SIGPIPE, &dfl, NULL, 8);
}
