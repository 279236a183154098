/* Probes and lifecycle hooks, with the kubelet's semantics:
 *  - postStart runs as soon as the container has started; until it has ended, no probe runs
 *    and the container is not started, not ready (and the next app container waits, as the
 *    kubelet starts containers one after the other). If it fails, the container is killed
 *    (preStop, stop signal, grace) with reason FailedPostStartHook and restarted per policy.
 *  - startupProbe runs first; liveness and readiness only once it has succeeded. Failing
 *    failureThreshold times in a row kills the container, like liveness.
 *  - livenessProbe: failureThreshold failures in a row kill the container (through preStop,
 *    with the probe's terminationGracePeriodSeconds or the pod's); it is restarted unless
 *    restartPolicy is Never, and that counts as a restart.
 *  - readinessProbe: `ready` follows it (successThreshold successes in a row make it ready,
 *    failureThreshold failures unready). Without one, a container is ready once started.
 *  - every probe first runs initialDelaySeconds after the container started, then every
 *    periodSeconds; a run still going when the next is due is not doubled up.
 *  - preStop runs when the container is stopped; the stop signal follows when it ends; the
 *    grace period counts from its start (pod.c: ctr_kill).
 * Results are taken in probes_on_deadline(), once per loop turn, never from inside an event
 * handler: a result can kill a container, which can start preStop, which can fail at once.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "shim.h"

static const char *const probe_names[NPROBES] = {"startup", "liveness", "readiness"};
static const char *const probe_titles[NPROBES] = {"Startup", "Liveness", "Readiness"};

int probes_load(struct ctr *c, const struct mp_json *j, char *err, size_t n) {
  const struct mp_json *probes = mp_json_get(j, "probes"), *hooks = mp_json_get(j, "hooks");
  char why[200];
  for (int k = 0; k < NPROBES; k++) {
    struct probe *pr = &c->probe[k];
    memset(pr, 0, sizeof(*pr));
    pr->act.pidfd = pr->act.outfd = pr->act.sock = -1;
    const struct mp_json *x = mp_json_get(probes, probe_names[k]);
    if (!x || x->type != MP_JOBJ) continue;
    if (handler_load(mp_json_get(x, "handler"), &pr->h, why, sizeof(why)) < 0) {
      snprintf(err, n, "%s probe: %s", probe_names[k], why);
      return -1;
    }
    pr->on = 1;
    pr->initial_delay = (int64_t)(mp_json_num(x, "initialDelaySeconds", 0) * 1000);
    pr->period = (int64_t)(mp_json_num(x, "periodSeconds", 10) * 1000);
    if (pr->period < 1) pr->period = 1000;
    pr->timeout_s = (int)mp_json_num(x, "timeoutSeconds", 1);
    if (pr->timeout_s < 1) pr->timeout_s = 1;
    pr->success_threshold = (int)mp_json_num(x, "successThreshold", 1);
    pr->failure_threshold = (int)mp_json_num(x, "failureThreshold", 3);
    double g = mp_json_num(x, "terminationGracePeriodSeconds", -1);
    pr->grace_ms = g < 0 ? -1 : (int)(g * 1000);
  }
  memset(&c->hook, 0, sizeof(c->hook));
  c->hook.pidfd = c->hook.outfd = c->hook.sock = -1;
  const struct mp_json *ps = mp_json_get(hooks, "postStart"), *pre = mp_json_get(hooks, "preStop");
  c->post_start.kind = c->pre_stop.kind = A_NONE;
  if (ps && handler_load(ps, &c->post_start, why, sizeof(why)) < 0) { snprintf(err, n, "postStart: %s", why); return -1; }
  if (pre && handler_load(pre, &c->pre_stop, why, sizeof(why)) < 0) { snprintf(err, n, "preStop: %s", why); return -1; }
  return 0;
}

static uint64_t tag_of(struct pod *p, struct ctr *c, int slot) {
  return TAG(T_ACT, (int)(c - p->ctrs) * NSLOTS + slot);
}

static struct action *slot_action(struct ctr *c, int slot) {
  return slot == SLOT_HOOK ? &c->hook : &c->probe[slot].act;
}

int ctr_started(const struct ctr *c) {
  return c->state == CS_RUNNING && c->post_start_done && c->startup_done;
}

void probes_update_ready(struct pod *p, struct ctr *c) {
  int r = ctr_started(c) && !c->stopping && (!c->init || c->sidecar);
  if (r && c->probe[PR_READINESS].on) r = c->probe[PR_READINESS].result == 1;
  if (r == c->ready) return;
  c->ready = r;
  state_write(p);
}

/* Startup first; liveness and readiness once it has passed. Each first runs
 * initialDelaySeconds after the container started. */
static void schedule(struct pod *p, struct ctr *c) {
  int64_t now = now_ms();
  for (int k = 0; k < NPROBES; k++) {
    struct probe *pr = &c->probe[k];
    if (!pr->on || pr->next_run) continue;
    if (k == PR_STARTUP ? c->startup_done : !c->startup_done) continue;
    int64_t t = c->started_mono + pr->initial_delay;
    pr->next_run = t > now ? t : now;
  }
  (void)p;
}

static void post_start_ended(struct pod *p, struct ctr *c) {
  c->post_start_done = 1;
  schedule(p, c);
  probes_update_ready(p, c);
  state_write(p); /* `started` may have changed */
}

void probes_on_start(struct pod *p, struct ctr *c) {
  for (int k = 0; k < NPROBES; k++) {
    struct probe *pr = &c->probe[k];
    pr->next_run = 0;
    pr->successes = pr->failures = 0;
    /* The kubelet's initial results: alive until shown otherwise, not ready, not started. */
    pr->result = k == PR_LIVENESS ? 1 : k == PR_READINESS ? 0 : -1;
    pr->message[0] = 0;
  }
  c->startup_done = !c->probe[PR_STARTUP].on;
  c->post_start_done = 0;
  c->hook_kind = H_NONE;
  if (c->post_start.kind == A_NONE) {
    post_start_ended(p, c);
    return;
  }
  c->hook_kind = H_POSTSTART;
  action_start(p, &c->hook, &c->post_start, 0, tag_of(p, c, SLOT_HOOK));
}

static void cancel_probes(struct pod *p, struct ctr *c) {
  for (int k = 0; k < NPROBES; k++) {
    action_cancel(p, &c->probe[k].act);
    c->probe[k].next_run = 0;
  }
}

static void cancel_hook(struct pod *p, struct ctr *c) {
  action_cancel(p, &c->hook);
  if (c->hook_kind == H_POSTSTART) c->post_start_done = 1;
  c->hook_kind = H_NONE;
}

void probes_on_kill(struct pod *p, struct ctr *c) {
  cancel_probes(p, c);
  probes_update_ready(p, c);
}

void probes_on_end(struct pod *p, struct ctr *c) {
  cancel_probes(p, c);
  cancel_hook(p, c);
}

int hooks_pre_stop(struct pod *p, struct ctr *c) {
  cancel_hook(p, c); /* a postStart still running is moot now */
  if (c->pre_stop.kind == A_NONE) return 0;
  logmsg(p, "[%s] running the preStop hook", c->name);
  c->hook_kind = H_PRESTOP;
  action_start(p, &c->hook, &c->pre_stop, 0, tag_of(p, c, SLOT_HOOK));
  return 1;
}

static void hook_done(struct pod *p, struct ctr *c, struct action *a) {
  enum hook_kind k = c->hook_kind;
  c->hook_kind = H_NONE;
  if (k == H_POSTSTART) {
    if (c->state != CS_RUNNING || c->stopping) { c->post_start_done = 1; return; }
    if (a->ok) { post_start_ended(p, c); return; }
    logmsg(p, "[%s] postStart hook failed: %s", c->name, a->msg);
    pod_event(p, 1, "FailedPostStartHook", c, "PostStartHook failed: %s", a->msg);
    c->post_start_done = 1;
    snprintf(c->kill_reason, sizeof(c->kill_reason), "FailedPostStartHook");
    snprintf(c->kill_message, sizeof(c->kill_message), "postStart hook failed: %s", a->msg);
    c->kill_restart = 1;
    ctr_kill(p, c, p->grace_ms);
  } else if (k == H_PRESTOP) {
    if (a->ok) logmsg(p, "[%s] preStop hook done", c->name);
    else logmsg(p, "[%s] preStop hook failed: %s", c->name, a->msg);
    ctr_stop_signal(p, c);
  }
}

static void probe_done(struct pod *p, struct ctr *c, int k, struct action *a) {
  struct probe *pr = &c->probe[k];
  if (c->state != CS_RUNNING || c->stopping) return;
  if (a->ok) {
    pr->successes++;
    pr->failures = 0;
    if (pr->successes < pr->success_threshold || pr->result == 1) return;
    pr->result = 1;
    logmsg(p, "[%s] %s probe succeeded", c->name, probe_names[k]);
    if (k == PR_STARTUP) {
      c->startup_done = 1;
      pr->next_run = 0; /* a startup probe is done once it has succeeded */
      schedule(p, c);
    }
    probes_update_ready(p, c);
    state_write(p);
    return;
  }
  pr->failures++;
  pr->successes = 0;
  snprintf(pr->message, sizeof(pr->message), "%s probe failed: %s", probe_titles[k], a->msg);
  if (pr->failures == 1) logmsg(p, "[%s] %s", c->name, pr->message);
  pod_event(p, 1, "Unhealthy", c, "%s", pr->message);
  if (pr->failures >= pr->failure_threshold && pr->result != 0) {
    pr->result = 0;
    if (k == PR_READINESS) {
      probes_update_ready(p, c);
    } else {
      logmsg(p, "[%s] %s probe failed %d times in a row: killing the container", c->name, probe_names[k], pr->failures);
      snprintf(c->kill_message, sizeof(c->kill_message), "%s", pr->message);
      c->kill_restart = 1;
      ctr_kill(p, c, pr->grace_ms >= 0 ? pr->grace_ms : p->grace_ms);
    }
  }
  state_write(p); /* the failure count and message are in state.json */
}

void probes_on_event(struct pod *p, uint64_t tag, uint32_t events) {
  int v = TAG_VAL(tag), i = v / NSLOTS, slot = v % NSLOTS;
  if (i < 0 || i >= p->nctrs) return;
  action_on_event(p, slot_action(&p->ctrs[i], slot), TAG_KIND(tag) == T_ACTOUT, events);
}

int64_t probes_next_deadline(struct pod *p) {
  int64_t next = 0;
  for (int i = 0; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    for (int s = 0; s < NSLOTS; s++) {
      struct action *a = slot_action(c, s);
      int64_t t = a->finished ? now_ms() : a->active ? a->deadline : 0;
      if (s < NPROBES && c->probe[s].next_run && (!t || c->probe[s].next_run < t)) t = c->probe[s].next_run;
      if (t && (!next || t < next)) next = t;
    }
  }
  return next;
}

void probes_on_deadline(struct pod *p) {
  int64_t now = now_ms();
  for (int i = 0; i < p->nctrs; i++) {
    struct ctr *c = &p->ctrs[i];
    for (int s = 0; s < NSLOTS; s++) {
      struct action *a = slot_action(c, s);
      if (a->active && a->deadline && now >= a->deadline) action_on_deadline(p, a);
      if (!a->finished) continue;
      a->finished = 0;
      if (s == SLOT_HOOK) hook_done(p, c, a);
      else probe_done(p, c, s, a);
    }
    for (int k = 0; k < NPROBES; k++) {
      struct probe *pr = &c->probe[k];
      if (!pr->next_run || now < pr->next_run) continue;
      if (c->state != CS_RUNNING || c->stopping) { pr->next_run = 0; continue; }
      pr->next_run = now + pr->period;
      if (!pr->act.active) action_start(p, &pr->act, &pr->h, pr->timeout_s, tag_of(p, c, k));
    }
  }
}

/* For state.json: "probes": {"liveness": {"result": ..., "failures": N, "message": ...}} */
const char *probe_name(int k) { return probe_names[k]; }
