/* Small helpers for the supervisor: clocks, messages, signal names, spawning a plan. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 with nanoseconds in UTC, as CRI logs and Kubernetes timestamps use. */
void rfc3339(char *buf, size_t n) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, n - k, ".%09ldZ", ts.tv_nsec);
}

/* The supervisor's own messages go to its stderr: the terminal of a foreground run, or
 * supervisor.log in the pod's run directory for a detached pod. */
void logmsg(struct pod *p, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof(line) - 2) n = (int)sizeof(line) - 2;
  line[n++] = '\n';
  char prefix[300];
  int k = p->attach ? snprintf(prefix, sizeof(prefix), "minipod: ") : 0;
  if (!p->attach) {
    char ts[40];
    rfc3339(ts, sizeof(ts));
    k = snprintf(prefix, sizeof(prefix), "%s ", ts);
  }
  if (write(2, prefix, (size_t)k) < 0 || write(2, line, (size_t)n) < 0) {
    /* nowhere left to complain */
  }
}

static const struct { const char *name; int sig; } sigs[] = {
    {"SIGHUP", SIGHUP}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT}, {"SIGILL", SIGILL},
    {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT}, {"SIGBUS", SIGBUS}, {"SIGFPE", SIGFPE},
    {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGSEGV", SIGSEGV}, {"SIGUSR2", SIGUSR2},
    {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM}, {"SIGTERM", SIGTERM}, {"SIGCHLD", SIGCHLD},
    {"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP}, {"SIGTSTP", SIGTSTP}, {"SIGTTIN", SIGTTIN},
    {"SIGTTOU", SIGTTOU}, {"SIGURG", SIGURG}, {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
    {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH}, {"SIGIO", SIGIO},
    {"SIGPWR", SIGPWR}, {"SIGSYS", SIGSYS},
};

int signal_number(const char *name) {
  if (!name) return SIGTERM;
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    if (!strcmp(sigs[i].name, name) || !strcmp(sigs[i].name + 3, name)) return sigs[i].sig;
  return SIGTERM;
}

const char *signal_name(int sig) {
  for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
    if (sigs[i].sig == sig) return sigs[i].name;
  return "SIG?";
}

/* Decodes a ProcessPlan and spawns it with io: the one way the supervisor starts a process
 * (pause, containers, exec handlers). A plan that does not decode, e.g. "@container:NAME/..."
 * of a container that is not running, is reported like any other failure, as step "plan". */
int spawn_plan(struct pod *p, const struct mp_json *plan, const struct mp_spawn_io *io, struct mp_spawn_result *res,
               struct mp_error *err) {
  struct mp_arena arena = {0};
  struct mp_proc proc;
  char msg[sizeof(err->detail)];
  int rc;
  memset(err, 0, sizeof(*err));
  if (mp_plan_decode(&arena, plan, &proc, pod_resolve, p, msg, sizeof(msg)) < 0) {
    snprintf(err->step, sizeof(err->step), "plan");
    snprintf(err->syscall, sizeof(err->syscall), "plan");
    snprintf(err->detail, sizeof(err->detail), "%s", msg);
    err->err = EINVAL;
    rc = -1;
  } else {
    rc = mp_spawn(&proc, io, res, err);
  }
  mp_arena_free(&arena);
  return rc;
}
