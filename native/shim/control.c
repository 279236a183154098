/* The supervisor's control socket: RUN_DIR/control.sock, how `minipod exec` (the CLI and
 * the API) runs a command in a container. Exec probes and hooks are the supervisor's own.
 *
 * A unix stream socket, 0600 in a 0700 directory, and every peer checked to be root
 * (SO_PEERCRED). One request per connection, one JSON line:
 *   {"op": "exec", "container": NAME, "tty": BOOL, "process": ProcessPlan}
 * with SCM_RIGHTS: the command's stdin, stdout and stderr (without tty). The process plan
 * may only join the named container's namespaces ("@container:NAME/TYPE") and mount
 * nothing; the supervisor resolves those names to the pidfd it holds for the container —
 * no pid from a file, no /proc/PID path — and spawns it with the executor, so the command
 * is the supervisor's child. With tty, the supervisor opens a terminal in the container's
 * own devpts (it enters the container's mount namespace by the fd it holds, opens
 * /dev/pts/ptmx there without following links, checks it is a devpts ptmx, and comes
 * back; the other end by TIOCGPTPEER, no path) and hands the master back. Replies:
 *   "started PID"  (with SCM_RIGHTS: the terminal's master, with tty)
 *   "error MESSAGE"
 *   "exit CODE SIGNAL"  when it has ended (-1 for the one that does not apply)
 * A client that goes away before the end takes its command with it (SIGKILL): nothing
 * outlives whoever asked for it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "../exec/sys.h"
#include "shim.h"

#ifndef DEVPTS_SUPER_MAGIC
#define DEVPTS_SUPER_MAGIC 0x1cd1
#endif

#define MAX_CONNS 16
#define MAX_REQUEST (1 << 20)

struct conn {
  int fd;                 /* -1: free slot (or the client is gone while its command runs) */
  int used;
  char *buf;
  size_t len;
  int fds[3], nfds;
  int pidfd;              /* the command, once started; -1 */
};

static struct conn conns[MAX_CONNS];
static int listen_fd = -1, host_mnt = -1;

static void conn_free(struct pod *p, struct conn *c) {
  if (c->fd >= 0) { epoll_del(p, c->fd); close(c->fd); }
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
  free(c->buf);
  memset(c, 0, sizeof *c);
  c->fd = c->pidfd = -1;
}

int control_listen(struct pod *p) {
  for (int i = 0; i < MAX_CONNS; i++) { memset(&conns[i], 0, sizeof conns[i]); conns[i].fd = conns[i].pidfd = -1; }
  host_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  int dfd = open(p->run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (dfd < 0 || s < 0 || host_mnt < 0) {
    logmsg(p, "control socket: %s", strerror(errno));
    if (dfd >= 0) close(dfd);
    if (s >= 0) close(s);
    return -1;
  }
  /* Through the directory's fd: a run directory's path may be longer than sun_path. */
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "/proc/self/fd/%d/control.sock", dfd);
  unlinkat(dfd, "control.sock", 0);
  mode_t old = umask(0177);
  int rc = bind(s, (struct sockaddr *)&a, sizeof a);
  umask(old);
  close(dfd);
  if (rc < 0 || listen(s, 8) < 0) {
    logmsg(p, "control socket %s/control.sock: %s", p->run_dir, strerror(errno));
    close(s);
    return -1;
  }
  listen_fd = s;
  epoll_add(p, s, TAG(T_LISTEN, 0));
  return 0;
}

static void reply(struct conn *c, const char *line, int fd) {
  char buf[4096];
  int n = snprintf(buf, sizeof buf, "%s\n", line);
  if (n >= (int)sizeof buf) { n = sizeof buf - 1; buf[n - 1] = '\n'; }
  struct iovec iov = {buf, (size_t)n};
  union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof fd);
  }
  if (sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
    /* the client is gone; its EOF will say so */
  }
}

void control_on_accept(struct pod *p) {
  for (;;) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    struct ucred cr;
    socklen_t l = sizeof cr;
    int slot = -1;
    for (int i = 0; i < MAX_CONNS && slot < 0; i++)
      if (!conns[i].used) slot = i;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || cr.uid != 0 || slot < 0) {
      if (slot < 0) logmsg(p, "control socket: too many requests at once");
      close(fd);
      continue;
    }
    struct conn *c = &conns[slot];
    c->used = 1;
    c->fd = fd;
    c->pidfd = -1;
    epoll_add(p, fd, TAG(T_CONN, slot));
  }
}

/* A terminal from the container's own devpts: see the header. 0, or -1 with msg. */
static int open_pty(struct ctr *ct, int *master, int *slave, char *msg, size_t n) {
  *master = *slave = -1;
  if (ct->mntns < 0 || host_mnt < 0) { snprintf(msg, n, "the container's mount namespace is not held"); return -1; }
  if (setns(ct->mntns, CLONE_NEWNS) < 0) { snprintf(msg, n, "setns(the container's mount namespace): %s", strerror(errno)); return -1; }
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), e = 0;
  struct mp_open_how how = {.flags = O_RDWR | O_NOCTTY | O_CLOEXEC, .resolve = MP_RESOLVE_IN_ROOT | 0x02 /* NO_MAGICLINKS */ | 0x04 /* NO_SYMLINKS */};
  int m = root < 0 ? -1 : (int)syscall(SYS_openat2, root, "dev/pts/ptmx", &how, sizeof how);
  if (m < 0) e = errno;
  if (root >= 0) close(root);
  if (setns(host_mnt, CLONE_NEWNS) < 0) abort(); /* never go on inside a container's filesystem */
  if (m < 0) { snprintf(msg, n, "open /dev/pts/ptmx in the container: %s", strerror(e)); return -1; }
  struct statfs fs;
  struct stat st;
  int unlock = 0;
  if (fstatfs(m, &fs) < 0 || fs.f_type != DEVPTS_SUPER_MAGIC || fstat(m, &st) < 0 || !S_ISCHR(st.st_mode)) {
    snprintf(msg, n, "the container's /dev/pts/ptmx is not a devpts terminal multiplexer");
    close(m);
    return -1;
  }
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0 || (*slave = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
    snprintf(msg, n, "opening the terminal's other end: %s", strerror(errno));
    close(m);
    return -1;
  }
  *master = m;
  return 0;
}

/* The plan may only join the named container's namespaces and mount nothing. */
static const char *check_plan(const struct mp_json *proc, const char *name, const struct ctr *ct) {
  const struct mp_json *ns = mp_json_get(proc, "namespaces"), *mounts = mp_json_get(proc, "mounts");
  /* The container's own system call filter, exactly: what enters it is confined as it is. */
  struct jw a = {0}, b = {0};
  jw_node(&a, mp_json_get(ct->process, "seccomp"));
  jw_node(&b, mp_json_get(proc, "seccomp"));
  int same = !a.oom && !b.oom && !strcmp(a.b ? a.b : "", b.b ? b.b : "");
  free(a.b);
  free(b.b);
  if (!same) return "the process must have the container's seccomp filter";
  const struct mp_json *cg = mp_json_get(proc, "cgroups");
  for (const struct mp_json *e = cg && cg->type == MP_JARR ? cg->child : NULL; e; e = e->next) {
    int ok = 0;
    for (const struct mp_json *d = ct->cg_dirs ? ct->cg_dirs->child : NULL; d && !ok; d = d->next) ok = e->type == MP_JSTR && !strcmp(e->str, d->str);
    if (!ok) return "the process may only join the container's own cgroups";
  }
  if (!ns || ns->type != MP_JARR || !ns->len) return "the process must join the container's namespaces";
  if (mounts && (mounts->type != MP_JARR || mounts->len)) return "an exec'd process mounts nothing";
  char want[200];
  int n = snprintf(want, sizeof want, "@container:%s/", name);
  int user = 0;
  for (const struct mp_json *e = ns->child; e; e = e->next) {
    const char *path = mp_json_str(e, "path", "");
    if (strcmp(mp_json_str(e, "action", ""), "join") || strncmp(path, want, (size_t)n)) return "the process may only join the named container's namespaces";
    user |= !strcmp(path + n, "user");
  }
  /* In a pod with a user namespace, what enters a container enters that too: never host root. */
  const struct mp_json *own = mp_json_get(ct->process, "namespaces");
  for (const struct mp_json *e = own ? own->child : NULL; e; e = e->next)
    if (!strcmp(mp_json_str(e, "type", ""), "user") && !user) return "the process must join the container's user namespace";
  return NULL;
}

static void start_exec(struct pod *p, struct conn *c, int slot) {
  struct mp_arena a = {0};
  char err[600], msg[700];
  struct mp_json *req = mp_json_parse(&a, c->buf, c->len, err, sizeof err);
  const char *name = mp_json_str(req, "container", NULL), *bad = NULL;
  const struct mp_json *proc = mp_json_get(req, "process");
  int tty = mp_json_bool(req, "tty", 0);
  struct ctr *ct = NULL;
  for (int i = 0; name && i < p->nctrs; i++)
    if (!strcmp(p->ctrs[i].name, name)) ct = &p->ctrs[i];
  if (!req || strcmp(mp_json_str(req, "op", ""), "exec")) bad = req ? "unknown request" : err;
  else if (!ct) bad = "no such container";
  else if (ct->state != CS_RUNNING || p->stopping) bad = "the container is not running";
  else if (!proc) bad = "the request has no process";
  else if (!tty && c->nfds != 3) bad = "the request must pass stdin, stdout and stderr";
  else bad = check_plan(proc, name, ct);
  if (bad) {
    snprintf(msg, sizeof msg, "error %s", bad);
    reply(c, msg, -1);
    mp_arena_free(&a);
    conn_free(p, c);
    return;
  }
  int master = -1, slave = -1;
  if (tty && open_pty(ct, &master, &slave, err, sizeof err) < 0) {
    snprintf(msg, sizeof msg, "error %s", err);
    reply(c, msg, -1);
    mp_arena_free(&a);
    conn_free(p, c);
    return;
  }
  struct mp_spawn_io io = {{tty ? slave : c->fds[0], tty ? slave : c->fds[1], tty ? slave : c->fds[2]}, NULL, 0, 0, -1, -1};
  struct mp_spawn_result res;
  struct mp_error e;
  int rc = spawn_plan(p, proc, &io, &res, &e);
  mp_arena_free(&a);
  if (slave >= 0) close(slave);
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
  c->nfds = 0;
  if (rc < 0) {
    /* The executor's report as it is, so the client words it (and picks 126/127) as for
     * any other start failure. */
    struct jw w = {0};
    jw_put(&w, "failed {", 8);
    jw_key(&w, "step"); jw_str(&w, e.step);
    jw_key(&w, "syscall"); jw_str(&w, e.syscall);
    jw_key(&w, "errno"); jw_putf(&w, "%d", e.err);
    jw_key(&w, "path"); jw_str(&w, e.path);
    jw_key(&w, "dest"); jw_str(&w, e.dest);
    jw_key(&w, "detail"); jw_str(&w, e.detail);
    jw_put(&w, "}", 1);
    reply(c, w.oom ? "error out of memory" : w.b, -1);
    free(w.b);
    if (master >= 0) close(master);
    conn_free(p, c);
    return;
  }
  c->pidfd = res.pidfd;
  epoll_add(p, c->pidfd, TAG(T_EXEC, slot));
  snprintf(msg, sizeof msg, "started %d", (int)res.pid);
  reply(c, msg, master);
  if (master >= 0) close(master);
  logmsg(p, "[%s] exec: pid %d", name, (int)res.pid);
}

void control_on_conn(struct pod *p, int slot) {
  struct conn *c = &conns[slot];
  if (c->fd < 0) return;
  if (c->pidfd >= 0) { /* a request is running: anything more, or the EOF, means the client is done */
    char junk[256];
    ssize_t n = read(c->fd, junk, sizeof junk);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
      epoll_del(p, c->fd);
      close(c->fd);
      c->fd = -1; /* the slot is freed when the command has been reaped */
    }
    return;
  }
  for (;;) {
    if (!c->buf && !(c->buf = malloc(MAX_REQUEST))) { conn_free(p, c); return; }
    if (c->len >= MAX_REQUEST - 1) { reply(c, "error the request is too long", -1); conn_free(p, c); return; }
    struct iovec iov = {c->buf + c->len, MAX_REQUEST - 1 - c->len};
    union { char b[CMSG_SPACE(3 * sizeof(int))]; struct cmsghdr align; } u;
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b};
    ssize_t n = recvmsg(c->fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      int k = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      int got[3];
      memcpy(got, CMSG_DATA(h), (size_t)(k < 3 ? k : 3) * sizeof(int));
      for (int i = 0; i < k && i < 3; i++) {
        if (c->nfds < 3) c->fds[c->nfds++] = got[i];
        else close(got[i]);
      }
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) { conn_free(p, c); return; }
    c->len += (size_t)n;
    c->buf[c->len] = 0;
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl) {
      c->len = (size_t)(nl - c->buf);
      start_exec(p, c, slot);
      return;
    }
  }
}

void control_on_exit(struct pod *p, int slot) {
  struct conn *c = &conns[slot];
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (c->pidfd < 0 || waitid((idtype_t)3 /* P_PIDFD */, (id_t)c->pidfd, &si, WEXITED | WNOHANG) < 0 || !si.si_pid) return;
  epoll_del(p, c->pidfd);
  close(c->pidfd);
  c->pidfd = -1;
  if (c->fd >= 0) {
    char msg[64];
    if (si.si_code == CLD_EXITED) snprintf(msg, sizeof msg, "exit %d -1", si.si_status);
    else snprintf(msg, sizeof msg, "exit -1 %d", si.si_status);
    reply(c, msg, -1);
  }
  conn_free(p, c);
}

void control_close(void) {
  if (listen_fd >= 0) close(listen_fd);
  listen_fd = -1;
}
