/* minipod-oci: minipod as a runc-compatible OCI runtime, the binary containerd's runc v2
 * shim runs (BinaryName). Global options come before the verb, as runc takes them:
 *
 *   minipod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] VERB ...
 *
 * start, state, kill, delete, ps, pause, resume and list run here, in a few milliseconds;
 * create, exec, update and features translate JSON into a plan and run in Node
 * (dist/minipod-oci.js, src/oci), which this program execs with the same arguments.
 * Why the split: containerd calls four or more verbs per container, and a Node start costs
 * ~50 ms on every one of them (README, "minipod under Kubernetes").
 *
 * Errors go to stderr and, with --log, as one line each ({"level":"error","msg":...,
 * "time":...} with --log-format json) to the log file, which is where containerd reads them.
 * Exit status 0 or 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../shim/shim.h"
#include "oci.h"

#ifndef MP_OCI_VERSION
#define MP_OCI_VERSION "0.1.0"
#endif
#ifndef MP_NODE
#define MP_NODE "node"
#endif

static const char *log_file, *log_format = "text";

static const char USAGE[] =
    "Usage: minipod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND\n"
    "\n"
    "minipod as an OCI runtime (runc's command line), for containerd's runc v2 shim.\n"
    "\n"
    "Commands:\n"
    "  create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] ID\n"
    "  start ID            state ID            kill [--all] ID [SIGNAL]\n"
    "  delete [--force] ID exec --process FILE [--console-socket S] [--detach] [--pid-file F] ID\n"
    "  ps [--format json|table] ID           list               pause ID          resume ID\n"
    "  update --resources FILE|- ID          features           --version\n";

static void log_line(const char *level, const char *msg) {
  if (!log_file) return;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char when[40];
  size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof(when) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
  struct jw w = {0};
  if (!strcmp(log_format, "json")) {
    jw_put(&w, "{", 1);
    jw_key(&w, "level");
    jw_str(&w, level);
    jw_key(&w, "msg");
    jw_str(&w, msg[0] ? msg : "error");
    jw_key(&w, "time");
    jw_str(&w, when);
    jw_put(&w, "}\n", 2);
  } else {
    jw_putf(&w, "%s %s: ", when, level);
    jw_put(&w, msg, strlen(msg));
    jw_put(&w, "\n", 1);
  }
  /* One write of one line, appended: a log that cannot be written must not hide the error. */
  int fd = open(log_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0 && !w.oom) {
    if (write(fd, w.b, w.len) < 0) {}
  }
  if (fd >= 0) close(fd);
  free(w.b);
}

static void warn(const char *msg) {
  log_line("warning", msg);
  fprintf(stderr, "minipod-oci: warning: %s\n", msg);
}

static int fail(const char *msg) {
  log_line("error", msg);
  fprintf(stderr, "minipod-oci: %s\n", msg);
  return 1;
}

/* Hands the whole command line to the TypeScript half: node DIST/minipod-oci.js ARGS. The
 * bundle is found next to this binary (build/Release/minipod-oci -> dist/minipod-oci.js). */
static int to_node(char **argv) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return fail("readlink /proc/self/exe failed");
  self[n] = 0;
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(self, '/');
    if (!slash) return fail("cannot find the minipod directory from /proc/self/exe");
    *slash = 0;
  }
  char js[PATH_MAX + 32];
  snprintf(js, sizeof(js), "%s/dist/minipod-oci.js", self);
  if (access(js, R_OK) < 0) {
    char msg[PATH_MAX + 128];
    snprintf(msg, sizeof(msg), "%s is missing; run `npm run build` in the minipod directory first", js);
    return fail(msg);
  }
  int argc = 0;
  while (argv[argc]) argc++;
  char **args = calloc((size_t)argc + 3, sizeof(char *));
  if (!args) return fail("out of memory");
  args[0] = (char *)"node";
  args[1] = js;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  /* The Node that built minipod first (the shim's PATH may have none), then PATH's. */
  if (MP_NODE[0] == '/') execv(MP_NODE, args);
  execvp("node", args);
  char msg[256];
  snprintf(msg, sizeof(msg), "cannot run node (%s): %s", MP_NODE, strerror(errno));
  free(args);
  return fail(msg);
}

/* Go-style flags as runc takes them: -x, --x, --x=v, --x v; anywhere among the positionals. */
struct flags {
  int all, force, json;
  const char *pos[3];
  int npos;
};

static int parse_verb(const char *verb, int argc, char **argv, struct flags *f, char *err, size_t errlen) {
  memset(f, 0, sizeof(*f));
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || !a[1]) {
      if (f->npos < 3) f->pos[f->npos++] = a;
      continue;
    }
    const char *k = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(k, '=');
    size_t klen = eq ? (size_t)(eq - k) : strlen(k);
#define IS(name) (klen == strlen(name) && !strncmp(k, name, klen))
    if ((IS("all") || IS("a")) && !strcmp(verb, "kill")) f->all = !eq || strcmp(eq + 1, "false");
    else if ((IS("force") || IS("f")) && !strcmp(verb, "delete")) f->force = !eq || strcmp(eq + 1, "false");
    else if ((IS("format") || IS("f")) && (!strcmp(verb, "ps") || !strcmp(verb, "list"))) {
      const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : "");
      if (strcmp(v, "json") && strcmp(v, "table")) { snprintf(err, errlen, "%s: --format is json or table, not \"%s\"", verb, v); return -1; }
      f->json = !strcmp(v, "json");
    } else if ((IS("quiet") || IS("q")) && !strcmp(verb, "list")) {
    } else {
      snprintf(err, errlen, "%s: unknown option %s", verb, a);
      return -1;
    }
#undef IS
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *root = "/run/minipod-oci";
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    const char *k = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(k, '=');
    size_t klen = eq ? (size_t)(eq - k) : strlen(k);
#define IS(name) (klen == strlen(name) && !strncmp(k, name, klen))
#define VALUE() (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : ""))
    if (IS("root")) root = VALUE();
    else if (IS("log")) log_file = VALUE();
    else if (IS("log-format")) log_format = VALUE();
    else if (IS("criu")) (void)VALUE();
    else if (IS("rootless")) {
      const char *v = VALUE();
      if (strcmp(v, "false") && strcmp(v, "auto")) return fail("--rootless is not supported");
    } else if (IS("systemd-cgroup") || IS("debug")) {
      /* --systemd-cgroup is refused by create, which meets the cgroup (src/oci/cgroups.ts). */
    } else if (IS("version") || IS("v")) {
      printf("minipod-oci version %s\nspec: %s\n", MP_OCI_VERSION, OCI_VERSION);
      return 0;
    } else if (IS("help") || IS("h")) {
      fputs(USAGE, stdout);
      return 0;
    } else {
      char msg[256];
      snprintf(msg, sizeof(msg), "unknown global option %s", a);
      return fail(msg);
    }
#undef IS
#undef VALUE
  }
  if (i >= argc) {
    fputs(USAGE, stdout);
    return 1;
  }
  const char *verb = argv[i];
  if (!strcmp(verb, "create") || !strcmp(verb, "exec") || !strcmp(verb, "update") || !strcmp(verb, "features") || !strcmp(verb, "run"))
    return to_node(argv);
  struct flags f;
  char perr[256];
  if (parse_verb(verb, argc - i - 1, argv + i + 1, &f, perr, sizeof(perr)) < 0) return fail(perr);
  struct oci_err e = {{0}};
  int rc;
  if (!strcmp(verb, "list")) rc = oci_list(root, f.json, &e);
  else if (!strcmp(verb, "help")) { fputs(USAGE, stdout); return 0; }
  else if (!strcmp(verb, "start") || !strcmp(verb, "state") || !strcmp(verb, "kill") || !strcmp(verb, "delete") || !strcmp(verb, "ps") || !strcmp(verb, "pause") || !strcmp(verb, "resume")) {
    if (f.npos < 1) {
      char msg[64];
      snprintf(msg, sizeof(msg), "%s needs a container id", verb);
      return fail(msg);
    }
    const char *id = f.pos[0];
    if (!strcmp(verb, "start")) rc = oci_start(root, id, &e);
    else if (!strcmp(verb, "state")) rc = oci_state_verb(root, id, &e);
    else if (!strcmp(verb, "kill")) rc = oci_kill(root, id, f.npos > 1 ? f.pos[1] : "SIGTERM", f.all, &e);
    else if (!strcmp(verb, "delete")) rc = oci_delete(root, id, f.force, warn, &e);
    else if (!strcmp(verb, "ps")) rc = oci_ps(root, id, f.json, &e);
    else rc = oci_pause(root, id, !strcmp(verb, "pause"), &e);
  } else {
    snprintf(e.msg, sizeof(e.msg), "unknown command \"%s\"", verb);
    rc = -1;
  }
  fflush(stdout);
  return rc < 0 ? fail(e.msg) : 0;
}
