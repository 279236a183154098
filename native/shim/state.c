/* state.json: the one state file of a pod, rewritten atomically (temp file + rename) on
 * every transition, so a reader never sees half a file and needs no lock.
 *
 * TypeScript writes it first, before the supervisor starts: the host record ("host": name,
 * uid, directories, the network's address and ports) and the journal of what it changed on
 * the host so far. From its start on, the supervisor is the file's only writer: it keeps
 * every key it does not own as it read it, and owns the pod's status in Kubernetes'
 * vocabulary, its own and pause's pid + start time, the journal and "torndown". After the
 * supervisor is gone, whoever unwinds (`minipod-shim --unwind`) owns only the journal and
 * "torndown". src/state/host.ts and status.ts read it; the field names are the contract. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"


static void term(struct jw *w, const struct term_info *t) {
  if (!t->valid) { jw_put(w, "null", 4); return; }
  jw_put(w, "{", 1);
  jw_key(w, "exitCode"); jw_putf(w, "%d", t->exit_code);
  jw_key(w, "signal"); if (t->signal) jw_putf(w, "%d", t->signal); else jw_put(w, "null", 4);
  jw_key(w, "reason"); jw_str(w, t->reason);
  jw_key(w, "message"); jw_str(w, t->message);
  jw_key(w, "startedAt"); jw_str(w, t->started_at);
  jw_key(w, "finishedAt"); jw_str(w, t->finished_at);
  jw_put(w, "}", 1);
}

static const char *state_name(enum cstate s) {
  return s == CS_RUNNING ? "running" : s == CS_TERMINATED ? "terminated" : "waiting";
}

static void container(struct jw *w, struct pod *p, struct ctr *c) {
  jw_put(w, "{", 1);
  jw_key(w, "name"); jw_str(w, c->name);
  jw_key(w, "init"); jw_put(w, c->init ? "true" : "false", c->init ? 4 : 5);
  jw_key(w, "sidecar"); jw_put(w, c->sidecar ? "true" : "false", c->sidecar ? 4 : 5);
  jw_key(w, "state"); jw_str(w, state_name(c->state));
  jw_key(w, "reason"); jw_str(w, c->reason);
  jw_key(w, "message"); jw_str(w, c->message);
  jw_key(w, "pid"); if (c->state == CS_RUNNING) jw_putf(w, "%d", c->pid); else jw_put(w, "null", 4);
  jw_key(w, "exitCode"); if (c->state == CS_TERMINATED) jw_putf(w, "%d", c->exit_code); else jw_put(w, "null", 4);
  jw_key(w, "signal"); if (c->state == CS_TERMINATED && c->signal) jw_putf(w, "%d", c->signal); else jw_put(w, "null", 4);
  jw_key(w, "startedAt"); jw_str(w, c->started_once ? c->started_at : NULL);
  jw_key(w, "finishedAt"); jw_str(w, c->state == CS_TERMINATED ? c->finished_at : NULL);
  jw_key(w, "restartCount"); jw_putf(w, "%d", c->restart_count);
  jw_key(w, "ready"); jw_put(w, c->ready ? "true" : "false", c->ready ? 4 : 5);
  jw_key(w, "started"); jw_put(w, ctr_started(c) ? "true" : "false", ctr_started(c) ? 4 : 5);
  jw_key(w, "nextStartInMs");
  if (c->next_start) jw_putf(w, "%lld", (long long)(c->next_start - now_ms())); else jw_put(w, "null", 4);
  jw_key(w, "lastState"); term(w, &c->last);
  jw_key(w, "probes");
  jw_put(w, "{", 1);
  for (int k = 0; k < NPROBES; k++) {
    const struct probe *pr = &c->probe[k];
    if (!pr->on) continue;
    jw_key(w, probe_name(k));
    jw_put(w, "{", 1);
    jw_key(w, "result");
    jw_str(w, c->state != CS_RUNNING ? NULL : pr->result == 1 ? "success" : pr->result == 0 ? "failure" : "unknown");
    jw_key(w, "failures"); jw_putf(w, "%d", pr->failures);
    jw_key(w, "message"); jw_str(w, pr->message);
    jw_put(w, "}", 1);
  }
  jw_put(w, "}", 1);
  jw_key(w, "error");
  if (c->has_error) {
    const struct mp_error *e = &c->error;
    jw_put(w, "{", 1);
    jw_key(w, "step"); jw_str(w, e->step);
    jw_key(w, "syscall"); jw_str(w, e->syscall);
    jw_key(w, "errno"); jw_putf(w, "%d", e->err);
    jw_key(w, "path"); jw_str(w, e->path);
    jw_key(w, "dest"); jw_str(w, e->dest);
    jw_key(w, "detail"); jw_str(w, e->detail);
    jw_put(w, "}", 1);
  } else {
    jw_put(w, "null", 4);
  }
  jw_put(w, "}", 1);
  (void)p;
}

/* The keys the supervisor writes itself; all others pass through. */
static int owned(const struct pod *p, const char *k) {
  static const char *const sup[] = {"version", "pod", "uid", "phase", "reason", "supervisorPid", "supervisor", "pausePid",
                                    "pause", "startedAt", "finishedAt", "allStarted", "stopping", "containers",
                                    "journal", "torndown", "job", NULL};
  static const char *const unwinder[] = {"version", "journal", "torndown", NULL};
  for (const char *const *o = p->unwind_only ? unwinder : sup; *o; o++)
    if (!strcmp(*o, k)) return 1;
  return 0;
}

long long proc_start(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_small(path, buf, sizeof buf) <= 0) return -1;
  char *c = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
  if (!c) return -1;
  c += 2;
  if (*c == 'Z' || *c == 'X') return -1;
  for (int field = 3; field < 22 && c; field++) c = strchr(c, ' ') ? strchr(c, ' ') + 1 : NULL;
  return c ? strtoll(c, NULL, 10) : -1;
}

int state_load(struct pod *p, char *err, size_t n) {
  static struct mp_arena arena;
  int fd = open(p->state_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { snprintf(err, n, "read %s: %s", p->state_file, strerror(errno)); return -1; }
  struct stat st;
  char *text = NULL;
  ssize_t got = -1;
  if (fstat(fd, &st) == 0 && st.st_size < (8 << 20) && (text = mp_arena_alloc(&arena, (size_t)st.st_size + 1)))
    got = read(fd, text, (size_t)st.st_size);
  close(fd);
  if (got != st.st_size) { snprintf(err, n, "read %s: short read", p->state_file); return -1; }
  text[got] = 0;
  char perr[256];
  struct mp_json *root = mp_json_parse(&arena, text, (size_t)got, perr, sizeof perr);
  if (!root || root->type != MP_JOBJ) { snprintf(err, n, "%s: %s", p->state_file, root ? "not an object" : perr); return -1; }
  const struct mp_json *ver = mp_json_get(root, "version");
  if (!ver || ver->type != MP_JNUM || ver->num != MP_STATE_VERSION) {
    snprintf(err, n, "%s: state format version %s, this minipod reads version %d", p->state_file,
             ver && ver->type == MP_JNUM ? "other" : "missing", MP_STATE_VERSION);
    return -1;
  }
  char jerr[200];
  if (journal_decode(mp_json_get(root, "journal"), &p->journal, jerr, sizeof jerr) < 0) {
    snprintf(err, n, "%s: %s", p->state_file, jerr);
    return -1;
  }
  p->prior = root;
  p->torndown = mp_json_bool(root, "torndown", 0);
  if (!p->lib_dir) p->lib_dir = mp_json_str(mp_json_get(mp_json_get(root, "host"), "dirs"), "lib", NULL);
  return 0;
}

int pod_exit_code(const struct pod *p) {
  for (int i = 0; i < p->nctrs; i++) {
    const struct ctr *c = &p->ctrs[i];
    int code = c->state == CS_TERMINATED ? c->exit_code : c->last.valid ? c->last.exit_code : 0;
    if (code) return code;
  }
  return !strcmp(p->phase, "Failed") ? 1 : 0;
}

void state_write(struct pod *p) {
  struct jw w = {0};
  jw_put(&w, "{", 1);
  jw_key(&w, "version"); jw_putf(&w, "%d", MP_STATE_VERSION);
  for (const struct mp_json *m = p->prior ? p->prior->child : NULL; m; m = m->next) {
    if (owned(p, m->key)) continue;
    jw_key(&w, m->key);
    jw_node(&w, m);
  }
  jw_key(&w, "journal"); journal_emit(&w, &p->journal);
  jw_key(&w, "torndown"); jw_bool(&w, p->torndown);
  if (p->unwind_only) {
    jw_put(&w, "}\n", 2);
    goto commit;
  }
  jw_key(&w, "pod"); jw_str(&w, p->name);
  jw_key(&w, "uid"); jw_str(&w, p->uid);
  jw_key(&w, "phase"); jw_str(&w, p->phase);
  jw_key(&w, "reason"); jw_str(&w, p->reason);
  jw_key(&w, "supervisorPid"); jw_putf(&w, "%d", getpid());
  jw_key(&w, "supervisor"); jw_putf(&w, "{\"pid\":%d,\"start\":%lld}", getpid(), p->self_start);
  jw_key(&w, "pausePid"); if (p->pause_pid > 0 && !p->pause_dead) jw_putf(&w, "%d", p->pause_pid); else jw_put(&w, "null", 4);
  jw_key(&w, "pause");
  if (p->pause_pid > 0 && p->pause_start >= 0) {
    jw_putf(&w, "{\"pid\":%d,\"start\":%lld", p->pause_pid, p->pause_start);
    if (p->pinned) { jw_putf(&w, ",\"ipcNs\":%llu,\"ipcPin\":", p->ipc_ino); jw_str(&w, p->pin); }
    jw_put(&w, "}", 1);
  } else {
    jw_put(&w, "null", 4);
  }
  jw_key(&w, "startedAt"); jw_str(&w, p->started_at);
  jw_key(&w, "finishedAt"); jw_str(&w, p->finished_at);
  jw_key(&w, "allStarted"); jw_put(&w, p->started ? "true" : "false", p->started ? 4 : 5);
  jw_key(&w, "stopping"); jw_put(&w, p->stopping ? "true" : "false", p->stopping ? 4 : 5);
  if (p->job_completions) {
    jw_key(&w, "job");
    jw_putf(&w, "{\"completions\":%d,\"succeeded\":%d,\"failed\":%d,\"backoffLimit\":%d}", p->job_completions, p->job_succeeded, p->job_failed, p->job_backoff_limit);
  }
  jw_key(&w, "containers");
  jw_put(&w, "[", 1);
  for (int i = 0; i < p->nctrs; i++) {
    if (i) jw_put(&w, ",", 1);
    container(&w, p, &p->ctrs[i]);
  }
  jw_put(&w, "]}\n", 3);
commit:
  if (jw_commit(&w, p->state_file, 0600) < 0) logmsg(p, "writing %s: %s", p->state_file, strerror(errno));
  free(w.b);
}
