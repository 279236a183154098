/* The one-line description of an executor failure: the one shape every message of minipod
 * has, crun's — what was done (a verb a user knows), the quoted path(s), the errno by name
 * and by text, then which plan step and system call:
 *
 *   mount "/var/lib/minipod/pods/demo/volumes/x" -> "/www": ENOENT (No such file or directory) [step mounts[17]:bind, open_tree]
 *   exec "nginx": executable file not found in $PATH (ENOENT)
 *
 * The supervisor writes it into state.json and prints it; the addon attaches it to the
 * Error it throws, and src/errors.ts uses it as it is.
 */
#define _GNU_SOURCE
#include "describe.h"

#include <stdio.h>
#include <string.h>

static const char *verb(const char *step, const char *sys) {
  const char *colon = strchr(step, ':');
  const char *op = colon ? colon + 1 : "";
  if (!strncmp(step, "mounts[", 7)) {
    if (!strcmp(op, "mknod") || !strcmp(op, "symlink") || !strcmp(op, "mkdir")) return op;
    if (!strcmp(op, "pivot")) return "pivot_root";
    if (!strcmp(op, "propagation")) return "make-rprivate";
    return "mount";
  }
  if (!strncmp(step, "namespaces[", 11) && !strcmp(op, "join")) return "join namespace";
  if (!strncmp(step, "namespaces", 10)) return !strcmp(op, "fork") ? "fork" : "unshare";
  return sys;
}

void mp_describe(const struct mp_error *e, char *buf, size_t n) {
  const char *name = strerrorname_np(e->err);
  char unknown[16];
  if (!name) {
    snprintf(unknown, sizeof(unknown), "E%d", e->err);
    name = unknown;
  }
  const char *text = strerror(e->err);
  if (!strcmp(e->step, "plan")) {
    snprintf(buf, n, "%s", e->detail[0] ? e->detail : "invalid plan");
    return;
  }
  if (!strcmp(e->syscall, "execve")) {
    if (e->detail[0]) snprintf(buf, n, "exec \"%s\": %s (%s)", e->path, e->detail, name);
    else snprintf(buf, n, "exec \"%s\": %s (%s)", e->path, name, text);
    return;
  }
  char where[1600] = "";
  if (e->path[0] && e->dest[0]) snprintf(where, sizeof(where), " \"%s\" -> \"%s\"", e->path, e->dest);
  else if (e->path[0]) snprintf(where, sizeof(where), " \"%s\"", e->path);
  else if (e->dest[0]) snprintf(where, sizeof(where), " -> \"%s\"", e->dest);
  snprintf(buf, n, "%s%s: %s (%s)%s%s [step %s, %s]", verb(e->step, e->syscall), where, name, text, e->detail[0] ? ": " : "",
           e->detail, e->step[0] ? e->step : "?", e->syscall);
}
