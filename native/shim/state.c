/* state.json: the pod's status in Kubernetes' vocabulary, rewritten atomically (temp file
 * + rename) on every transition, so a reader never sees half a file and needs no lock.
 * src/state/status.ts reads it; the field names are the contract. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

struct jw {
  char *b;
  size_t len, cap;
  int oom;
};

static void put(struct jw *w, const char *s, size_t n) {
  if (w->len + n + 1 > w->cap) {
    size_t cap = (w->cap ? w->cap : 4096);
    while (cap < w->len + n + 1) cap *= 2;
    char *b = realloc(w->b, cap);
    if (!b) { w->oom = 1; return; }
    w->b = b;
    w->cap = cap;
  }
  memcpy(w->b + w->len, s, n);
  w->len += n;
  w->b[w->len] = 0;
}

static void putf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct jw *w, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) put(w, tmp, (size_t)(n < (int)sizeof(tmp) ? n : (int)sizeof(tmp) - 1));
}

static void str(struct jw *w, const char *s) {
  if (!s || !s[0]) { put(w, "null", 4); return; }
  put(w, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    if (*c == '"' || *c == '\\') { put(w, "\\", 1); put(w, (const char *)c, 1); }
    else if (*c == '\n') put(w, "\\n", 2);
    else if (*c == '\t') put(w, "\\t", 2);
    else if (*c < 0x20) putf(w, "\\u%04x", *c);
    else put(w, (const char *)c, 1);
  }
  put(w, "\"", 1);
}

static void key(struct jw *w, const char *k) {
  if (w->len && w->b[w->len - 1] != '{' && w->b[w->len - 1] != '[') put(w, ",", 1);
  str(w, k);
  put(w, ":", 1);
}

static void term(struct jw *w, const struct term_info *t) {
  if (!t->valid) { put(w, "null", 4); return; }
  put(w, "{", 1);
  key(w, "exitCode"); putf(w, "%d", t->exit_code);
  key(w, "signal"); if (t->signal) putf(w, "%d", t->signal); else put(w, "null", 4);
  key(w, "reason"); str(w, t->reason);
  key(w, "message"); str(w, t->message);
  key(w, "startedAt"); str(w, t->started_at);
  key(w, "finishedAt"); str(w, t->finished_at);
  put(w, "}", 1);
}

static const char *state_name(enum cstate s) {
  return s == CS_RUNNING ? "running" : s == CS_TERMINATED ? "terminated" : "waiting";
}

static void container(struct jw *w, struct pod *p, struct ctr *c) {
  put(w, "{", 1);
  key(w, "name"); str(w, c->name);
  key(w, "init"); put(w, c->init ? "true" : "false", c->init ? 4 : 5);
  key(w, "sidecar"); put(w, c->sidecar ? "true" : "false", c->sidecar ? 4 : 5);
  key(w, "state"); str(w, state_name(c->state));
  key(w, "reason"); str(w, c->reason);
  key(w, "message"); str(w, c->message);
  key(w, "pid"); if (c->state == CS_RUNNING) putf(w, "%d", c->pid); else put(w, "null", 4);
  key(w, "exitCode"); if (c->state == CS_TERMINATED) putf(w, "%d", c->exit_code); else put(w, "null", 4);
  key(w, "signal"); if (c->state == CS_TERMINATED && c->signal) putf(w, "%d", c->signal); else put(w, "null", 4);
  key(w, "startedAt"); str(w, c->started_once ? c->started_at : NULL);
  key(w, "finishedAt"); str(w, c->state == CS_TERMINATED ? c->finished_at : NULL);
  key(w, "restartCount"); putf(w, "%d", c->restart_count);
  key(w, "ready"); put(w, c->ready ? "true" : "false", c->ready ? 4 : 5);
  key(w, "started"); put(w, ctr_started(c) ? "true" : "false", ctr_started(c) ? 4 : 5);
  key(w, "nextStartInMs");
  if (c->next_start) putf(w, "%lld", (long long)(c->next_start - now_ms())); else put(w, "null", 4);
  key(w, "lastState"); term(w, &c->last);
  key(w, "probes");
  put(w, "{", 1);
  for (int k = 0; k < NPROBES; k++) {
    const struct probe *pr = &c->probe[k];
    if (!pr->on) continue;
    key(w, probe_name(k));
    put(w, "{", 1);
    key(w, "result");
    str(w, c->state != CS_RUNNING ? NULL : pr->result == 1 ? "success" : pr->result == 0 ? "failure" : "unknown");
    key(w, "failures"); putf(w, "%d", pr->failures);
    key(w, "message"); str(w, pr->message);
    put(w, "}", 1);
  }
  put(w, "}", 1);
  key(w, "error");
  if (c->has_error) {
    const struct mp_error *e = &c->error;
    put(w, "{", 1);
    key(w, "step"); str(w, e->step);
    key(w, "syscall"); str(w, e->syscall);
    key(w, "errno"); putf(w, "%d", e->err);
    key(w, "path"); str(w, e->path);
    key(w, "dest"); str(w, e->dest);
    key(w, "detail"); str(w, e->detail);
    put(w, "}", 1);
  } else {
    put(w, "null", 4);
  }
  put(w, "}", 1);
  (void)p;
}

void state_write(struct pod *p) {
  struct jw w = {0};
  put(&w, "{", 1);
  key(&w, "version"); putf(&w, "%d", MP_STATE_VERSION);
  key(&w, "pod"); str(&w, p->name);
  key(&w, "uid"); str(&w, p->uid);
  key(&w, "phase"); str(&w, p->phase);
  key(&w, "reason"); str(&w, p->reason);
  key(&w, "supervisorPid"); putf(&w, "%d", getpid());
  key(&w, "pausePid"); if (p->pause_pid > 0 && !p->pause_dead) putf(&w, "%d", p->pause_pid); else put(&w, "null", 4);
  key(&w, "startedAt"); str(&w, p->started_at);
  key(&w, "finishedAt"); str(&w, p->finished_at);
  key(&w, "allStarted"); put(&w, p->started ? "true" : "false", p->started ? 4 : 5);
  key(&w, "stopping"); put(&w, p->stopping ? "true" : "false", p->stopping ? 4 : 5);
  key(&w, "containers");
  put(&w, "[", 1);
  for (int i = 0; i < p->nctrs; i++) {
    if (i) put(&w, ",", 1);
    container(&w, p, &p->ctrs[i]);
  }
  put(&w, "]}\n", 3);
  if (w.oom) { free(w.b); return; }

  char tmp[4200];
  snprintf(tmp, sizeof(tmp), "%s.tmp", p->state_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ssize_t n = write(fd, w.b, w.len);
    close(fd);
    if (n == (ssize_t)w.len) rename(tmp, p->state_file);
    else unlink(tmp);
  }
  free(w.b);
}
