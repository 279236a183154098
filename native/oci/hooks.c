/* The hooks the runtime runs (runtime spec "Lifecycle"): create's (prestart, createRuntime,
 * createContainer), start's poststart and delete's poststop, each in the runtime's
 * namespaces, with exactly its env, the container's state JSON on its stdin, its own timeout
 * (killed when it passes); its stderr becomes the error message. startContainer hooks run
 * in the container, by the workload itself (native/exec/start-hooks.c): they become the
 * plan's startHooks here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "create.h"

#define MAX_ARGS 256

/* Fills a NULL-terminated vector from a JSON array of strings (at most MAX_ARGS). */
static int strings(const struct mp_json *arr, char **out) {
  int n = 0;
  for (const struct mp_json *c = arr && arr->type == MP_JARR ? arr->child : NULL; c && n < MAX_ARGS; c = c->next)
    if (c->type == MP_JSTR) out[n++] = (char *)c->str;
  out[n] = NULL;
  return n;
}

/* One hook: 0, or -1 with what went wrong. */
static int run_one(const char *kind, const struct mp_json *h, const char *state_json, struct oci_err *e) {
  const char *path = mp_json_str(h, "path", NULL);
  if (!path || path[0] != '/') return oci_fail(e, "%s hook: path must be absolute", kind);
  char *argv[MAX_ARGS + 1], *envp[MAX_ARGS + 1];
  if (strings(mp_json_get(h, "args"), argv) == 0) { argv[0] = (char *)path; argv[1] = NULL; }
  strings(mp_json_get(h, "env"), envp);
  double timeout = mp_json_num(h, "timeout", 0);
  int in[2], err[2];
  if (pipe2(in, O_CLOEXEC) < 0) return oci_fail(e, "%s hook %s: pipe: %s", kind, path, strerror(errno));
  if (pipe2(err, O_CLOEXEC) < 0) { close(in[0]); close(in[1]); return oci_fail(e, "%s hook %s: pipe: %s", kind, path, strerror(errno)); }
  pid_t pid = fork();
  if (pid < 0) { close(in[0]); close(in[1]); close(err[0]); close(err[1]); return oci_fail(e, "%s hook %s: fork: %s", kind, path, strerror(errno)); }
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(err[1], 2);
    signal(SIGPIPE, SIG_DFL);
    execve(path, argv, envp);
    dprintf(2, "execve: %s", strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(err[1]);
  /* The state first: a hook that does not read it gets EPIPE here, which is not its failure. */
  size_t left = strlen(state_json);
  for (const char *p = state_json; left > 0;) {
    ssize_t n = write(in[1], p, left);
    if (n <= 0) break;
    p += n;
    left -= (size_t)n;
  }
  close(in[1]);
  /* Its stderr until it closes (the hook has ended, as Go's exec waits for it in runc). */
  char msg[512];
  size_t mlen = 0;
  long long deadline = timeout > 0 ? oci_mono_ms() + (long long)(timeout * 1000) : -1;
  int timed_out = 0;
  for (;;) {
    struct pollfd pf = {.fd = err[0], .events = POLLIN};
    int wait_ms = deadline < 0 ? -1 : (int)(deadline - oci_mono_ms());
    if (deadline >= 0 && wait_ms <= 0) { timed_out = 1; break; }
    int r = poll(&pf, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) { timed_out = 1; break; }
    if (r < 0) break;
    char buf[256];
    ssize_t n = read(err[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && mlen < sizeof(msg) - 1; i++) msg[mlen++] = buf[i];
  }
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  close(err[0]);
  while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == ' ')) mlen--;
  msg[mlen] = 0;
  if (timed_out) return oci_fail(e, "%s hook %s failed: timed out after %g s", kind, path, timeout);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  char how[64];
  if (WIFEXITED(status)) snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(status));
  else snprintf(how, sizeof(how), "signal %d", WTERMSIG(status));
  return oci_fail(e, "%s hook %s failed: %s%s%s", kind, path, how, mlen ? ": " : "", msg);
}

int oci_run_hooks(const struct oci_state *s, const char *kind, const char *state_json, int stop_at_first,
                  void (*warn)(const char *msg), struct oci_err *e) {
  const struct mp_json *hooks = mp_json_get(s->root, "hooks");
  const struct mp_json *list = hooks && hooks->type == MP_JOBJ ? mp_json_get(hooks, kind) : NULL;
  int rc = 0;
  /* A hook that is not read to its end must not kill the runtime. */
  signal(SIGPIPE, SIG_IGN);
  for (const struct mp_json *h = list && list->type == MP_JARR ? list->child : NULL; h; h = h->next) {
    if (h->type != MP_JOBJ) continue;
    if (run_one(kind, h, state_json, e) == 0) continue;
    rc = -1;
    if (stop_at_first) break;
    if (warn) warn(e->msg);
  }
  return rc;
}

/* hooks.startContainer -> the plan's "startHooks" (nothing when there are none). Their paths
 * are the container's: checked to be absolute here, resolved in its root by the workload. */
int oci_translate_start_hooks(const struct mp_json *hooks, struct jw *w, struct oci_err *e) {
  const struct mp_json *list = hooks && hooks->type == MP_JOBJ ? mp_json_get(hooks, "startContainer") : NULL;
  if (!list || list->type != MP_JARR || !list->child) return 0;
  if (list->len > 32) return oci_fail(e, "config.json hooks.startContainer: at most 32 hooks");
  jw_key(w, "startHooks");
  JW_LIT(w, "[");
  int i = 0;
  for (const struct mp_json *h = list->child; h; h = h->next, i++) {
    const char *path = h->type == MP_JOBJ ? mp_json_str(h, "path", NULL) : NULL;
    if (!path || path[0] != '/') return oci_fail(e, "config.json hooks.startContainer[%d].path: must be an absolute path", i);
    const struct mp_json *args = mp_json_get(h, "args"), *env = mp_json_get(h, "env"), *t = mp_json_get(h, "timeout");
    if (t && (t->type != MP_JNUM || t->num < 1 || t->num != (double)(int)t->num)) return oci_fail(e, "config.json hooks.startContainer[%d].timeout: must be a whole number of seconds greater than zero", i);
    if (i) JW_LIT(w, ",");
    JW_LIT(w, "{\"path\":");
    jw_str(w, path);
    JW_LIT(w, ",\"args\":");
    /* no args: the path alone is argv (as Go's exec.Cmd makes it in runc) */
    if (args && args->type == MP_JARR && args->child) jw_node(w, args);
    else { JW_LIT(w, "["); jw_str(w, path); JW_LIT(w, "]"); }
    JW_LIT(w, ",\"env\":");
    if (env && env->type == MP_JARR) jw_node(w, env);
    else JW_LIT(w, "[]");
    if (t) jw_putf(w, ",\"timeout\":%d", (int)t->num);
    JW_LIT(w, "}");
  }
  JW_LIT(w, "]");
  return 0;
}
