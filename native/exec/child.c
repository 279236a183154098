/* The child side of a spawn: walks one plan and execs, or reports the first failure.
 *
 * Runs in a cloned child (a copy of the spawner's memory, never a share of it: see
 * spawn.c) on its own stack. The spawner may be multithreaded (Node): locks other threads
 * held at the clone stay locked here, so the rules are raw system calls only (sys.h), our
 * own string helpers, no malloc, no stdio. Every step that can fail reports {step,
 * syscall, errno, path} and exits 127.
 *
 * Order (native/README.md has the why of each):
 *   non-dumpable -> close every fd not passed on -> signals -> setns joins -> unshare ->
 *   [fork into the pid namespace] -> parent-death signal -> setsid -> mounts (in plan
 *   order, ending with pivot_root) -> the namespace steps "after mounts" (the user
 *   namespace) -> loopback up -> hostname -> cwd -> stdio and fds -> capabilities + ids
 *   (inheritable always empty) -> no_new_privs -> [sync] -> [seccomp with no_new_privs] ->
 *   [startContainer hooks] -> execve
 */
#define _GNU_SOURCE
#include "child.h"

/* ---- error reporting ---- */

void mp_set_step(struct walk *w, const char *what, int idx, const char *name) {
  cpy(w->step, sizeof(w->step), what);
  if (idx >= 0) {
    cat(w->step, sizeof(w->step), "[");
    cat_int(w->step, sizeof(w->step), idx);
    cat(w->step, sizeof(w->step), "]");
  }
  if (name) {
    cat(w->step, sizeof(w->step), ":");
    cat(w->step, sizeof(w->step), name);
  }
}

void mp_report(struct walk *w, const char *sys, long neg_errno, const char *path, const char *dest,
                   const char *detail) {
  struct mp_rec r;
  xzero(&r, sizeof(r));
  r.kind = MP_REC_ERROR;
  cpy(r.e.step, sizeof(r.e.step), w->step);
  cpy(r.e.syscall, sizeof(r.e.syscall), sys);
  r.e.err = (int)-neg_errno;
  cpy(r.e.path, sizeof(r.e.path), path);
  cpy(r.e.dest, sizeof(r.e.dest), dest);
  cpy(r.e.detail, sizeof(r.e.detail), detail);
  MP_SYS3(SYS_write, w->errfd, &r, sizeof(r));
}

__attribute__((noreturn)) void mp_die(struct walk *w, const char *sys, long neg_errno, const char *path,
                                          const char *dest) {
  mp_report(w, sys, neg_errno, path, dest, NULL);
  MP_SYS1(SYS_exit_group, 127);
  __builtin_unreachable();
}

/* ---- identity ---- */

/* The five sets exactly as an OCI config gives them (runc's order: bounding, ids with
 * KEEPCAPS, then the sets, then ambient). */
static void do_identity_sets(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  mp_set_step(w, "user", -1, NULL);
  for (int cap = 0; cap <= w->c->cap_last; cap++)
    if (!(p->cap_bounding & (1ULL << cap)))
      CHECK(w, MP_SYS5(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)", NULL, NULL);
  CHECK(w, MP_SYS2(SYS_setgroups, p->ngroups, p->groups), "setgroups", NULL, NULL);
  CHECK(w, MP_SYS3(SYS_setresgid, p->gid, p->gid, p->gid), "setresgid", NULL, NULL);
  CHECK(w, MP_SYS5(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)", NULL, NULL);
  CHECK(w, MP_SYS3(SYS_setresuid, p->uid, p->uid, p->uid), "setresuid", NULL, NULL);
  CHECK(w, MP_SYS5(SYS_prctl, PR_SET_KEEPCAPS, 0, 0, 0, 0), "prctl(PR_SET_KEEPCAPS)", NULL, NULL);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (unsigned)(p->cap_effective >> (32 * i));
    data[i].permitted = (unsigned)(p->cap_permitted >> (32 * i));
    data[i].inheritable = (unsigned)(p->cap_inheritable >> (32 * i));
  }
  CHECK(w, MP_SYS2(SYS_capset, &hdr, data), "capset", NULL, NULL);
  CHECK(w, MP_SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT)", NULL, NULL);
  for (int cap = 0; cap <= w->c->cap_last; cap++)
    if (p->cap_ambient & (1ULL << cap))
      CHECK(w, MP_SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0), "prctl(PR_CAP_AMBIENT_RAISE)", NULL, NULL);
  if (p->no_new_privs)
    CHECK(w, MP_SYS5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", NULL, NULL);
}

static void do_identity(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  if (p->cap_sets) {
    do_identity_sets(w);
    return;
  }
  mp_set_step(w, "user", -1, NULL);
  if (!p->keep_all_caps) {
    for (int cap = 0; cap <= w->c->cap_last; cap++)
      if (!(p->caps & (1ULL << cap)))
        CHECK(w, MP_SYS5(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)", NULL, NULL);
  }
  CHECK(w, MP_SYS2(SYS_setgroups, p->ngroups, p->groups), "setgroups", NULL, NULL);
  CHECK(w, MP_SYS3(SYS_setresgid, p->gid, p->gid, p->gid), "setresgid", NULL, NULL);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  /* The inheritable set is always empty (moby CVE-2022-24769): with it, a file with
   * inheritable file capabilities would regain capabilities the container was not given. */
  if (p->keep_all_caps) {
    CHECK(w, MP_SYS2(SYS_capget, &hdr, data), "capget", NULL, NULL);
  } else {
    for (int i = 0; i < 2; i++) {
      unsigned v = p->uid == 0 ? (unsigned)(p->caps >> (32 * i)) : 0;
      data[i].effective = data[i].permitted = v;
    }
  }
  data[0].inheritable = data[1].inheritable = 0;
  if (p->keep_all_caps || p->uid == 0) CHECK(w, MP_SYS2(SYS_capset, &hdr, data), "capset", NULL, NULL);
  /* For a non-root uid the kernel clears permitted and effective caps here (no KEEPCAPS),
   * as Docker and containerd give non-root containers no effective capabilities. */
  CHECK(w, MP_SYS3(SYS_setresuid, p->uid, p->uid, p->uid), "setresuid", NULL, NULL);
  if (!p->keep_all_caps && p->uid != 0) {
    xzero(data, sizeof(data));
    CHECK(w, MP_SYS2(SYS_capset, &hdr, data), "capset", NULL, NULL);
  }
  CHECK(w, MP_SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT)", NULL, NULL);
  if (p->no_new_privs)
    CHECK(w, MP_SYS5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", NULL, NULL);
}

/* ---- stdio and fds ---- */

static void do_fds(struct walk *w) {
  struct mp_child *c = w->c;
  long tmp[3 + 16];
  int n = 0;
  mp_set_step(w, "stdio", -1, NULL);
  if (c->nextra > 16) mp_die(w, "plan", -EINVAL, "too many extra fds", NULL);
  /* First move every source above the range it goes to, then dup into place, so that a
   * source that already sits at 0..2+nextra is not overwritten before it is used. */
  for (int i = 0; i < 3 + c->nextra; i++) {
    int src = i < 3 ? c->stdio[i] : c->extra[i - 3];
    /* "inherit" is dup'ed too: Node keeps its own 0, 1, 2 close-on-exec. */
    if (src == MP_STDIO_INHERIT) src = i;
    tmp[n++] = CHECK(w, MP_SYS3(SYS_fcntl, src, F_DUPFD_CLOEXEC, 100), "fcntl", NULL, NULL);
  }
  for (int i = 0; i < n; i++) CHECK(w, MP_SYS3(SYS_dup3, tmp[i], i, 0), "dup3", NULL, NULL);
  /* Every other fd gets CLOEXEC: nothing of the spawner leaks into the container
   * (runc CVE-2024-21626). The error pipe is CLOEXEC already and closes at execve. */
  CHECK(w, MP_SYS3(SYS_close_range, 3 + c->nextra, ~0U, MP_CLOSE_RANGE_CLOEXEC), "close_range", NULL, NULL);
  if (c->p->ctty) CHECK(w, MP_SYS3(SYS_ioctl, 0, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", NULL, NULL);
}

/* ---- the console (runc's console socket) ---- */

/* A terminal of the container's own devpts, opened once its root is /: the master goes to
 * the console socket (one SCM_RIGHTS message with one fd, "/dev/ptmx" as data, as runc
 * sends it), the slave becomes stdin, stdout and stderr. /dev/pts/ptmx is opened without
 * following a link, without blocking, and must be the devpts multiplexer (5:2): a rootfs
 * that planted anything else there gets nothing opened through it. */
static void do_console(struct walk *w) {
  struct mp_child *c = w->c;
  mp_set_step(w, "console", -1, NULL);
  long m = CHECK(w, MP_SYS3(SYS_open, "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, 0), "open", "/dev/pts/ptmx", NULL);
  struct stat st;
  CHECK(w, MP_SYS4(SYS_newfstatat, m, "", &st, MP_AT_EMPTY_PATH), "fstat", "/dev/pts/ptmx", NULL);
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) mp_die(w, "open", -ENOTTY, "/dev/pts/ptmx", "(not the devpts multiplexer)");
  CHECK(w, MP_SYS3(SYS_fcntl, m, F_SETFL, O_RDWR), "fcntl", "/dev/pts/ptmx", NULL);
  int unlock = 0;
  CHECK(w, MP_SYS3(SYS_ioctl, m, TIOCSPTLCK, &unlock), "ioctl(TIOCSPTLCK)", "/dev/pts/ptmx", NULL);
  long s = CHECK(w, MP_SYS3(SYS_ioctl, m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC), "ioctl(TIOCGPTPEER)", "/dev/pts/ptmx", NULL);
  char cbuf[CMSG_SPACE(sizeof(int))];
  xzero(cbuf, sizeof cbuf);
  char name[] = "/dev/ptmx";
  struct iovec iov = {name, sizeof name - 1};
  struct msghdr msg;
  xzero(&msg, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  int mfd = (int)m;
  xcopy(CMSG_DATA(h), &mfd, sizeof mfd);
  CHECK(w, MP_SYS3(SYS_sendmsg, c->console_fd, &msg, MSG_NOSIGNAL), "sendmsg", "(console socket)", NULL);
  MP_SYS1(SYS_close, m);
  MP_SYS1(SYS_close, c->console_fd);
  c->console_fd = -1;
  for (int i = 0; i < 3; i++) c->stdio[i] = (int)s;
}

/* ---- exec ---- */

static const char *env_get(char **env, const char *name) {
  size_t n = xlen(name);
  for (char **e = env; *e; e++)
    if (!xneq(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

__attribute__((noreturn)) static void do_exec(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  const char *file = p->argv[0];
  mp_set_step(w, "exec", -1, NULL);
  MP_SYS1(SYS_umask, 022);
  if (xchr(file, '/')) {
    long r = MP_SYS3(SYS_execve, file, p->argv, p->env);
    mp_die(w, "execve", r, file, NULL);
  }
  const char *path = env_get(p->env, "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  long seen = -ENOENT;
  char buf[PATHBUF];
  for (const char *s = path;; s++) {
    const char *e = xchr(s, ':');
    size_t len = e ? (size_t)(e - s) : xlen(s);
    if (len == 0) cpy(buf, sizeof(buf), ".");
    else if (len < sizeof(buf) - 1) { xcopy(buf, s, len); buf[len] = 0; }
    else buf[0] = 0;
    cat(buf, sizeof(buf), "/");
    cat(buf, sizeof(buf), file);
    long r = MP_SYS3(SYS_execve, buf, p->argv, p->env);
    if (r == -EACCES) seen = r;
    else if (r != -ENOENT && r != -ENOTDIR && r != -ENAMETOOLONG) mp_die(w, "execve", r, buf, NULL);
    if (!e) break;
    s = e;
  }
  mp_report(w, "execve", seen, file, NULL, "executable file not found in $PATH");
  MP_SYS1(SYS_exit_group, 127);
  __builtin_unreachable();
}

static void install_seccomp(struct walk *w) {
  mp_set_step(w, "seccomp", -1, NULL);
  CHECK(w, MP_SYS3(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, 0, &w->c->seccomp), "seccomp(SECCOMP_SET_MODE_FILTER)", NULL, NULL);
}

/* ---- the two stages ---- */

/* The namespace steps of one stage (later: those marked "after": "mounts"), joins first in
 * plan order, then every create in one unshare. */
static void enter_namespaces(struct walk *w, int later) {
  struct mp_child *c = w->c;
  const struct mp_proc *p = c->p;
  int create = 0;
  for (int i = 0; i < p->nns; i++) {
    const struct mp_ns_op *o = &p->ns[i];
    if (o->after_mounts != later) continue;
    mp_set_step(w, "namespaces", i, o->action == MP_NS_JOIN ? "join" : "create");
    if (o->action == MP_NS_JOIN) CHECK(w, MP_SYS2(SYS_setns, c->nsfd[i], o->flag), "setns", o->path, o->type);
    else create |= o->flag;
    if (o->action == MP_NS_JOIN && o->flag == CLONE_NEWUSER) {
      /* We are still host uid 0, which the namespace does not map: become its root now,
       * while every capability in it is ours, so that the identity step can drop them and
       * still set the plan's ids (and files we create have an owner it knows). */
      CHECK(w, MP_SYS3(SYS_setresgid, 0, 0, 0), "setresgid", "(the user namespace's root)", NULL);
      CHECK(w, MP_SYS3(SYS_setresuid, 0, 0, 0), "setresuid", "(the user namespace's root)", NULL);
    }
  }
  if (create) {
    mp_set_step(w, "namespaces", -1, "unshare");
    CHECK(w, MP_SYS1(SYS_unshare, create), "unshare", NULL, NULL);
  }
}

static int stage2(void *arg) {
  struct mp_child *c = arg;
  const struct mp_proc *p = c->p;
  struct walk w = {c, c->errfd, "", -1};
  /* Keep our own pipes out of the range that stdio and extra fds are dup'ed into. */
  w.errfd = (int)MP_SYS3(SYS_fcntl, c->errfd, F_DUPFD_CLOEXEC, 100);
  int syncfd = c->syncfd >= 0 ? (int)MP_SYS3(SYS_fcntl, c->syncfd, F_DUPFD_CLOEXEC, 100) : -1;
  MP_SYS1(SYS_umask, 0); /* modes in the plan are exact */
  if (p->parent_death_signal) {
    /* pause dies with its supervisor, so no pod process is left that no state names. Set,
     * then check that the spawner did not die just before (we would never be signalled). */
    mp_set_step(&w, "parentDeathSignal", -1, NULL);
    CHECK(&w, MP_SYS5(SYS_prctl, PR_SET_PDEATHSIG, p->parent_death_signal, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)", NULL, NULL);
    struct { int fd; short events, revents; } pfd = {c->spawner_pidfd, 1 /* POLLIN */, 0};
    struct { long s, ns; } zero = {0, 0};
    if (MP_SYS5(SYS_ppoll, &pfd, 1, &zero, NULL, 0) != 0) mp_die(&w, "ppoll", -ESRCH, "(the spawner is gone)", NULL);
  }
  if (p->setsid) {
    mp_set_step(&w, "setsid", -1, NULL);
    CHECK(&w, MP_SYS0(SYS_setsid), "setsid", NULL, NULL);
  }
  /* sysctls, while /proc is still the host's: /proc/sys/net and the IPC ones are those of
   * the namespaces this process is in (an OCI config's linux.sysctl). */
  for (int i = 0; i < p->nsysctls; i++) {
    mp_set_step(&w, "sysctls", i, NULL);
    char path[PATHBUF] = "/proc/sys/";
    size_t at = xlen(path);
    for (const char *q = p->sysctls[i].name; *q && at < sizeof(path) - 1; q++) path[at++] = *q == '.' ? '/' : *q;
    path[at] = 0;
    long fd = CHECK(&w, MP_SYS3(SYS_open, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0), "open", path, NULL);
    CHECK(&w, MP_SYS3(SYS_write, fd, p->sysctls[i].value, xlen(p->sysctls[i].value)), "write", path, NULL);
    MP_SYS1(SYS_close, fd);
  }
  mp_do_mounts(&w);
  /* What comes after the mounts: the user namespace (the mount namespace stays the host
   * root's, so nothing in the container can mount or unmount in it), and what pause then
   * creates inside it (the pod's network, UTS and IPC namespaces, owned by it). */
  enter_namespaces(&w, 1);
  if (p->loopback_up) {
    mp_set_step(&w, "loopback", -1, NULL);
    long s = CHECK(&w, MP_SYS3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "lo", NULL);
    struct ifreq ifr;
    xzero(&ifr, sizeof(ifr));
    cpy(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    CHECK(&w, MP_SYS3(SYS_ioctl, s, SIOCGIFFLAGS, &ifr), "ioctl(SIOCGIFFLAGS)", "lo", NULL);
    ifr.ifr_flags |= IFF_UP;
    CHECK(&w, MP_SYS3(SYS_ioctl, s, SIOCSIFFLAGS, &ifr), "ioctl(SIOCSIFFLAGS)", "lo", NULL);
    MP_SYS1(SYS_close, s);
  }
  if (p->hostname) {
    mp_set_step(&w, "hostname", -1, NULL);
    CHECK(&w, MP_SYS2(SYS_sethostname, p->hostname, xlen(p->hostname)), "sethostname", p->hostname, NULL);
  }
  if (p->domainname) {
    mp_set_step(&w, "domainname", -1, NULL);
    CHECK(&w, MP_SYS2(SYS_setdomainname, p->domainname, xlen(p->domainname)), "setdomainname", p->domainname, NULL);
  }
  mp_set_step(&w, "cwd", -1, NULL);
  CHECK(&w, MP_SYS1(SYS_chdir, p->cwd), "chdir", p->cwd, NULL);
  /* seccomp: without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter, so it
   * goes in now, before the privileges are dropped (the filter must then allow the few
   * calls left: setresuid, capset, prctl, close_range, execve: RuntimeDefault does); with
   * no_new_privs it is the very last step before execve. */
  for (int i = 0; i < p->nrlimits; i++) {
    mp_set_step(&w, "rlimits", i, NULL);
    struct { unsigned long long cur, max; } lim = {p->rlimits[i].soft, p->rlimits[i].hard};
    CHECK(&w, MP_SYS4(SYS_prlimit64, 0, p->rlimits[i].resource, &lim, NULL), "prlimit64", NULL, NULL);
  }
  if (c->console_fd >= 0) do_console(&w);
  /* stdio and fds first: a profile need not allow dup3 or close_range (docker's older one
   * does not), and without no_new_privs the filter goes in before the identity step. */
  do_fds(&w);
  if (c->seccomp.len && !p->no_new_privs) install_seccomp(&w);
  do_identity(&w);
  if (syncfd >= 0) {
    /* The spawner wants our mount namespace (the supervisor keeps it to find what a
     * container leaves behind): it opens it while we wait, then lets us go on. */
    mp_set_step(&w, "sync", -1, NULL);
    struct mp_rec r;
    xzero(&r, sizeof(r));
    r.kind = MP_REC_READY;
    MP_SYS3(SYS_write, w.errfd, &r, sizeof(r));
    char go;
    if (MP_SYS3(SYS_read, syncfd, &go, 1) != 1) mp_die(&w, "read", -EPIPE, "(sync pipe)", NULL);
  }
  if (c->seccomp.len && p->no_new_privs) install_seccomp(&w);
  /* An OCI config's startContainer hooks: now, as the workload, under its filter. */
  if (p->nstart_hooks) {
    if (syncfd < 0) mp_die(&w, "read", -EPIPE, "(startHooks need a start gate)", NULL);
    mp_start_hooks(&w, syncfd);
  }
  do_exec(&w);
}

/* Closes every fd except those the child needs: it has a copy of the spawner's fd table
 * (Node's sockets, the supervisor's epoll, signalfd and log files) and is about to enter
 * namespaces where a container's processes can look at it. */
static void close_others(struct walk *w) {
  struct mp_child *c = w->c;
  int keep[MP_MAX_NS + MP_MAX_CGROUPS + 3 + 16 + 4];
  int n = 0;
  keep[n++] = c->errfd;
  if (c->syncfd >= 0) keep[n++] = c->syncfd;
  if (c->spawner_pidfd >= 0) keep[n++] = c->spawner_pidfd;
  if (c->console_fd >= 0) keep[n++] = c->console_fd;
  if (c->home_mntns >= 0) keep[n++] = c->home_mntns;
  for (int i = 0; i < MP_MAX_NS; i++)
    if (c->nsfd[i] >= 0) keep[n++] = c->nsfd[i];
  for (int i = 0; i < MP_MAX_CGROUPS; i++)
    if (c->cgfd[i] >= 0) keep[n++] = c->cgfd[i];
  for (int i = 0; i < 3; i++) keep[n++] = c->stdio[i] == MP_STDIO_INHERIT ? i : c->stdio[i];
  for (int i = 0; i < c->nextra && i < 16; i++)
    if (c->extra[i] >= 0) keep[n++] = c->extra[i];
  for (int i = 1; i < n; i++) /* insertion sort: a few dozen entries at most */
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned lo = 0;
  mp_set_step(w, "fds", -1, NULL);
  for (int i = 0; i < n; i++) {
    if (keep[i] < 0) continue;
    if ((unsigned)keep[i] > lo) CHECK(w, MP_SYS3(SYS_close_range, lo, (unsigned)keep[i] - 1, 0), "close_range", NULL, NULL);
    if ((unsigned)keep[i] + 1 > lo) lo = (unsigned)keep[i] + 1;
  }
  CHECK(w, MP_SYS3(SYS_close_range, lo, ~0U, 0), "close_range", NULL, NULL);
}

int mp_child_entry(void *arg) {
  struct mp_child *c = arg;
  const struct mp_proc *p = c->p;
  struct walk w = {c, c->errfd, "", -1};

  /* Before anything else: not dumpable, so that no process of a container we are about to
   * join can open our /proc/PID/{mem,fd,root,environ} (ptrace access). The flag belongs to
   * our memory, which is ours alone (spawn.c clones without CLONE_VM); execve resets it for
   * the workload, which then holds only what it was given. */
  mp_set_step(&w, "dumpable", -1, NULL);
  CHECK(&w, MP_SYS5(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)", NULL, NULL);
  close_others(&w);

  /* Signals: the parent blocked them all around clone. Handlers are Node's (or the
   * supervisor's) and must never run here, and ignored signals (Node ignores SIGPIPE) must
   * not leak into the container: everything back to SIG_DFL, then unblock. */
  struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
  for (int sig = 1; sig < 65; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) MP_SYS4(SYS_rt_sigaction, sig, &dfl, NULL, 8);
  uint64_t none = 0;
  MP_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

  /* Into the cgroups first: everything from here on (the second fork, the workload and
   * whatever it starts) is accounted and limited there. Then oom_score_adj, while /proc is
   * still the host's. */
  for (int i = 0; i < p->ncgroups; i++) {
    mp_set_step(&w, "cgroups", i, NULL);
    CHECK(&w, MP_SYS3(SYS_write, c->cgfd[i], "0", 1), "write(cgroup.procs)", p->cgroups[i], NULL);
    MP_SYS1(SYS_close, c->cgfd[i]);
  }
  if (p->set_oom) {
    mp_set_step(&w, "oomScoreAdj", -1, NULL);
    char v[16];
    int k = 0, x = p->oom_score_adj < 0 ? -p->oom_score_adj : p->oom_score_adj;
    char rev[16];
    int r = 0;
    do rev[r++] = (char)('0' + x % 10); while ((x /= 10) && r < 15);
    if (p->oom_score_adj < 0) v[k++] = '-';
    while (r) v[k++] = rev[--r];
    long fd = CHECK(&w, MP_SYS3(SYS_open, "/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC, 0), "open", "/proc/self/oom_score_adj", NULL);
    CHECK(&w, MP_SYS3(SYS_write, fd, v, k), "write", "/proc/self/oom_score_adj", NULL);
    MP_SYS1(SYS_close, fd);
  }

  /* Join first (from fds opened before the clone), then create: a new namespace must be
   * created inside the ones it joined (e.g. a mount namespace under the pod's). */
  enter_namespaces(&w, 0);
  if (!c->need_fork) return stage2(c);

  /* setns/unshare of a pid namespace only applies to children: fork once more. With
   * CLONE_PARENT the workload becomes a direct child of the spawner, which watches it by
   * pidfd; this middle process only reports the pid and exits. */
  mp_set_step(&w, "namespaces", -1, "fork");
  /* CLONE_VM here shares only this process's private copy, which is not dumpable. No
   * CLONE_VFORK: the spawner needs our PID record while the workload may still wait for it
   * before its execve (the sync step). We only write that record and exit. */
  int pid = clone(stage2, c->stack2 + c->stack2_size, CLONE_VM | CLONE_PARENT | SIGCHLD, c);
  if (pid < 0) mp_die(&w, "clone", -errno, NULL, NULL);
  struct mp_rec r;
  xzero(&r, sizeof(r));
  r.kind = MP_REC_PID;
  r.pid = pid;
  MP_SYS3(SYS_write, c->errfd, &r, sizeof(r));
  MP_SYS1(SYS_exit, 0);
  return 0;
}
