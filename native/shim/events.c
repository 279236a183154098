/* The pod's events, as the kubelet records them for `kubectl describe` (Created, Started,
 * Killing, BackOff, Unhealthy, Failed, ...), one JSON line each in RUN_DIR/events.jsonl:
 *   {"time":"...","type":"Normal|Warning","reason":"...","container":"web"|null,"message":"...","from":"supervisor"}
 * `minipod describe` and `minipod events` read them (src/runtime/events.ts), counting
 * repeats as kubectl does. The file is appended to, never rewritten; past 4 MiB (a pod that
 * crash-loops for months) no more are written, and the last one says so. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define EVENTS_MAX (4 << 20)

void pod_event(struct pod *p, int warning, const char *reason, const struct ctr *c, const char *fmt, ...) {
  if (p->unwind_only || !p->run_dir) return;
  char path[4200], msg[1024], when[40];
  snprintf(path, sizeof path, "%s/events.jsonl", p->run_dir);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size > EVENTS_MAX) {
    close(fd);
    return;
  }
  if (st.st_size + (off_t)sizeof msg > EVENTS_MAX) {
    reason = "EventsFull";
    warning = 1;
    c = NULL;
    snprintf(msg, sizeof msg, "the pod's event log is full (%d MiB): later events are not recorded", EVENTS_MAX >> 20);
  }
  rfc3339(when, sizeof when);
  struct jw w = {0};
  jw_put(&w, "{", 1);
  jw_key(&w, "time");
  jw_str(&w, when);
  jw_key(&w, "type");
  jw_str(&w, warning ? "Warning" : "Normal");
  jw_key(&w, "reason");
  jw_str(&w, reason);
  jw_key(&w, "container");
  jw_str(&w, c ? c->name : NULL);
  jw_key(&w, "message");
  jw_str(&w, msg);
  jw_key(&w, "from");
  jw_str(&w, "supervisor");
  jw_put(&w, "}\n", 2);
  if (!w.oom && write(fd, w.b, w.len) < 0) {
    /* a full disk must not stop the pod; the event is lost */
  }
  free(w.b);
  close(fd);
}
