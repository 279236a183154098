/* The native minipod-oci's state logic (native/oci/state.c, hooks.c) without root, against
 * state files in a temporary directory (test/unit/native-oci.test.ts):
 *   - signals by name or number, as runc takes them; ids that could name a path are refused;
 *   - a missing state says "does not exist" (containerd matches it); a malformed or hostile
 *     one is an error, never a container;
 *   - the status: running for a live pid with its start time, created while the gate FIFO
 *     exists, stopped when the start time differs (a reused pid), paused from v1 freezer.state
 *     and v2 cgroup.events;
 *   - the state JSON escapes what the state file holds and says pid 0 once stopped;
 *   - a hook gets the state on stdin and only its own env; a failing one's stderr is the
 *     message; a hook past its timeout is killed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../native/oci/oci.h"

static int failed;
#define CHECK(name, cond)                                   \
  do {                                                      \
    if (cond) printf("ok %s\n", name);                     \
    else { printf("not ok %s (line %d)\n", name, __LINE__); failed = 1; } \
  } while (0)

static char dir[256];

static void put(const char *rel, const char *text) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", dir, rel);
  FILE *f = fopen(p, "w");
  if (!f) { perror(p); exit(2); }
  fputs(text, f);
  fclose(f);
}

static void mk(const char *rel) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", dir, rel);
  mkdir(p, 0700);
}

static int load(const char *id, struct oci_state *s, struct oci_err *e) {
  return oci_state_load(dir, id, s, e);
}

int main(void) {
  snprintf(dir, sizeof(dir), "%s/oci-state-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) { perror("mkdtemp"); return 2; }
  struct oci_err e;

  {
    int ok = oci_signal_number("9") == 9 && oci_signal_number("SIGTERM") == 15 && oci_signal_number("kill") == 9 &&
             oci_signal_number("SIGWINCH") == 28 && oci_signal_number("SIGFOO") == -1 && oci_signal_number("0") == -1 &&
             oci_signal_number("65") == -1 && oci_signal_number("9x") == -1;
    int ids = oci_check_id("abc-1.2_x+y", &e) == 0 && oci_check_id("../x", &e) < 0 && oci_check_id("a/b", &e) < 0 &&
              oci_check_id("", &e) < 0 && oci_check_id("-a", &e) < 0 && oci_check_id(".", &e) < 0;
    CHECK("signals by name or number; ids that could name a path are refused", ok && ids);
  }

  {
    struct oci_state s;
    int rc = load("nope", &s, &e);
    oci_state_free(&s);
    int missing = rc < 0 && strstr(e.msg, "container \"nope\" does not exist") != NULL;
    mk("bad");
    put("bad/state.json", "{\"id\":\"bad\",\"pid\":");
    rc = load("bad", &s, &e);
    oci_state_free(&s);
    int bad = rc < 0 && strstr(e.msg, "state.json") != NULL;
    mk("neg");
    put("neg/state.json", "{\"id\":\"neg\",\"pid\":-5,\"start\":1}");
    rc = load("neg", &s, &e);
    oci_state_free(&s);
    int neg = rc < 0;
    mk("arr");
    put("arr/state.json", "[1,2]");
    rc = load("arr", &s, &e);
    oci_state_free(&s);
    CHECK("a missing state does not exist; a malformed or hostile one is an error", missing && bad && neg && rc < 0);
  }

  {
    /* This process as the "init": its own pid and start time. */
    pid_t me = getpid();
    unsigned long long st = oci_start_time(me);
    char json[1024];
    mk("live");
    snprintf(json, sizeof(json), "{\"id\":\"live\",\"bundle\":\"/b\",\"pid\":%d,\"start\":%llu,\"created\":\"t\"}", (int)me, st);
    put("live/state.json", json);
    struct oci_state s;
    int rc = load("live", &s, &e);
    enum oci_status running = rc == 0 ? oci_status(dir, &s) : OCI_STOPPED;
    put("live/exec.fifo", "");
    enum oci_status created = oci_status(dir, &s);
    oci_state_free(&s);
    mk("reused");
    snprintf(json, sizeof(json), "{\"id\":\"reused\",\"bundle\":\"/b\",\"pid\":%d,\"start\":%llu}", (int)me, st + 1);
    put("reused/state.json", json);
    rc = load("reused", &s, &e) | rc;
    enum oci_status reused = oci_status(dir, &s);
    oci_state_free(&s);
    CHECK("running with the init's start time, created while the gate exists, stopped for a reused pid",
          st > 0 && rc == 0 && running == OCI_RUNNING && created == OCI_CREATED && reused == OCI_STOPPED);

    mk("cg1");
    mk("cg2");
    put("cg1/freezer.state", "FROZEN\n");
    put("cg2/cgroup.events", "populated 1\nfrozen 1\n");
    int paused = 1;
    for (int v2 = 0; v2 < 2; v2++) {
      mk(v2 ? "p2" : "p1");
      snprintf(json, sizeof(json), "{\"id\":\"%s\",\"pid\":%d,\"start\":%llu,\"freezer\":{\"v2\":%s,\"dir\":\"%s/%s\"}}", v2 ? "p2" : "p1", (int)me, st,
               v2 ? "true" : "false", dir, v2 ? "cg2" : "cg1");
      put(v2 ? "p2/state.json" : "p1/state.json", json);
      rc = load(v2 ? "p2" : "p1", &s, &e);
      paused &= rc == 0 && oci_status(dir, &s) == OCI_PAUSED;
      oci_state_free(&s);
    }
    put("cg1/freezer.state", "THAWED\n");
    put("cg2/cgroup.events", "populated 1\nfrozen 0\n");
    for (int v2 = 0; v2 < 2; v2++) {
      rc = load(v2 ? "p2" : "p1", &s, &e);
      paused &= rc == 0 && oci_status(dir, &s) == OCI_RUNNING;
      oci_state_free(&s);
    }
    CHECK("paused from v1 freezer.state and v2 cgroup.events", paused);
  }

  {
    mk("esc");
    put("esc/state.json", "{\"id\":\"esc\",\"bundle\":\"/b\\\"x\",\"pid\":7,\"start\":1,\"created\":\"c\",\"annotations\":{\"k\":\"v\\n\\\"\"}}");
    struct oci_state s;
    int rc = load("esc", &s, &e);
    char *j = rc == 0 ? oci_state_json(&s, OCI_STOPPED) : NULL;
    int ok = j && strstr(j, "\"bundle\": \"/b\\\"x\"") && strstr(j, "\"pid\": 0") && strstr(j, "\"status\": \"stopped\"") &&
             strstr(j, "{\"k\":\"v\\n\\\"\"}");
    free(j);
    oci_state_free(&s);
    CHECK("the state JSON escapes the state file's strings and says pid 0 once stopped", ok);
  }

  {
    char out[512], json[2048];
    snprintf(out, sizeof(out), "%s/hook.out", dir);
    mk("hk");
    snprintf(json, sizeof(json),
             "{\"id\":\"hk\",\"pid\":1,\"start\":1,\"hooks\":{\"poststart\":["
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"cat > %s; env >> %s\"],\"env\":[\"ONLY=1\"]},"
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"echo broken >&2; exit 3\"]},"
             "{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"touch %s.never\"]}],"
             "\"poststop\":[{\"path\":\"/bin/sh\",\"args\":[\"sh\",\"-c\",\"sleep 5\"],\"timeout\":0.2}]}}",
             out, out, out);
    put("hk/state.json", json);
    struct oci_state s;
    int rc = load("hk", &s, &e);
    int hr = oci_run_hooks(&s, "poststart", "{\"the\":\"state\"}", 1, NULL, &e);
    FILE *f = fopen(out, "r");
    char got[512] = {0};
    size_t n = f ? fread(got, 1, sizeof(got) - 1, f) : 0;
    if (f) fclose(f);
    got[n] = 0;
    char never[600];
    snprintf(never, sizeof(never), "%s.never", out);
    int ok = rc == 0 && hr < 0 && strstr(e.msg, "exit 3: broken") && strstr(got, "{\"the\":\"state\"}") && strstr(got, "ONLY=1") &&
             !strstr(got, "PATH=") && access(never, F_OK) < 0;
    CHECK("a hook gets the state on stdin and only its env; the first failure stops, its stderr the message", ok);
    hr = oci_run_hooks(&s, "poststop", "{}", 0, NULL, &e);
    CHECK("a hook past its timeout is killed", hr < 0 && strstr(e.msg, "timed out") != NULL);
    oci_state_free(&s);
  }

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0) {}
  return failed;
}
