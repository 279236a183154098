/* The pod's container state machine, as Kubernetes defines it:
 *  - init containers run one at a time, each to completion, before app containers start;
 *    a sidecar (an init container with restartPolicy Always) is started and left running;
 *  - a container that ends is restarted per restartPolicy after a backoff of
 *    initial * 2^n, capped, reset once a run lasted `reset` ms (10 s, 5 min, 10 min);
 *    while it waits its state is waiting/CrashLoopBackOff and lastState holds the exit;
 *  - a container that cannot be started at all (bad command, bad mount) is terminated with
 *    reason StartError and exit code 128, and the same policy applies to it;
 *  - phase: Pending until every app container has started once, then Running while any
 *    container runs or waits to restart; Succeeded when all ended with 0 for good; Failed
 *    otherwise, or when pause dies;
 *  - stop: the container's stop signal, SIGKILL at the end of the grace period, then pause.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../exec/describe.h"
#include "shim.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

void pidfd_signal(int pidfd, int sig) {
  if (pidfd >= 0) syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* "@pause/..." and "@container:NAME/..." references: the pidfd the supervisor holds;
 * "@pod/user": the pod's user namespace. */
int pod_resolve(void *ctx, const char *who) {
  struct pod *p = ctx;
  if (!strcmp(who, "pause")) return p->pause_dead ? -1 : p->pause_pidfd;
  if (!strcmp(who, "pod")) return p->userns_fd; /* "@pod/user": the namespace's own fd */
  if (!strncmp(who, "container:", 10))
    for (int i = 0; i < p->nctrs; i++)
      if (!strcmp(p->ctrs[i].name, who + 10)) return p->ctrs[i].state == CS_RUNNING ? p->ctrs[i].pidfd : -1;
  return -1;
}

/* One line that says what failed: the executor's one formatter (exec/describe.c). */
void describe_error(const struct mp_error *e, char *buf, size_t n) {
  mp_describe(e, buf, n);
}

static void set_reason(struct ctr *c, const char *reason, const char *msg) {
  snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
  snprintf(c->message, sizeof(c->message), "%s", msg ? msg : "");
}

static void terminated(struct pod *p, struct ctr *c);
static void schedule_restart(struct pod *p, struct ctr *c, int failed);
static int job_next(struct pod *p, int failed);
static void set_phase(struct pod *p, const char *phase);

static void start_ctr(struct pod *p, struct ctr *c) {
  c->next_start = 0;
  /* A restarted container starts from its image again, as a new container does in
   * Kubernetes: a fresh writable layer for every start (volumes are untouched). */
  if (c->started_once) c->restart_count++;
  c->started_once = 1;
  c->has_error = 0;
  c->ready = 0;
  c->kill_at = 0;
  c->stopping = 0;
  c->kill_restart = 0;
  c->kill_reason[0] = c->kill_message[0] = 0;
  rfc3339(c->started_at, sizeof(c->started_at));
  c->started_mono = now_ms();
  c->finished_at[0] = 0;

  int fds[2][2] = {{-1, -1}, {-1, -1}};
  struct mp_error err;
  memset(&err, 0, sizeof(err));
  char msg[512];
  int rc;
  if (layers_prepare(p, c, c->restart_count) < 0) {
    snprintf(err.syscall, sizeof(err.syscall), "mkdirat");
    snprintf(err.step, sizeof(err.step), "layer");
    snprintf(err.path, sizeof(err.path), "%s/upper-%d", c->layer_dir, c->restart_count);
    err.err = errno;
    rc = -1;
  } else if (logs_open(p, c, fds) < 0) {
    snprintf(err.syscall, sizeof(err.syscall), "pipe2");
    snprintf(err.step, sizeof(err.step), "stdio");
    err.err = errno;
    rc = -1;
  } else {
    struct mp_spawn_io io = {{MP_STDIO_NULL, fds[0][1], fds[1][1]}, NULL, 0, 1, -1, -1};
    struct mp_spawn_result res;
    rc = spawn_plan(p, c->process, &io, &res, &err);
    if (rc == 0) {
      c->pid = res.pid;
      c->pidfd = res.pidfd;
      c->mntns = res.mntns;
    }
  }
  for (int i = 0; i < 2; i++)
    if (fds[i][1] >= 0) close(fds[i][1]);

  if (rc < 0) {
    describe_error(&err, msg, sizeof(msg));
    logmsg(p, "[%s] failed to start: %s", c->name, msg);
    c->exit_code = 128;
    c->signal = 0;
    c->pid = 0;
    c->pidfd = -1;
    logs_close(p, c);
    layers_on_end(p, c);
    c->has_error = 1;
    c->error = err;
    set_reason(c, "StartError", msg);
    pod_event(p, 1, "Failed", c, "Error: %s", msg);
    terminated(p, c);
    return;
  }
  pod_event(p, 0, "Created", c, "Created container %s", c->name);
  pod_event(p, 0, "Started", c, "Started container %s", c->name);
  c->state = CS_RUNNING;
  set_reason(c, NULL, NULL);
  epoll_add(p, c->pidfd, TAG(T_PIDFD, c->pidfd));
  state_write(p);
  /* postStart, then the probes; without them a running container is ready, as in Kubernetes. */
  probes_on_start(p, c);
}

static int wants_restart(struct pod *p, struct ctr *c) {
  if (p->stopping) return 0;
  /* Killed for a failed liveness/startup probe or postStart hook: restarted whatever its
   * exit code, unless the policy is Never (the kubelet's rule). */
  if (c->kill_restart) return c->policy != RP_NEVER;
  int ok = c->exit_code == 0 && !c->signal && strcmp(c->reason, "StartError") != 0;
  if (c->sidecar) return 1;
  if (c->init) return !ok && c->policy != RP_NEVER;
  if (c->policy == RP_ALWAYS) return 1;
  if (c->policy == RP_ONFAILURE) return !ok;
  return 0;
}

/* Called once a container has ended (or failed to start): record it, decide about a
 * restart. */
static void terminated(struct pod *p, struct ctr *c) {
  probes_on_end(p, c);
  c->state = CS_TERMINATED;
  c->ready = 0;
  c->kill_at = 0;
  rfc3339(c->finished_at, sizeof(c->finished_at));
  int ok = c->exit_code == 0 && !c->signal && strcmp(c->reason, "StartError") != 0;
  if (strcmp(c->reason, "StartError") != 0 && c->oom_killed)
    set_reason(c, "OOMKilled", "the kernel's OOM killer ended it: it used more memory than its limit");
  else if (strcmp(c->reason, "StartError") != 0)
    set_reason(c, c->kill_reason[0] ? c->kill_reason : ok ? "Completed" : "Error", c->kill_message[0] ? c->kill_message : NULL);
  if (c->init && !c->sidecar && ok) c->completed = 1;

  if (c->signal)
    logmsg(p, "[%s] killed by signal %d (%s)", c->name, c->signal, signal_name(c->signal));
  else if (strcmp(c->reason, "StartError") != 0)
    logmsg(p, "[%s] exited with code %d", c->name, c->exit_code);

  if (!wants_restart(p, c)) {
    state_write(p);
    return;
  }
  schedule_restart(p, c, 1);
}

/* Keeps this run as lastState and waits out the backoff (failed) or restarts at once (a
 * Job's next completion). */
static void schedule_restart(struct pod *p, struct ctr *c, int failed) {
  c->last.valid = 1;
  c->last.exit_code = c->exit_code;
  c->last.signal = c->signal;
  snprintf(c->last.reason, sizeof(c->last.reason), "%s", c->reason);
  snprintf(c->last.message, sizeof(c->last.message), "%s", c->message);
  snprintf(c->last.started_at, sizeof(c->last.started_at), "%s", c->started_at);
  snprintf(c->last.finished_at, sizeof(c->last.finished_at), "%s", c->finished_at);
  c->state = CS_WAITING;
  if (!failed) {
    c->next_start = now_ms();
    set_reason(c, "ContainerCreating", NULL);
    state_write(p);
    return;
  }
  int64_t ran = now_ms() - c->started_mono;
  if (ran >= p->backoff_reset) c->backoff_n = 0;
  int64_t delay = p->backoff_initial;
  for (int i = 0; i < c->backoff_n && delay < p->backoff_max; i++) delay *= 2;
  if (delay > p->backoff_max) delay = p->backoff_max;
  c->backoff_n++;
  c->next_start = now_ms() + delay;
  char msg[300];
  snprintf(msg, sizeof(msg), "back-off %llds restarting failed container=%s", (long long)(delay / 1000), c->name);
  set_reason(c, "CrashLoopBackOff", msg);
  pod_event(p, 1, "BackOff", c, "Back-off restarting failed container %s in pod %s", c->name, p->name);
  logmsg(p, "[%s] restarting in %lld ms (restart %d)", c->name, (long long)delay, c->restart_count + 1);
  state_write(p);
}

struct ctr *pod_by_pidfd(struct pod *p, int pidfd) {
  for (int i = 0; i < p->nctrs; i++)
    if (p->ctrs[i].state == CS_RUNNING && p->ctrs[i].pidfd == pidfd) return &p->ctrs[i];
  return NULL;
}

static void reap(int pidfd, int *code, int *sig) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  while (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | __WALL, NULL) < 0 && errno == EINTR) {
  }
  *code = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
  *sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
}

void pod_on_exit(struct pod *p, int pidfd) {
  int code, sig;
  epoll_del(p, pidfd);
  if (pidfd == p->pause_pidfd) {
    reap(pidfd, &code, &sig);
    close(pidfd);
    p->pause_pidfd = -1;
    p->pause_dead = 1;
    if (p->pod_netfd >= 0) { /* do not keep the pod's network namespace alive */
      close(p->pod_netfd);
      p->pod_netfd = -1;
    }
    if (!p->stopping) {
      logmsg(p, "pause exited unexpectedly (%s %d): stopping the pod", sig ? "signal" : "code", sig ? sig : code);
      snprintf(p->reason, sizeof(p->reason), "PauseExited");
      snprintf(p->phase, sizeof(p->phase), "Failed");
      p->grace_ms = 0; /* the pod's namespaces are gone: nothing to wait for */
      pod_stop(p, "pause exited");
    }
    return;
  }
  struct ctr *c = pod_by_pidfd(p, pidfd);
  if (!c) {
    close(pidfd);
    return;
  }
  reap(pidfd, &code, &sig);
  close(pidfd);
  c->pidfd = -1;
  c->exit_code = code;
  c->signal = sig;
  c->oom_killed = sig == SIGKILL && ctr_oom_killed(p, c);
  layers_on_end(p, c); /* what it left behind goes with it, before anything reads its end */
  logs_close(p, c);
  terminated(p, c);
}

static int all_down(struct pod *p, int include_sidecars) {
  for (int i = 0; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    if (c->sidecar && !include_sidecars) continue;
    if (c->state == CS_RUNNING) return 0;
  }
  return 1;
}

static void stop_ctr(struct pod *p, struct ctr *c) {
  if (c->state == CS_WAITING) {
    c->next_start = 0;
    if (c->last.valid) { /* stopped during backoff: it stays as it last ended */
      c->state = CS_TERMINATED;
      c->exit_code = c->last.exit_code;
      c->signal = c->last.signal;
      set_reason(c, c->last.reason, c->last.message);
      snprintf(c->finished_at, sizeof(c->finished_at), "%s", c->last.finished_at);
    }
    return;
  }
  ctr_kill(p, c, p->grace_ms);
}

/* Kubernetes' kill of one container: preStop, then the stop signal, SIGKILL once grace_ms
 * (counted from the start of preStop) have passed. Used by a pod stop and by failed probes
 * and hooks. */
void ctr_kill(struct pod *p, struct ctr *c, int grace_ms) {
  if (c->state != CS_RUNNING) return;
  if (grace_ms <= 0) { /* no grace (pause died, a second interrupt, rm -f): kill now */
    c->stopping = 1;
    c->kill_at = 0;
    probes_on_end(p, c);
    probes_update_ready(p, c);
    pidfd_signal(c->pidfd, SIGKILL);
    return;
  }
  if (c->stopping) return;
  c->stopping = 1;
  c->kill_at = now_ms() + grace_ms;
  pod_event(p, 0, "Killing", c, "%s", c->kill_message[0] ? c->kill_message : "Stopping container");
  probes_on_kill(p, c);
  if (hooks_pre_stop(p, c)) return; /* ctr_stop_signal() follows when preStop ends */
  pidfd_signal(c->pidfd, c->stop_signal);
}

void ctr_stop_signal(struct pod *p, struct ctr *c) {
  if (c->state == CS_RUNNING && c->stopping && c->kill_at) pidfd_signal(c->pidfd, c->stop_signal);
  (void)p;
}

/* Stop: app containers first; sidecars once the app containers are gone (Kubernetes
 * terminates sidecars after the main containers); pause last. */
void pod_stop(struct pod *p, const char *why) {
  if (!p->stopping) logmsg(p, "stopping pod %s (%s)", p->name, why);
  p->stopping = 1;
  for (int i = 0; i < p->nctrs; i++)
    if (!p->ctrs[i].sidecar) stop_ctr(p, &p->ctrs[i]);
  if (all_down(p, 0))
    for (int i = 0; i < p->nctrs; i++)
      if (p->ctrs[i].sidecar) stop_ctr(p, &p->ctrs[i]);
  if (all_down(p, 1) && !p->pause_dead) pidfd_signal(p->pause_pidfd, SIGKILL);
  state_write(p);
}

int64_t pod_next_deadline(struct pod *p) {
  int64_t next = p->stopping ? 0 : p->deadline;
  for (int i = 0; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    int64_t t = c->kill_at ? c->kill_at : c->next_start;
    if (t && (!next || t < next)) next = t;
  }
  int64_t t = probes_next_deadline(p);
  if (t && (!next || t < next)) next = t;
  return next;
}

void pod_on_deadline(struct pod *p) {
  int64_t now = now_ms();
  if (p->deadline && now >= p->deadline && !p->stopping) {
    /* activeDeadlineSeconds: the pod fails, as the kubelet's active deadline handler does. */
    p->deadline = 0;
    snprintf(p->reason, sizeof(p->reason), "DeadlineExceeded");
    pod_event(p, 1, "DeadlineExceeded", NULL, "Pod was active on the node longer than the specified deadline");
    set_phase(p, "Failed");
    pod_stop(p, "activeDeadlineSeconds passed");
  }
  for (int i = 0; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    if (c->kill_at && now >= c->kill_at) {
      logmsg(p, "[%s] still running after the grace period: SIGKILL", c->name);
      c->kill_at = 0;
      if (c->hook_kind == H_PRESTOP) logmsg(p, "[%s] the preStop hook did not end within the grace period", c->name);
      probes_on_end(p, c); /* a preStop hook still running goes with it */
      pidfd_signal(c->pidfd, SIGKILL);
    }
    if (c->next_start && now >= c->next_start && !p->stopping) {
      /* Init containers are restarted by pod_step, in order. */
      if (!c->init || c->sidecar) start_ctr(p, c);
    }
  }
  probes_on_deadline(p);
}

static void set_phase(struct pod *p, const char *phase) {
  if (strcmp(p->phase, phase) != 0) {
    snprintf(p->phase, sizeof(p->phase), "%s", phase);
    state_write(p);
  }
}

/* Runs init containers in order, then starts the app containers, then tracks the phase. */
void pod_step(struct pod *p) {
  if (p->stopping) {
    if (all_down(p, 0)) pod_stop(p, "app containers ended"); /* moves on to sidecars, then pause */
    return;
  }
  while (p->next_init < p->ninit) {
    struct ctr *c = &p->ctrs[p->next_init];
    /* A sidecar counts as started once its postStart and startup probe are done. */
    if (c->completed || (c->sidecar && ctr_started(c))) { p->next_init++; continue; }
    if (c->state == CS_WAITING && (!c->started_once || now_ms() >= c->next_start)) {
      start_ctr(p, c);
      continue; /* re-evaluate: it may have failed to start, or be a sidecar now running */
    }
    if (c->state == CS_TERMINATED) { /* failed for good (restartPolicy Never) */
      snprintf(p->reason, sizeof(p->reason), "InitContainerFailed");
      set_phase(p, "Failed");
      pod_stop(p, "an init container failed");
      return;
    }
    return; /* running, or waiting out a backoff */
  }
  if (!p->started) {
    /* In order; the next one once this one's postStart has ended, as the kubelet does. */
    for (int i = p->ninit; i < p->nctrs; i++) {
      struct ctr *c = &p->ctrs[i];
      if (!c->started_once) start_ctr(p, c);
      if (c->state == CS_RUNNING && !c->post_start_done) return;
    }
    p->started = 1;
    state_write(p);
    ctl_send(p, "running");
  }
  int live = 0, failed = 0;
  for (int i = p->ninit; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    if (c->state != CS_TERMINATED) live = 1;
    else if (c->exit_code != 0 || c->signal) failed = 1;
  }
  if (live) {
    set_phase(p, "Running");
    return;
  }
  if (p->job_completions && job_next(p, failed)) return;
  set_phase(p, failed ? "Failed" : "Succeeded");
  pod_stop(p, failed ? "all containers ended, some failed" : "all containers completed");
}

/* A Job's pod after a run of its app containers: its next completion, a retry within
 * backoffLimit, or its end. 1: the containers run again. */
static int job_next(struct pod *p, int failed) {
  if (failed) p->job_failed++;
  else p->job_succeeded++;
  if (!failed && p->job_succeeded >= p->job_completions) {
    pod_event(p, 0, "Completed", NULL, "Job completions done (%d/%d)", p->job_succeeded, p->job_completions);
    return 0;
  }
  if (failed && p->job_failed > p->job_backoff_limit) {
    snprintf(p->reason, sizeof(p->reason), "BackoffLimitExceeded");
    pod_event(p, 1, "BackoffLimitExceeded", NULL, "Job has reached the specified backoff limit (%d)", p->job_backoff_limit);
    return 0;
  }
  for (int i = p->ninit; i < p->nctrs; i++) schedule_restart(p, &p->ctrs[i], failed);
  return 1;
}

void pod_start_pause(struct pod *p) {
  struct mp_error err;
  char msg[512];
  /* No fd of ours in pause: it is PID 1 of a pod's shared pid namespace. */
  struct mp_spawn_io io = {{MP_STDIO_NULL, MP_STDIO_NULL, MP_STDIO_NULL}, NULL, 0, 0, -1, -1};
  struct mp_spawn_result res;
  int rc = spawn_plan(p, p->pause_plan, &io, &res, &err);
  if (rc == 0) {
    p->pause_pid = res.pid;
    p->pause_pidfd = res.pidfd;
  }
  if (rc < 0) {
    describe_error(&err, msg, sizeof(msg));
    logmsg(p, "pause failed to start: %s", msg);
    ctl_send(p, "error pause %s", msg);
    p->pause_dead = 1;
    p->stopping = 1;
    snprintf(p->phase, sizeof(p->phase), "Failed");
    snprintf(p->reason, sizeof(p->reason), "PauseStartError");
    return;
  }
  epoll_add(p, p->pause_pidfd, TAG(T_PIDFD, p->pause_pidfd));
  state_write(p);
}

/* The supervisor is done when pause is gone and no container runs or waits. */
int pod_finished(struct pod *p) {
  if (!p->pause_dead) return 0;
  for (int i = 0; i < p->nctrs; i++)
    if (p->ctrs[i].state == CS_RUNNING) return 0;
  return p->stopping;
}
