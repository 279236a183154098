/* minipod-shim RUN_DIR
 * minipod-shim --unwind keep|remove RUN_DIR LIB_DIR   (unwind.c: after a supervisor died)
 *
 * Reads RUN_DIR/plan.json and RUN_DIR/state.json (the host record and journal TypeScript
 * wrote before launching it), supervises the pod until it ends, and from its start on is
 * the only writer of state.json. fd 3, when open, is a control socket to whoever launched
 * it (the minipod CLI or the library), one line per message:
 *   shim -> launcher:  "pause PID" (pause runs and is pinned, the plan's hostOps are done),
 *                      "running", "error WHAT MESSAGE", "done PHASE EXITCODE"
 *   launcher -> shim:  "go" (start the containers), "stop", "kill" (stop without grace),
 *                      "remove" (stop without grace, then remove everything),
 *                      "detach" (keep running after you go)
 * If the launcher goes away without "detach" (it crashed, or a test process died), the pod
 * is stopped and removed: nothing outlives its owner by accident. At the end the supervisor
 * unwinds the pod's journal itself (unwind.c) as supervisor.atExit says: "keep" the state
 * for ps -a and logs, "remove" everything, or "none".
 * Signals: SIGTERM/SIGINT/SIGHUP stop the pod gracefully (a second SIGINT: no grace);
 * SIGUSR1 (`minipod rm`) stops it and removes everything; SIGUSR2 (`rm -f`) the same
 * without a grace period. A signal sent with a value (SI_QUEUE) carries the grace period
 * in ms to use instead of the plan's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

static char ctlbuf[256];
static size_t ctllen;

void epoll_add(struct pod *p, int fd, uint64_t tag) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
  if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) logmsg(p, "epoll_ctl add %d: %s", fd, strerror(errno));
}

void epoll_del(struct pod *p, int fd) {
  epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void ctl_send(struct pod *p, const char *fmt, ...) {
  if (p->ctl < 0) return;
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  if (send(p->ctl, line, (size_t)n, MSG_NOSIGNAL) < 0) {
    /* the launcher is gone; the EOF on its socket will tell us */
  }
}

static void ctl_gone(struct pod *p) {
  epoll_del(p, p->ctl);
  close(p->ctl);
  p->ctl = -1;
  p->wait_go = 0;
  if (!p->detached) {
    p->owner_gone = 1;
    pod_stop(p, "its owner went away");
  }
}

static void on_ctl(struct pod *p) {
  ssize_t n = read(p->ctl, ctlbuf + ctllen, sizeof(ctlbuf) - ctllen - 1);
  if (n <= 0) {
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    ctl_gone(p);
    return;
  }
  ctllen += (size_t)n;
  char *nl;
  while ((nl = memchr(ctlbuf, '\n', ctllen))) {
    *nl = 0;
    if (!strcmp(ctlbuf, "go")) p->wait_go = 0;
    else if (!strcmp(ctlbuf, "stop")) pod_stop(p, "asked to stop");
    else if (!strcmp(ctlbuf, "kill")) { p->grace_ms = 0; pod_stop(p, "asked to stop now"); }
    else if (!strcmp(ctlbuf, "remove")) { p->grace_ms = 0; p->remove = 1; pod_stop(p, "removed"); }
    else if (!strcmp(ctlbuf, "detach")) p->detached = 1;
    else logmsg(p, "unknown control message \"%s\"", ctlbuf);
    size_t used = (size_t)(nl - ctlbuf) + 1;
    memmove(ctlbuf, ctlbuf + used, ctllen - used);
    ctllen -= used;
  }
  if (ctllen == sizeof(ctlbuf) - 1) ctllen = 0; /* garbage without newlines */
}

static void on_signal(struct pod *p, int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
    /* A stop sent with a value (SI_QUEUE; the API's stop({gracePeriodSeconds}), `stop -t`):
     * that many ms of grace instead of the plan's. */
    if (si.ssi_code == SI_QUEUE && si.ssi_int >= 0 && si.ssi_signo != SIGINT) p->grace_ms = si.ssi_int;
    if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2) {
      /* `minipod rm` (USR2: rm -f, no grace): stop, then remove everything */
      p->remove = 1;
      if (si.ssi_signo == SIGUSR2) p->grace_ms = 0;
      pod_stop(p, "removed");
    } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP) {
      if (p->stopping && si.ssi_signo == SIGINT) p->grace_ms = 0; /* a second interrupt: no more grace */
      pod_stop(p, signal_name((int)si.ssi_signo));
    }
  }
}

static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1))) {
    ssize_t n = read(fd, buf, (size_t)st.st_size);
    if (n != st.st_size) { free(buf); buf = NULL; }
    else { buf[n] = 0; *len = (size_t)n; }
  }
  close(fd);
  return buf;
}

/* Fail closed: a policy we do not know is an error, never "Always". */
static int policy(const char *s) {
  if (s && !strcmp(s, "Never")) return RP_NEVER;
  if (s && !strcmp(s, "OnFailure")) return RP_ONFAILURE;
  if (s && !strcmp(s, "Always")) return RP_ALWAYS;
  return -1;
}

static int load_containers(struct pod *p, struct mp_arena *a, const struct mp_json *list, int init) {
  if (!list) return 0;
  for (struct mp_json *j = list->child; j; j = j->next) {
    struct ctr *c = &p->ctrs[p->nctrs++];
    memset(c, 0, sizeof(*c));
    c->name = mp_json_str(j, "name", "?");
    c->init = init;
    c->process = mp_json_get(j, "process");
    int pol = policy(mp_json_str(j, "restartPolicy", NULL));
    if (pol < 0) {
      fprintf(stderr, "minipod-shim: container %s: restartPolicy must be Always, OnFailure or Never\n", c->name);
      return -1;
    }
    c->policy = (enum restart_policy)pol;
    c->sidecar = init && mp_json_bool(j, "sidecar", 0);
    c->stop_signal = signal_number(mp_json_str(j, "stopSignal", "SIGTERM"));
    c->log_dir = mp_json_str(j, "logDir", NULL);
    c->pidfd = c->logfd = c->out.fd = c->err.fd = c->mntns = -1;
    c->layer_index = -1;
    c->layer_dir = mp_json_str(j, "layerDir", NULL);
    const struct mp_json *owner = mp_json_get(j, "layerOwner");
    c->layer_uid = owner ? (long)mp_json_num(owner, "uid", -1) : -1;
    c->layer_gid = owner ? (long)mp_json_num(owner, "gid", -1) : -1;
    if (owner && (c->layer_uid < 1 || c->layer_gid < 1 || c->layer_uid > 4294967294L || c->layer_gid > 4294967294L)) {
      fprintf(stderr, "minipod-shim: container %s: layerOwner needs uid and gid above 0\n", c->name);
      return -1;
    }
    struct mp_json *ops = mp_json_get(c->process, "mounts");
    for (struct mp_json *m = ops ? ops->child : NULL; m; m = m->next) {
      if (strcmp(mp_json_str(m, "op", ""), "rootfs") || strcmp(mp_json_str(m, "kind", ""), "overlay")) continue;
      c->upper_node = mp_json_get(m, "upper");
      c->work_node = mp_json_get(m, "work");
      if (!c->upper_node || !c->work_node || !c->layer_dir) {
        fprintf(stderr, "minipod-shim: container %s: an overlay root needs upper, work and layerDir\n", c->name);
        return -1;
      }
    }
    if (!c->process || !c->log_dir) {
      fprintf(stderr, "minipod-shim: container %s: plan needs process and logDir\n", c->name);
      return -1;
    }
    const struct mp_json *cg = mp_json_get(j, "cgroup");
    if (cg) {
      c->cg_version = (int)mp_json_num(cg, "version", 0);
      c->cg_dirs = mp_json_get(cg, "dirs");
      c->cg_dir = c->cg_dirs && c->cg_dirs->child ? c->cg_dirs->child->str : NULL;
      c->cg_memory = mp_json_str(cg, "memory", NULL);
      c->cg_freezer = mp_json_str(cg, "freezer", NULL);
      if ((c->cg_version != 1 && c->cg_version != 2) || !c->cg_dir || c->cg_dir[0] != '/') {
        fprintf(stderr, "minipod-shim: container %s: cgroup needs version 1 or 2 and its dirs\n", c->name);
        return -1;
      }
    }
    c->oom_base = -1;
    char err[256];
    if (probes_load(c, j, err, sizeof(err)) < 0) {
      fprintf(stderr, "minipod-shim: container %s: %s\n", c->name, err);
      return -1;
    }
  }
  (void)a;
  return 0;
}

/* What the pod needs before pause could not be made: it fails, nothing was started. */
static void fail_before_pause(struct pod *p, const char *what, const char *reason, const char *msg) {
  logmsg(p, "the pod's %s could not be made: %s", what, msg);
  ctl_send(p, "error %s %s", what, msg);
  snprintf(p->phase, sizeof(p->phase), "Failed");
  snprintf(p->reason, sizeof(p->reason), "%s", reason);
  p->pause_dead = 1;
  p->stopping = 1;
}

/* Fail closed here too: an atExit we do not know is an error, not "none". */
static int at_exit_of(const char *s) {
  if (!s || !strcmp(s, "none")) return AT_NOTHING;
  if (!strcmp(s, "keep")) return AT_KEEP;
  if (!strcmp(s, "remove")) return AT_REMOVE;
  return -1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "--unwind")) return unwind_main(argc, argv);
  if (argc != 2) {
    fprintf(stderr, "usage: minipod-shim RUN_DIR | --unwind keep|remove RUN_DIR LIB_DIR\n");
    return 2;
  }
  static struct pod pod;
  struct pod *p = &pod;
  memset(p, 0, sizeof(*p));
  p->run_dir = argv[1];
  p->pause_pidfd = -1;
  p->userns_fd = -1;
  p->host_netfd = p->pod_netfd = -1;
  p->self_start = proc_start(getpid());
  p->pause_start = -1;
  snprintf(p->pin, sizeof p->pin, "%s/ipc.ns", p->run_dir);
  snprintf(p->phase, sizeof(p->phase), "Pending");

  char path[4096];
  snprintf(path, sizeof(path), "%s/plan.json", p->run_dir);
  size_t len = 0;
  char *text = slurp(path, &len);
  if (!text) {
    fprintf(stderr, "minipod-shim: read %s: %s\n", path, strerror(errno));
    return 1;
  }
  static struct mp_arena arena;
  char err[512];
  struct mp_json *root = mp_json_parse(&arena, text, len, err, sizeof(err));
  const struct mp_json *plan = mp_json_get(root, "pod"), *sup = mp_json_get(root, "supervisor");
  if (!root || !plan || !sup) {
    fprintf(stderr, "minipod-shim: %s: %s\n", path, root ? "needs \"pod\" and \"supervisor\"" : err);
    return 1;
  }
  /* A plan written by another minipod version (an upgrade while pods run) is refused, not guessed at. */
  const struct mp_json *ver = mp_json_get(root, "version");
  if (!ver || ver->type != MP_JNUM || ver->num != MP_PLAN_VERSION) {
    fprintf(stderr, "minipod-shim: %s: plan format version %s, this supervisor reads version %d\n", path, ver && ver->type == MP_JNUM ? "other" : "missing", MP_PLAN_VERSION);
    return 1;
  }
  p->name = mp_json_str(plan, "pod", "?");
  p->uid = mp_json_str(plan, "uid", "");
  p->pause_plan = mp_json_get(plan, "pause");
  {
    char herr[256];
    if (mp_hostops_decode(&arena, mp_json_get(plan, "hostOps"), &p->hostops, herr, sizeof herr) < 0) {
      fprintf(stderr, "minipod-shim: %s\n", herr);
      return 1;
    }
  }
  {
    char cerr[256];
    if (cgroups_decode(&arena, mp_json_get(plan, "cgroups"), &p->cg, cerr, sizeof cerr) < 0) {
      fprintf(stderr, "minipod-shim: %s\n", cerr);
      return 1;
    }
  }
  p->userns_spec = mp_json_get(plan, "userNamespace");
  const struct mp_json *job = mp_json_get(plan, "job");
  if (job) {
    p->job_completions = (int)mp_json_num(job, "completions", 0);
    p->job_backoff_limit = (int)mp_json_num(job, "backoffLimit", -1);
    if (p->job_completions < 1 || p->job_completions > 1000000 || p->job_backoff_limit < 0) {
      fprintf(stderr, "minipod-shim: %s: job needs completions >= 1 and backoffLimit >= 0\n", path);
      return 1;
    }
  }
  double ads = mp_json_num(plan, "activeDeadlineSeconds", 0);
  if (ads > 0) p->deadline = now_ms() + (int64_t)(ads * 1000);
  p->prefix_pod = mp_json_bool(sup, "prefixPod", 0);
  p->grace_ms = (int)(mp_json_num(plan, "terminationGracePeriodSeconds", 30) * 1000);
  p->state_file = mp_json_str(sup, "stateFile", NULL);
  p->attach = mp_json_bool(sup, "attach", 0);
  p->wait_go = mp_json_bool(sup, "waitForGo", 0);
  const struct mp_json *bo = mp_json_get(sup, "backoff");
  p->backoff_initial = (int64_t)mp_json_num(bo, "initialMs", 10000);
  p->backoff_max = (int64_t)mp_json_num(bo, "maxMs", 300000);
  p->backoff_reset = (int64_t)mp_json_num(bo, "resetMs", 600000);
  int at = at_exit_of(mp_json_str(sup, "atExit", NULL));
  if (at < 0) {
    fprintf(stderr, "minipod-shim: %s: supervisor.atExit must be \"keep\", \"remove\" or \"none\"\n", path);
    return 1;
  }
  p->at_exit = (enum at_exit)at;
  const struct mp_json *inits = mp_json_get(plan, "initContainers"), *apps = mp_json_get(plan, "containers");
  int total = (int)((inits ? inits->len : 0) + (apps ? apps->len : 0));
  p->ctrs = mp_arena_alloc(&arena, (size_t)(total ? total : 1) * sizeof(struct ctr));
  if (!p->state_file || !p->pause_plan || !p->ctrs || load_containers(p, &arena, inits, 1) < 0) return 1;
  p->ninit = p->nctrs;
  if (load_containers(p, &arena, apps, 0) < 0) return 1;
  if (state_load(p, err, sizeof err) < 0) {
    fprintf(stderr, "minipod-shim: %s\n", err);
    return 1;
  }

  /* fd 3 is the control socket when the launcher passed one. */
  p->ctl = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  if (p->ctl >= 0) fcntl(p->ctl, F_SETFD, FD_CLOEXEC);
  if (p->ctl < 0) p->detached = 1;

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  signal(SIGPIPE, SIG_IGN); /* the executor resets it to default in every child */
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  prctl(PR_SET_NAME, "minipod-shim", 0, 0, 0);
  epoll_add(p, sfd, TAG(T_SIGNAL, 0));
  if (p->ctl >= 0) epoll_add(p, p->ctl, TAG(T_CTL, 0));
  rfc3339(p->started_at, sizeof(p->started_at));
  state_write(p);

  control_listen(p); /* `minipod exec` asks here; without it, exec says the pod cannot be reached */
  struct mp_error cgerr;
  char msg[700];
  if (cgroups_setup(p, &cgerr) < 0) {
    /* No cgroups, no pod: its limits could not be kept. Nothing was started yet. */
    describe_error(&cgerr, msg, sizeof msg);
    fail_before_pause(p, "cgroups", "CgroupSetupError", msg);
  } else if (p->userns_spec && (p->userns_fd = userns_make(p->userns_spec, msg, sizeof msg)) < 0) {
    fail_before_pause(p, "userns", "UserNamespaceError", msg);
  } else {
    pod_start_pause(p);
  }
  /* Pin pause's IPC namespace (how the unwind finds every process of the pod), then the
   * host side of the network, by netlink, while nothing of the pod runs yet. */
  if (!p->pause_dead && pod_pin(p) < 0) {
    ctl_send(p, "error pause could not pin its IPC namespace at %s", p->pin);
    snprintf(p->phase, sizeof(p->phase), "Failed");
    snprintf(p->reason, sizeof(p->reason), "PauseStartError");
    pod_stop(p, "pause could not be pinned");
  } else if (!p->pause_dead && pod_wire(p) == 0) {
    ctl_send(p, "pause %d", p->pause_pid);
  }

  struct epoll_event evs[16];
  while (!pod_finished(p)) {
    int timeout = -1;
    int64_t next = pod_next_deadline(p);
    if (next) timeout = next <= now_ms() ? 0 : (int)(next - now_ms());
    int n = epoll_wait(p->epfd, evs, 16, timeout);
    if (n < 0 && errno != EINTR) {
      logmsg(p, "epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; i++) {
      uint64_t t = evs[i].data.u64;
      int v = TAG_VAL(t);
      switch (TAG_KIND(t)) {
        case T_SIGNAL: on_signal(p, sfd); break;
        case T_CTL: if (p->ctl >= 0) on_ctl(p); break;
        case T_PIDFD: pod_on_exit(p, v); break;
        case T_OUT: if (p->ctrs[v].out.fd >= 0) logs_on_readable(p, &p->ctrs[v], &p->ctrs[v].out); break;
        case T_ERR: if (p->ctrs[v].err.fd >= 0) logs_on_readable(p, &p->ctrs[v], &p->ctrs[v].err); break;
        case T_ACT:
        case T_ACTOUT: probes_on_event(p, t, evs[i].events); break;
        case T_REAP: reap_orphan(p, v); break;
        case T_LISTEN: control_on_accept(p); break;
        case T_CONN: control_on_conn(p, v); break;
        case T_EXEC: control_on_exit(p, v); break;
      }
    }
    pod_on_deadline(p);
    if (!p->wait_go || p->stopping) pod_step(p);
  }

  /* A pod stopped from outside ends in the phase its containers' exits say. */
  if (!strcmp(p->phase, "Pending") || !strcmp(p->phase, "Running")) {
    int failed = 0;
    for (int i = p->ninit; i < p->nctrs; i++)
      if (p->ctrs[i].state == CS_TERMINATED && (p->ctrs[i].exit_code || p->ctrs[i].signal)) failed = 1;
    snprintf(p->phase, sizeof(p->phase), "%s", failed ? "Failed" : "Succeeded");
  }
  rfc3339(p->finished_at, sizeof(p->finished_at));
  state_write(p);
  ctl_send(p, "done %s %d", p->phase, pod_exit_code(p));
  /* The host side, from the journal: by us, in this process, not by a program we start. */
  control_close();
  if (p->ctl >= 0) close(p->ctl);
  p->ctl = -1;
  return pod_unwind(p, p->remove || p->owner_gone ? AT_REMOVE : p->at_exit, 1) < 0 ? 1 : 0;
}
