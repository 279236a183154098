/* exec: a process.json run in every namespace and the cgroup of the container's init, with
 * its seccomp filter. The namespaces are joined through a pidfd of the init opened before
 * its start time is checked (setns(pidfd)): a pid reused in between can never be entered.
 * The process is translated as the init's is (translate.c) and walked by the same executor.
 * With --detach (what containerd's shim passes) exec returns once it runs; else it waits
 * and exits with the process's code (128+N for a signal). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../exec/describe.h"
#include "../exec/spawn.h"
#include "create.h"

static int resolve_init(void *ctx, const char *who) {
  return !strcmp(who, "init") ? *(int *)ctx : -1;
}

int oci_exec(const char *root, const struct oci_exec_opts *o, int *exit_code, struct oci_err *e) {
  *exit_code = 0;
  struct oci_state s;
  struct mp_arena arena = {0};
  struct jw w = {0};
  int rc = -1, initfd = -1, console = -1;
  if (oci_state_load(root, o->id, &s, e) < 0) goto out;
  if (oci_status(root, &s) != OCI_RUNNING) { oci_fail(e, "container not running"); goto out; }
  size_t len;
  char *text = oci_slurp(o->process, &len);
  if (!text) { oci_fail(e, "%s: %s", o->process, strerror(errno)); goto out; }
  char jerr[256];
  const struct mp_json *p = mp_json_parse(&arena, text, len, jerr, sizeof(jerr));
  free(text);
  if (!p || p->type != MP_JOBJ) { oci_fail(e, "%s: %s", o->process, p ? "not an object" : jerr); goto out; }
  char lsms[256];
  oci_host_lsms(lsms, sizeof(lsms));
  if (oci_check_lsm(p, lsms, "process.json", e) < 0) goto out;
  if (mp_json_bool(p, "terminal", 0) && !o->console_socket) { oci_fail(e, "process.json terminal: needs --console-socket"); goto out; }

  /* The init's namespaces, in the order an exec enters them, as the config created them. */
  static const char *const ORDER[][2] = {{"user", "user"}, {"ipc", "ipc"}, {"uts", "uts"}, {"network", "net"}, {"pid", "pid"}, {"mount", "mnt"}, {"cgroup", "cgroup"}};
  const struct mp_json *nss = mp_json_get(s.root, "namespaces");
  int own_mnt = 0;
  for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next) own_mnt |= n->type == MP_JSTR && !strcmp(n->str, "mount");
  /* Without it the init is rooted in a detached tree that a join of namespaces does not
   * reach: the process would run on the host's root. */
  if (!own_mnt) { oci_fail(e, "exec: the container has no mount namespace of its own (its root cannot be entered)"); goto out; }
  JW_LIT(&w, "{\"pod\":\"\",\"container\":");
  oci_jstr(&w, o->id);
  JW_LIT(&w, ",\"namespaces\":[");
  int first = 1;
  for (int i = 0; i < 7; i++) {
    int has = 0;
    for (const struct mp_json *n = nss && nss->type == MP_JARR ? nss->child : NULL; n; n = n->next) has |= n->type == MP_JSTR && !strcmp(n->str, ORDER[i][0]);
    if (!has) continue;
    jw_putf(&w, "%s{\"type\":\"%s\",\"action\":\"join\",\"path\":\"@init/%s\"}", first ? "" : ",", ORDER[i][1], ORDER[i][1]);
    first = 0;
  }
  JW_LIT(&w, "],\"loopbackUp\":false,\"mounts\":[]");
  char dropped[512];
  if (oci_translate_process(p, "process.json", oci_own_bounding(), dropped, sizeof(dropped), &w, e) < 0) goto out;
  if (dropped[0] && o->warn) {
    char m[700];
    snprintf(m, sizeof(m), "process.json capabilities: %s left out: this runtime does not hold them", dropped);
    o->warn(m);
  }
  if (s.ndirs) {
    jw_key(&w, "cgroups");
    JW_LIT(&w, "[");
    for (int i = 0; i < s.ndirs; i++) {
      if (i) JW_LIT(&w, ",");
      oci_jstr(&w, s.dirs[i]);
    }
    JW_LIT(&w, "]");
  }
  const struct mp_json *sc = mp_json_get(s.root, "seccomp");
  if (sc) {
    jw_key(&w, "seccomp");
    jw_node(&w, sc);
  }
  JW_LIT(&w, "}");
  if (w.oom) { oci_fail(e, "out of memory"); goto out; }

  initfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
  if (initfd < 0 || oci_start_time(s.pid) != s.start) { oci_fail(e, "container not running"); goto out; }
  fcntl(initfd, F_SETFD, FD_CLOEXEC);
  char msg[512];
  struct mp_json *pj = mp_json_parse(&arena, w.b, w.len, msg, sizeof(msg));
  struct mp_proc proc;
  if (!pj || mp_plan_decode(&arena, pj, &proc, resolve_init, &initfd, msg, sizeof(msg)) < 0) { oci_fail(e, "plan: %s", msg); goto out; }
  if (proc.ctty && (console = oci_connect_unix(o->console_socket, e)) < 0) goto out;
  struct mp_spawn_io io = {.gate_fd = -1, .console_fd = console};
  for (int i = 0; i < 3; i++) io.stdio[i] = console >= 0 ? MP_STDIO_NULL : MP_STDIO_INHERIT;
  struct mp_spawn_result res;
  struct mp_error err;
  /* Without --detach, exec stands for the process (as runc's does): the signals a terminal
   * or a supervisor sends it are forwarded. Blocked before the spawn, so none is lost; the
   * child unblocks everything before its execve. */
  sigset_t fwd, old;
  sigemptyset(&fwd);
  static const int FORWARD[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM, SIGPIPE};
  for (size_t i = 0; i < sizeof(FORWARD) / sizeof(FORWARD[0]); i++) sigaddset(&fwd, FORWARD[i]);
  if (!o->detach) sigprocmask(SIG_BLOCK, &fwd, &old);
  if (mp_spawn(&proc, &io, &res, &err) < 0) {
    if (!o->detach) sigprocmask(SIG_SETMASK, &old, NULL);
    mp_describe(&err, e->msg, sizeof(e->msg));
    goto out;
  }
  if (console >= 0) { close(console); console = -1; }
  if (o->pid_file && o->pid_file[0] && oci_write_pid_file(o->pid_file, res.pid, e) < 0) {
    kill(res.pid, SIGKILL); /* our own child, not yet reaped */
    close(res.pidfd);
    if (!o->detach) sigprocmask(SIG_SETMASK, &old, NULL);
    goto out;
  }
  if (!o->detach) {
    int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
    for (;;) {
      struct pollfd pf[2] = {{.fd = res.pidfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
      if (poll(pf, sfd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) break;
      if (pf[0].revents) break;
      struct signalfd_siginfo ss;
      if (sfd >= 0 && (pf[1].revents & POLLIN) && read(sfd, &ss, sizeof(ss)) == sizeof(ss))
        syscall(SYS_pidfd_send_signal, res.pidfd, (int)ss.ssi_signo, NULL, 0); /* by pidfd: never a reused pid */
    }
    siginfo_t si = {0};
    while (syscall(SYS_waitid, P_PIDFD, res.pidfd, &si, WEXITED, NULL) < 0 && errno == EINTR) {}
    *exit_code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
    if (sfd >= 0) close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
  }
  close(res.pidfd);
  rc = 0;
out:
  if (initfd >= 0) close(initfd);
  if (console >= 0) close(console);
  free(w.b);
  mp_arena_free(&arena);
  oci_state_free(&s);
  return rc;
}
