/* minipod-oci: minipod as a runc-compatible OCI runtime, the binary containerd's runc v2
 * shim runs (BinaryName). Global options come before the verb, as runc takes them:
 *
 *   minipod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] VERB ...
 *
 * Every verb runs here, over the executor the pod path uses (native/exec): containerd calls
 * four or more verbs per container, and a Node start would cost ~50 ms on every one of them
 * (README, "minipod under Kubernetes"). `plan` prints what create would run.
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
#include "create.h"

#ifndef MP_OCI_VERSION
#define MP_OCI_VERSION "0.1.0"
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
    "  update --resources FILE|- ID          features           --version\n"
    "  plan --bundle DIR [--mountinfo FILE] [--lsm LIST] ID   what create would run (the plan, the cgroup), nothing made\n";

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
    JW_LIT(&w, "{");
    jw_key(&w, "level");
    jw_str(&w, level);
    jw_key(&w, "msg");
    jw_str(&w, msg[0] ? msg : "error");
    jw_key(&w, "time");
    jw_str(&w, when);
    JW_LIT(&w, "}\n");
  } else {
    jw_putf(&w, "%s %s: ", when, level);
    jw_put(&w, msg, strlen(msg));
    JW_LIT(&w, "\n");
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

static const char FEATURES[] =
    "{\n"
    "  \"ociVersionMin\": \"1.0.0\",\n"
    "  \"ociVersionMax\": \"1.1.0\",\n"
    "  \"hooks\": [\"prestart\", \"createRuntime\", \"createContainer\", \"poststart\", \"poststop\"],\n"
    "  \"mountOptions\": [\"ro\", \"rw\", \"nosuid\", \"nodev\", \"noexec\", \"noatime\", \"relatime\", \"bind\", \"rbind\"],\n"
    "  \"linux\": {\n"
    "    \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"uts\"],\n"
    "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": false},\n"
    "    \"seccomp\": {\"enabled\": true, \"actions\": [\"SCMP_ACT_ALLOW\", \"SCMP_ACT_ERRNO\", \"SCMP_ACT_KILL\", \"SCMP_ACT_KILL_PROCESS\", \"SCMP_ACT_KILL_THREAD\", \"SCMP_ACT_LOG\"], "
    "\"operators\": [\"SCMP_CMP_EQ\", \"SCMP_CMP_NE\", \"SCMP_CMP_LT\", \"SCMP_CMP_LE\", \"SCMP_CMP_GT\", \"SCMP_CMP_GE\", \"SCMP_CMP_MASKED_EQ\"]},\n"
    "    \"apparmor\": {\"enabled\": false},\n"
    "    \"selinux\": {\"enabled\": false}\n"
    "  }\n"
    "}\n";

/* Go-style flags as runc takes them: -x, --x, --x=v, --x v; anywhere among the positionals. */
struct flags {
  int all, force, json, detach;
  const char *bundle, *pid_file, *console_socket, *resources, *mountinfo, *process, *lsm;
  const char *pos[3];
  int npos;
};

static int parse_verb(const char *verb, int argc, char **argv, struct flags *f, char *err, size_t errlen) {
  memset(f, 0, sizeof(*f));
  int create = !strcmp(verb, "create") || !strcmp(verb, "plan"), exec = !strcmp(verb, "exec");
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
#define VALUE() (eq ? eq + 1 : (i + 1 < argc ? argv[++i] : ""))
#define BOOL() (!eq || strcmp(eq + 1, "false"))
    if ((IS("all") || IS("a")) && !strcmp(verb, "kill")) f->all = BOOL();
    else if ((IS("force") || IS("f")) && !strcmp(verb, "delete")) f->force = BOOL();
    else if ((IS("format") || IS("f")) && (!strcmp(verb, "ps") || !strcmp(verb, "list"))) {
      const char *v = VALUE();
      if (strcmp(v, "json") && strcmp(v, "table")) { snprintf(err, errlen, "%s: --format is json or table, not \"%s\"", verb, v); return -1; }
      f->json = !strcmp(v, "json");
    } else if ((IS("quiet") || IS("q")) && !strcmp(verb, "list")) {
    } else if ((IS("bundle") || IS("b")) && create) f->bundle = VALUE();
    else if (IS("pid-file") && (create || exec)) f->pid_file = VALUE();
    else if (IS("console-socket") && (create || exec)) f->console_socket = VALUE();
    else if ((IS("process") || IS("p")) && exec) f->process = VALUE();
    else if ((IS("detach") || IS("d")) && exec) f->detach = BOOL();
    else if ((IS("tty") || IS("t")) && exec) (void)BOOL(); /* process.json's terminal decides */
    else if (IS("mountinfo") && !strcmp(verb, "plan")) f->mountinfo = VALUE();
    else if (IS("lsm") && !strcmp(verb, "plan")) f->lsm = VALUE();
    /* --no-pivot: pivot_root is always used (it is what keeps the host's root out of reach);
     * --no-new-keyring: no session keyring is made either way. */
    else if ((IS("no-pivot") || IS("no-new-keyring")) && create) (void)BOOL();
    else if (IS("preserve-fds") && (create || exec)) {
      const char *v = VALUE();
      if (strcmp(v, "0")) { snprintf(err, errlen, "%s: --preserve-fds is not supported", verb); return -1; }
    } else if ((IS("resources") || IS("r")) && !strcmp(verb, "update")) f->resources = VALUE();
    else {
      snprintf(err, errlen, "%s: unknown option %s", verb, a);
      return -1;
    }
#undef IS
#undef VALUE
#undef BOOL
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *root = "/run/minipod-oci";
  int i = 1, systemd = 0;
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
    } else if (IS("systemd-cgroup")) {
      systemd = 1; /* refused by create, which meets the cgroup (cgroup.c) */
    } else if (IS("debug")) {
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
  if (!strcmp(verb, "features")) {
    fputs(FEATURES, stdout);
    return 0;
  }
  if (!strcmp(verb, "run")) return fail("run is not supported: use create and start");
  struct flags f;
  char perr[256];
  if (parse_verb(verb, argc - i - 1, argv + i + 1, &f, perr, sizeof(perr)) < 0) return fail(perr);
  struct oci_err e = {{0}};
  int rc;
  if (!strcmp(verb, "list")) rc = oci_list(root, f.json, &e);
  else if (!strcmp(verb, "help")) { fputs(USAGE, stdout); return 0; }
  else if (!strcmp(verb, "create") || !strcmp(verb, "plan") || !strcmp(verb, "update") || !strcmp(verb, "exec") || !strcmp(verb, "start") || !strcmp(verb, "state") || !strcmp(verb, "kill") || !strcmp(verb, "delete") || !strcmp(verb, "ps") || !strcmp(verb, "pause") || !strcmp(verb, "resume")) {
    if (f.npos < 1) {
      char msg[64];
      snprintf(msg, sizeof(msg), "%s needs a container id", verb);
      return fail(msg);
    }
    const char *id = f.pos[0];
    if (!strcmp(verb, "create") || !strcmp(verb, "plan")) {
      struct oci_create_opts o = {.bundle = f.bundle, .pid_file = f.pid_file, .console_socket = f.console_socket, .systemd = systemd, .print_plan = !strcmp(verb, "plan"), .mountinfo = f.mountinfo, .lsms = f.lsm};
      rc = oci_create(root, id, &o, warn, &e);
    } else if (!strcmp(verb, "exec")) {
      if (!f.process) return fail("exec needs --process FILE (a command line of its own is not supported)");
      struct oci_exec_opts o = {.id = id, .process = f.process, .console_socket = f.console_socket, .pid_file = f.pid_file, .detach = f.detach, .warn = warn};
      int code = 0;
      rc = oci_exec(root, &o, &code, &e);
      if (rc == 0) {
        fflush(stdout);
        return code;
      }
    } else if (!strcmp(verb, "update")) {
      if (!f.resources) return fail("update needs --resources FILE (or - for stdin)");
      rc = oci_update(root, id, f.resources, &e);
    } else if (!strcmp(verb, "start")) rc = oci_start(root, id, warn, &e);
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
