/* The supervisor's pod and container state machine (native/shim/pod.c) with a fake clock.
 *
 * pod.c is compiled as it is; what it calls outside itself is replaced here: the clock is a
 * variable the test moves; "spawning" a container forks a real child that exits at once
 * with the code the test chose for that container's next run (so pidfds, waitid and
 * signals are real); probes, hooks, logs, layers, the state file and the control socket
 * are no-ops that record what they were asked. Each scenario drives pod_step,
 * pod_on_exit and pod_on_deadline as the supervisor's loop does and checks the states,
 * restart counts, backoff delays and phases: restarts, the backoff's doubling, cap and
 * reset, restartPolicy Always/OnFailure/Never, init containers in order, a failing init
 * container, a sidecar. Built with -DMP_REAL_PROBES, the real probes.c decides instead
 * (its handlers, action.c, are replaced: the scenario gives each run its result): liveness,
 * readiness and startup thresholds. Prints "ok NAME" per scenario; exits 1 if any failed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../native/shim/shim.h"

/* ---- the world pod.c sees ---- */
static int64_t clock_ms = 1000000;
int64_t now_ms(void) { return clock_ms; }
void rfc3339(char *buf, size_t n) { snprintf(buf, n, "t+%lld", (long long)clock_ms); }
void logmsg(struct pod *p, const char *fmt, ...) { (void)p; (void)fmt; }
const char *signal_name(int sig) { return sig == SIGKILL ? "SIGKILL" : "SIG"; }
int signal_number(const char *name) { (void)name; return SIGTERM; }
static char last_ctl[64];
void ctl_send(struct pod *p, const char *fmt, ...) {
  (void)p;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_ctl, sizeof last_ctl, fmt, ap);
  va_end(ap);
}
void epoll_add(struct pod *p, int fd, uint64_t tag) { (void)p; (void)fd; (void)tag; }
void epoll_del(struct pod *p, int fd) { (void)p; (void)fd; }
void state_write(struct pod *p) { (void)p; }
static char events[16][32]; /* the reasons of the last events, oldest first */
static int nevents;
void pod_event(struct pod *p, int warning, const char *reason, const struct ctr *c, const char *fmt, ...) {
  (void)p; (void)warning; (void)c; (void)fmt;
  if (nevents == 16) { memmove(events, events + 1, sizeof events[0] * 15); nevents--; }
  snprintf(events[nevents++], sizeof events[0], "%s", reason);
}
__attribute__((unused)) static int count_events(const char *reason) {
  int n = 0;
  for (int i = 0; i < nevents; i++) n += !strcmp(events[i], reason);
  return n;
}
int logs_open(struct pod *p, struct ctr *c, int fds[2][2]) { (void)p; (void)c; (void)fds; return 0; }
void logs_close(struct pod *p, struct ctr *c) { (void)p; (void)c; }
int layers_prepare(struct pod *p, struct ctr *c, int index) { (void)p; (void)c; (void)index; return 0; }
void layers_on_end(struct pod *p, struct ctr *c) { (void)p; (void)c; }
#ifndef MP_REAL_PROBES
/* No probes or hooks: a running container is at once started (postStart done) and ready. */
void probes_on_start(struct pod *p, struct ctr *c) { (void)p; c->post_start_done = 1; c->startup_done = 1; c->ready = 1; }
void probes_on_end(struct pod *p, struct ctr *c) { (void)p; (void)c; }
void probes_on_kill(struct pod *p, struct ctr *c) { (void)p; (void)c; }
int hooks_pre_stop(struct pod *p, struct ctr *c) { (void)p; (void)c; return 0; }
int64_t probes_next_deadline(struct pod *p) { (void)p; return 0; }
void probes_on_deadline(struct pod *p) { (void)p; }
void probes_update_ready(struct pod *p, struct ctr *c) { (void)p; (void)c; }
int ctr_started(const struct ctr *c) { return c->state == CS_RUNNING && c->post_start_done && c->startup_done; }
#else
/* The real probes.c decides; its handlers (action.c) are replaced: a started action stays
 * active until the scenario gives it a result (answer()). */
static int starts[8][NSLOTS];
void action_start(struct pod *p, struct action *a, const struct handler *h, int timeout_s, uint64_t tag) {
  (void)p; (void)h; (void)timeout_s;
  int v = TAG_VAL(tag);
  starts[v / NSLOTS][v % NSLOTS]++;
  a->active = 1;
  a->finished = 0;
  a->deadline = 0;
}
void action_cancel(struct pod *p, struct action *a) { (void)p; a->active = 0; a->finished = 0; }
void action_on_deadline(struct pod *p, struct action *a) { (void)p; (void)a; }
void action_on_event(struct pod *p, struct action *a, int out, uint32_t events) { (void)p; (void)a; (void)out; (void)events; }
int handler_load(const struct mp_json *j, struct handler *h, char *err, size_t n) { (void)j; (void)h; (void)err; (void)n; return 0; }
#endif
int pod_wire(struct pod *p) { (void)p; return 0; }
static int fake_oom; /* the next exit is the OOM killer's */
int ctr_oom_killed(struct pod *p, struct ctr *c) { (void)p; (void)c; int k = fake_oom; fake_oom = 0; return k; }

/* The exit code each container's next run ends with at once; -1: it runs until killed.
 * Which container is being started: its plan pointer is a dummy JSON number, its index. */
static int next_exit[8];
static struct mp_json plans[8];
int spawn_plan(struct pod *p, const struct mp_json *plan, const struct mp_spawn_io *io, struct mp_spawn_result *res, struct mp_error *err) {
  (void)p; (void)io; (void)err;
  int code = next_exit[(int)plan->num];
  pid_t pid = fork();
  if (pid == 0) {
    if (code < 0) for (;;) pause();
    _exit(code);
  }
  res->pid = pid;
  res->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  res->mntns = -1;
  return 0;
}

/* ---- scenarios ---- */
static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); failures++; return; } } while (0)

static struct ctr ctrs[8];
static struct pod pod;

static void setup(int ninit, int napps, enum restart_policy apps, enum restart_policy inits) {
  for (int i = 0; i < pod.nctrs; i++) if (ctrs[i].pidfd >= 0) pidfd_signal(ctrs[i].pidfd, SIGKILL);
  while (waitpid(-1, NULL, WNOHANG) > 0) {}
  memset(&pod, 0, sizeof pod);
  memset(ctrs, 0, sizeof ctrs);
  static const char *names[] = {"i0", "i1", "i2", "a0", "a1", "a2", "a3", "a4"};
  pod.name = "p";
  pod.ctrs = ctrs;
  pod.nctrs = ninit + napps;
  pod.ninit = ninit;
  pod.grace_ms = 1000;
  pod.backoff_initial = 10000;
  pod.backoff_max = 300000;
  pod.backoff_reset = 600000;
  pod.pause_pidfd = -1;
  pod.host_netfd = pod.pod_netfd = -1;
  snprintf(pod.phase, sizeof pod.phase, "Pending");
  last_ctl[0] = 0;
  nevents = 0;
  for (int i = 0; i < pod.nctrs; i++) {
    plans[i].type = MP_JNUM;
    plans[i].num = i;
    ctrs[i].name = names[i < ninit ? i : 3 + i - ninit];
    ctrs[i].init = i < ninit;
    ctrs[i].policy = i < ninit ? inits : apps;
    ctrs[i].process = &plans[i];
    ctrs[i].stop_signal = SIGTERM;
    ctrs[i].pidfd = ctrs[i].mntns = -1;
    ctrs[i].layer_index = -1;
    next_exit[i] = -1;
  }
}

/* The container's run ends: at once with the code chosen at its start, or killed now. */
__attribute__((unused)) static void ends(int i) {
  if (next_exit[i] < 0) pidfd_signal(ctrs[i].pidfd, SIGKILL);
  pod_on_exit(&pod, ctrs[i].pidfd);
  pod_step(&pod);
}

/* Time passes: the loop's deadline handling, then its step. */
static void advance(int64_t ms) {
  clock_ms += ms;
  pod_on_deadline(&pod);
  pod_step(&pod);
}

#ifndef MP_REAL_PROBES
static void a_job_pod_retries_within_its_backoff_limit_then_succeeds(void) {
  setup(0, 1, RP_NEVER, RP_NEVER);
  pod.job_completions = 1;
  pod.job_backoff_limit = 3;
  next_exit[0] = 1;
  pod_step(&pod);
  for (int n = 1; n <= 2; n++) {
    ends(0);
    CHECK(ctrs[0].state == CS_WAITING && !strcmp(ctrs[0].reason, "CrashLoopBackOff"), "failure %d: retried after a backoff (%s)", n, ctrs[0].reason);
    CHECK(pod.job_failed == n && !pod.stopping, "failure %d counted, the pod goes on", n);
    if (n == 2) next_exit[0] = 0; /* the third run succeeds */
    advance(ctrs[0].next_start - clock_ms);
    CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == n, "run %d", n + 1);
  }
  ends(0);
  CHECK(!strcmp(pod.phase, "Succeeded") && pod.job_succeeded == 1 && pod.stopping, "succeeded on the third run: %s", pod.phase);
  CHECK(count_events("BackOff") == 2 && count_events("Completed") == 1 && count_events("Started") == 3, "events: %d BackOff, %d Started", count_events("BackOff"), count_events("Started"));
  puts("ok a Job pod retries within its backoffLimit, then succeeds");
}

static void a_job_pod_fails_past_its_backoff_limit(void) {
  setup(0, 1, RP_NEVER, RP_NEVER);
  pod.job_completions = 1;
  pod.job_backoff_limit = 1;
  next_exit[0] = 2;
  pod_step(&pod);
  ends(0);
  CHECK(ctrs[0].state == CS_WAITING, "one retry");
  advance(ctrs[0].next_start - clock_ms);
  ends(0);
  CHECK(!strcmp(pod.phase, "Failed") && !strcmp(pod.reason, "BackoffLimitExceeded") && pod.job_failed == 2, "failed: %s %s", pod.phase, pod.reason);
  puts("ok a Job pod fails past its backoffLimit (BackoffLimitExceeded)");
}

static void a_job_pod_runs_its_completions_in_turn(void) {
  setup(0, 2, RP_NEVER, RP_NEVER);
  pod.job_completions = 3;
  pod.job_backoff_limit = 0;
  next_exit[0] = next_exit[1] = 0;
  pod_step(&pod);
  for (int n = 1; n <= 3; n++) {
    CHECK(ctrs[0].state == CS_RUNNING && ctrs[1].state == CS_RUNNING, "run %d: both containers run", n);
    ends(0);
    CHECK(pod.job_succeeded == n - 1, "one container done is not a completion");
    ends(1);
    CHECK(pod.job_succeeded == n, "completion %d", n);
    if (n < 3) advance(0);
  }
  CHECK(!strcmp(pod.phase, "Succeeded") && ctrs[0].restart_count == 2, "three completions, then Succeeded: %s", pod.phase);
  puts("ok a Job pod runs its completions in turn, all of its containers each time");
}

static void active_deadline_fails_the_pod(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  pod.deadline = clock_ms + 5000;
  next_exit[0] = -1;
  pod_step(&pod);
  CHECK(pod_next_deadline(&pod) == pod.deadline, "the deadline is the loop's next wake-up");
  advance(4999);
  CHECK(!pod.stopping, "not before");
  advance(1);
  CHECK(pod.stopping && !strcmp(pod.phase, "Failed") && !strcmp(pod.reason, "DeadlineExceeded"), "failed at the deadline: %s %s", pod.phase, pod.reason);
  CHECK(count_events("DeadlineExceeded") == 1 && count_events("Killing") == 1, "said so, and the container is being stopped");
  puts("ok activeDeadlineSeconds fails the pod (DeadlineExceeded)");
}

static void backoff_doubles_to_its_cap_and_resets_after_a_long_run(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  next_exit[0] = 1;
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && !strcmp(last_ctl, "running"), "started and reported running");
  int64_t want[] = {10000, 20000, 40000, 80000, 160000, 300000, 300000};
  for (int n = 0; n < 7; n++) {
    ends(0);
    CHECK(ctrs[0].state == CS_WAITING && !strcmp(ctrs[0].reason, "CrashLoopBackOff"), "waiting after exit %d", n);
    CHECK(ctrs[0].next_start == clock_ms + want[n], "backoff %d: %lld ms, want %lld", n, (long long)(ctrs[0].next_start - clock_ms), (long long)want[n]);
    CHECK(ctrs[0].last.valid && ctrs[0].last.exit_code == 1, "lastState kept");
    advance(want[n] - 1);
    CHECK(ctrs[0].state == CS_WAITING, "not restarted 1 ms early");
    advance(1);
    CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == n + 1, "restarted on time (restart %d)", n + 1);
  }
  /* a run longer than backoff_reset: the next backoff starts over */
  next_exit[0] = -1;
  ends(0); /* (this run ended at once: 300 s) */
  advance(300000);
  CHECK(ctrs[0].state == CS_RUNNING, "running again");
  clock_ms += 600000;
  ends(0);
  CHECK(ctrs[0].next_start == clock_ms + 10000, "backoff reset after a 10-minute run: %lld ms", (long long)(ctrs[0].next_start - clock_ms));
  CHECK(!strcmp(pod.phase, "Running"), "the pod stays Running while it restarts: %s", pod.phase);
  puts("ok backoff doubles to its cap and resets after a long run");
}

static void on_failure_does_not_restart_a_success_and_the_pod_succeeds(void) {
  setup(0, 1, RP_ONFAILURE, RP_ONFAILURE);
  next_exit[0] = 0;
  pod_step(&pod);
  ends(0);
  CHECK(ctrs[0].state == CS_TERMINATED && !strcmp(ctrs[0].reason, "Completed"), "terminated, Completed: %s", ctrs[0].reason);
  CHECK(!strcmp(pod.phase, "Succeeded") && pod.stopping, "pod Succeeded and stopping: %s", pod.phase);
  puts("ok OnFailure does not restart a success; the pod succeeds");
}

static void on_failure_restarts_a_failure(void) {
  setup(0, 1, RP_ONFAILURE, RP_ONFAILURE);
  next_exit[0] = 3;
  pod_step(&pod);
  ends(0);
  CHECK(ctrs[0].state == CS_WAITING, "waiting to restart");
  next_exit[0] = 0;
  advance(10000);
  ends(0);
  CHECK(ctrs[0].restart_count == 1 && ctrs[0].state == CS_TERMINATED && !strcmp(pod.phase, "Succeeded"), "succeeded after one restart: %s", pod.phase);
  puts("ok OnFailure restarts a failure");
}

static void never_leaves_a_failure_and_the_pod_fails(void) {
  setup(0, 2, RP_NEVER, RP_NEVER);
  next_exit[0] = 2;
  next_exit[1] = 0;
  pod_step(&pod);
  ends(0);
  CHECK(ctrs[0].state == CS_TERMINATED && ctrs[0].exit_code == 2 && !strcmp(ctrs[0].reason, "Error"), "terminated with 2, Error");
  CHECK(!strcmp(pod.phase, "Running"), "one container still runs: %s", pod.phase);
  ends(1);
  CHECK(!strcmp(pod.phase, "Failed"), "all ended, one failed: %s", pod.phase);
  puts("ok Never leaves a failure; the pod fails");
}

static void a_killed_container_reports_its_signal(void) {
  setup(0, 1, RP_NEVER, RP_NEVER);
  pod_step(&pod);
  ends(0); /* runs until killed */
  CHECK(ctrs[0].signal == SIGKILL && ctrs[0].exit_code == 137, "signal 9, exit 137: %d %d", ctrs[0].signal, ctrs[0].exit_code);
  puts("ok a killed container reports its signal and 137");
}

static void an_oom_kill_is_oomkilled_137_and_restarts_per_policy(void) {
  setup(0, 1, RP_ONFAILURE, RP_NEVER);
  pod_step(&pod);
  fake_oom = 1; /* the memory cgroup's oom_kill count went up during the run */
  ends(0);
  CHECK(!strcmp(ctrs[0].last.reason, "OOMKilled") && ctrs[0].last.exit_code == 137, "lastState OOMKilled, 137: %s %d", ctrs[0].last.reason, ctrs[0].last.exit_code);
  CHECK(!strcmp(ctrs[0].reason, "CrashLoopBackOff") && ctrs[0].next_start > 0, "OnFailure restarts it after the backoff: %s", ctrs[0].reason);
  advance(10000);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == 1, "restarted once: %d", ctrs[0].restart_count);
  ends(0); /* a plain SIGKILL this time: no OOM */
  CHECK(!strcmp(ctrs[0].last.reason, "Error"), "a kill that was not the OOM killer's is an Error: %s", ctrs[0].last.reason);
  setup(0, 1, RP_NEVER, RP_NEVER);
  pod_step(&pod);
  fake_oom = 1;
  ends(0);
  CHECK(ctrs[0].state == CS_TERMINATED && !strcmp(ctrs[0].reason, "OOMKilled") && ctrs[0].exit_code == 137, "Never: terminated OOMKilled 137: %s", ctrs[0].reason);
  puts("ok an OOM kill ends the container OOMKilled with 137, and OnFailure restarts it");
}

static void init_containers_run_one_at_a_time_before_the_apps(void) {
  setup(2, 2, RP_ALWAYS, RP_ONFAILURE);
  next_exit[0] = next_exit[1] = 0;
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[1].state == CS_WAITING && !ctrs[1].started_once, "only the first init runs");
  CHECK(!ctrs[2].started_once && !ctrs[3].started_once, "no app yet");
  ends(0);
  CHECK(ctrs[0].completed && ctrs[1].state == CS_RUNNING && !ctrs[2].started_once, "then the second init, still no app");
  ends(1);
  CHECK(ctrs[2].state == CS_RUNNING && ctrs[3].state == CS_RUNNING && !strcmp(last_ctl, "running") && !strcmp(pod.phase, "Running"), "then both apps: running");
  puts("ok init containers run one at a time, before the apps");
}

static void a_failing_init_container_is_retried_in_place(void) {
  setup(1, 1, RP_ALWAYS, RP_ONFAILURE);
  next_exit[0] = 1;
  pod_step(&pod);
  ends(0);
  CHECK(ctrs[0].state == CS_WAITING && !ctrs[1].started_once, "waiting out its backoff; the app waits too");
  advance(9999);
  CHECK(ctrs[0].state == CS_WAITING, "not early");
  next_exit[0] = 0;
  advance(1);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == 1, "retried");
  ends(0);
  CHECK(ctrs[1].state == CS_RUNNING, "then the app");
  puts("ok a failing init container is retried in place; the apps wait");
}

static void an_init_failure_under_never_fails_the_pod(void) {
  setup(1, 1, RP_NEVER, RP_NEVER);
  next_exit[0] = 1;
  pod_step(&pod);
  ends(0);
  CHECK(!strcmp(pod.phase, "Failed") && !strcmp(pod.reason, "InitContainerFailed") && !ctrs[1].started_once, "Failed, InitContainerFailed, no app: %s %s", pod.phase, pod.reason);
  puts("ok an init container failing under Never fails the pod");
}

static void a_sidecar_keeps_running_and_is_restarted(void) {
  setup(1, 1, RP_NEVER, RP_ALWAYS);
  ctrs[0].sidecar = 1;
  ctrs[0].policy = RP_ALWAYS;
  next_exit[1] = 0;
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[1].state == CS_RUNNING, "the sidecar runs, and the app starts beside it");
  next_exit[0] = 1;
  pidfd_signal(ctrs[0].pidfd, SIGKILL);
  pod_on_exit(&pod, ctrs[0].pidfd);
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_WAITING, "a sidecar that ends is restarted, even under Never");
  advance(10000);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == 1, "restarted");
  ends(1);
  CHECK(!strcmp(pod.phase, "Succeeded"), "the app's end decides the phase: %s", pod.phase);
  puts("ok a sidecar keeps running, is restarted, and does not decide the phase");
}

#else

/* The probe's running action gets its result; then the loop takes it. */
static void answer(int i, int k, int ok) {
  struct action *a = &ctrs[i].probe[k].act;
  a->active = 0;
  a->finished = 1;
  a->ok = ok;
  snprintf(a->msg, sizeof a->msg, "%s", ok ? "" : "connection refused");
  advance(0);
}

static void probe(int i, int k, int period_s, int success, int failure) {
  struct probe *pr = &ctrs[i].probe[k];
  pr->on = 1;
  pr->h.kind = A_TCP;
  pr->period = period_s * 1000;
  pr->timeout_s = 1;
  pr->success_threshold = success;
  pr->failure_threshold = failure;
  pr->grace_ms = -1;
  pr->act.pidfd = pr->act.outfd = pr->act.sock = -1;
}

static void liveness_kills_after_failure_threshold_and_the_container_restarts(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  probe(0, PR_LIVENESS, 10, 1, 3);
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && starts[0][PR_LIVENESS] == 0, "running; the first liveness run is scheduled, not run inside the start");
  advance(0);
  CHECK(starts[0][PR_LIVENESS] == 1, "it runs on the loop's next turn (no initial delay)");
  answer(0, PR_LIVENESS, 0);
  advance(10000);
  answer(0, PR_LIVENESS, 0);
  CHECK(ctrs[0].state == CS_RUNNING && !ctrs[0].stopping, "two failures: still running");
  advance(10000);
  answer(0, PR_LIVENESS, 0);
  CHECK(ctrs[0].stopping && ctrs[0].kill_restart, "the third failure kills it, for a restart");
  CHECK(strstr(ctrs[0].kill_message, "Liveness probe failed: connection refused") != NULL, "why: %s", ctrs[0].kill_message);
  pod_on_exit(&pod, ctrs[0].pidfd); /* the stop signal ended it */
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_WAITING && ctrs[0].last.signal == SIGTERM, "waiting to restart after SIGTERM");
  advance(10000);
  CHECK(ctrs[0].state == CS_RUNNING && ctrs[0].restart_count == 1 && ctrs[0].probe[PR_LIVENESS].failures == 0, "restarted, its probe counts reset");
  puts("ok liveness kills after failureThreshold failures and the container restarts");
}

static void liveness_under_never_kills_without_a_restart(void) {
  setup(0, 1, RP_NEVER, RP_NEVER);
  memset(starts, 0, sizeof starts);
  probe(0, PR_LIVENESS, 1, 1, 1);
  pod_step(&pod);
  answer(0, PR_LIVENESS, 0);
  pod_on_exit(&pod, ctrs[0].pidfd);
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_TERMINATED && !strcmp(pod.phase, "Failed"), "terminated, the pod Failed: %s", pod.phase);
  puts("ok a liveness kill under Never is not restarted");
}

static void readiness_follows_its_thresholds_and_never_kills(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  probe(0, PR_READINESS, 5, 2, 3);
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && !ctrs[0].ready, "not ready before its probe says so");
  answer(0, PR_READINESS, 1);
  CHECK(!ctrs[0].ready, "one success of two: not yet");
  advance(5000);
  answer(0, PR_READINESS, 1);
  CHECK(ctrs[0].ready, "ready after successThreshold successes");
  for (int n = 0; n < 2; n++) { advance(5000); answer(0, PR_READINESS, 0); }
  CHECK(ctrs[0].ready, "two failures of three: still ready");
  advance(5000);
  answer(0, PR_READINESS, 0);
  CHECK(!ctrs[0].ready && ctrs[0].state == CS_RUNNING && !ctrs[0].stopping, "unready after failureThreshold, and never killed");
  puts("ok readiness follows its thresholds and never kills");
}

static void startup_holds_liveness_back_until_it_succeeds(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  probe(0, PR_STARTUP, 2, 1, 30);
  probe(0, PR_LIVENESS, 10, 1, 1);
  pod_step(&pod);
  advance(0);
  CHECK(starts[0][PR_STARTUP] == 1 && starts[0][PR_LIVENESS] == 0, "startup runs, liveness waits");
  answer(0, PR_STARTUP, 0);
  advance(2000);
  CHECK(starts[0][PR_STARTUP] == 2 && starts[0][PR_LIVENESS] == 0 && !ctrs[0].stopping, "a startup failure below its threshold kills nothing; liveness still waits");
  answer(0, PR_STARTUP, 1);
  CHECK(ctrs[0].startup_done && starts[0][PR_LIVENESS] == 1, "liveness starts once startup succeeded");
  advance(2000);
  CHECK(starts[0][PR_STARTUP] == 2, "a succeeded startup probe runs no more");
  puts("ok a startup probe holds liveness back until it succeeds");
}

static void a_probe_still_running_is_not_doubled_up(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  probe(0, PR_LIVENESS, 1, 1, 3);
  pod_step(&pod);
  advance(1000);
  advance(1000);
  CHECK(starts[0][PR_LIVENESS] == 1, "one run while the first still goes: %d", starts[0][PR_LIVENESS]);
  answer(0, PR_LIVENESS, 1);
  advance(1000);
  CHECK(starts[0][PR_LIVENESS] == 2, "the next once it has ended");
  puts("ok a probe run still going is not doubled up");
}

/* A hook's run gets its result. */
static void hook_answer(int i, int ok) {
  struct action *a = &ctrs[i].hook;
  a->active = 0;
  a->finished = 1;
  a->ok = ok;
  snprintf(a->msg, sizeof a->msg, "%s", ok ? "" : "exit code 1");
  advance(0);
}

static void post_start_holds_the_next_container_back(void) {
  setup(0, 2, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  ctrs[0].post_start.kind = A_EXEC;
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_RUNNING && starts[0][SLOT_HOOK] == 1, "the first container runs its postStart");
  CHECK(!ctrs[1].started_once && strcmp(last_ctl, "running") != 0, "the second waits for it; not running yet");
  CHECK(!ctrs[0].ready, "not ready during postStart");
  hook_answer(0, 1);
  CHECK(ctrs[1].state == CS_RUNNING && !strcmp(last_ctl, "running") && ctrs[0].ready, "then the second starts, and the pod runs");
  puts("ok postStart holds the next container back until it ends");
}

static void a_failing_post_start_kills_the_container_for_a_restart(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  ctrs[0].post_start.kind = A_EXEC;
  pod_step(&pod);
  hook_answer(0, 0);
  CHECK(ctrs[0].stopping && ctrs[0].kill_restart && !strcmp(ctrs[0].kill_reason, "FailedPostStartHook"), "killed: %s", ctrs[0].kill_reason);
  pod_on_exit(&pod, ctrs[0].pidfd);
  pod_step(&pod);
  CHECK(ctrs[0].state == CS_WAITING && !strcmp(ctrs[0].last.reason, "FailedPostStartHook"), "restarting; lastState says why: %s", ctrs[0].last.reason);
  puts("ok a failing postStart kills the container (FailedPostStartHook) for a restart");
}

static void pre_stop_runs_before_the_stop_signal_within_the_grace_period(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  ctrs[0].pre_stop.kind = A_EXEC;
  pod.grace_ms = 30000;
  pod_step(&pod);
  pod_stop(&pod, "test");
  CHECK(starts[0][SLOT_HOOK] == 1 && ctrs[0].state == CS_RUNNING, "preStop runs; the container is not signalled yet");
  CHECK(ctrs[0].kill_at == clock_ms + 30000, "the grace period counts from preStop's start");
  /* preStop never ends: SIGKILL when the grace period is over */
  advance(29999);
  CHECK(ctrs[0].state == CS_RUNNING, "still within the grace period");
  advance(1);
  pod_on_exit(&pod, ctrs[0].pidfd);
  CHECK(ctrs[0].signal == SIGKILL, "SIGKILLed at the end of the grace period: %d", ctrs[0].signal);
  puts("ok preStop runs before the stop signal, and the grace period counts from it");
}

static void the_stop_signal_follows_pre_stop(void) {
  setup(0, 1, RP_ALWAYS, RP_ALWAYS);
  memset(starts, 0, sizeof starts);
  ctrs[0].pre_stop.kind = A_EXEC;
  pod.grace_ms = 30000;
  pod_step(&pod);
  pod_stop(&pod, "test");
  hook_answer(0, 1);
  pod_on_exit(&pod, ctrs[0].pidfd);
  CHECK(ctrs[0].signal == SIGTERM, "the stop signal once preStop ended: %d", ctrs[0].signal);
  CHECK(ctrs[0].state == CS_TERMINATED, "stopped, not restarted");
  puts("ok the stop signal follows preStop's end");
}
#endif

int main(void) {
#ifndef MP_REAL_PROBES
  backoff_doubles_to_its_cap_and_resets_after_a_long_run();
  on_failure_does_not_restart_a_success_and_the_pod_succeeds();
  on_failure_restarts_a_failure();
  never_leaves_a_failure_and_the_pod_fails();
  a_killed_container_reports_its_signal();
  init_containers_run_one_at_a_time_before_the_apps();
  a_failing_init_container_is_retried_in_place();
  an_init_failure_under_never_fails_the_pod();
  a_sidecar_keeps_running_and_is_restarted();
  an_oom_kill_is_oomkilled_137_and_restarts_per_policy();
  a_job_pod_retries_within_its_backoff_limit_then_succeeds();
  a_job_pod_fails_past_its_backoff_limit();
  a_job_pod_runs_its_completions_in_turn();
  active_deadline_fails_the_pod();
#else
  liveness_kills_after_failure_threshold_and_the_container_restarts();
  liveness_under_never_kills_without_a_restart();
  readiness_follows_its_thresholds_and_never_kills();
  startup_holds_liveness_back_until_it_succeeds();
  a_probe_still_running_is_not_doubled_up();
  post_start_holds_the_next_container_back();
  a_failing_post_start_kills_the_container_for_a_restart();
  pre_stop_runs_before_the_stop_signal_within_the_grace_period();
  the_stop_signal_follows_pre_stop();
#endif
  setup(0, 0, RP_NEVER, RP_NEVER);
  return failures ? 1 : 0;
}
