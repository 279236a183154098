/* The supervisor's cgroup code (native/shim/cgroups.c) against fake cgroupfs trees in a
 * temporary directory: the kernel's files are plain files here, so this runs without root
 * and checks the parts that differ between v1 and v2 (test/unit/native-cgroups.test.ts):
 *   - the plan's cgroup ops are decoded fail-closed (unknown op, a file name with a slash);
 *   - a "pod" directory that exists already is refused, a "parent" one is fine, and the
 *     journal names each pod directory before it is made;
 *   - settings go into the files in order; a missing optional one is skipped;
 *   - OOM kills are counted from v2 memory.events and v1 memory.oom_control;
 *   - killing through a v2 cgroup writes cgroup.kill. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../native/shim/shim.h"

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
void logmsg(struct pod *p, const char *fmt, ...) { (void)p; (void)fmt; }
/* The journal as the supervisor keeps it: what was recorded, and whether it was written
 * (state_write) before the directory it names was made. */
static char journaled[8][4200];
static int njournaled, written_before_mkdir;
int journal_add(struct journal *j, enum jop_kind kind, const char *a, const char *b) {
  (void)j; (void)b;
  if (kind == J_CGROUP && njournaled < 8) snprintf(journaled[njournaled++], sizeof journaled[0], "%s", a);
  return 0;
}
void state_write(struct pod *p) {
  (void)p;
  struct stat st;
  written_before_mkdir = njournaled > 0 && stat(journaled[0], &st) < 0;
}

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); fprintf(stderr, __VA_ARGS__); fprintf(stderr, "\n"); failures++; return; } } while (0)

static char root[256];
static void put(const char *rel, const char *text) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
}
static void get(const char *rel, char *out, size_t n) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", root, rel);
  out[0] = 0;
  FILE *f = fopen(p, "r");
  if (!f) return;
  size_t k = fread(out, 1, n - 1, f);
  out[k] = 0;
  fclose(f);
}

static int decode(const char *json, struct cg_ops *ops, char *err) {
  static struct mp_arena a;
  char perr[200];
  struct mp_json *j = mp_json_parse(&a, json, strlen(json), perr, sizeof perr);
  if (!j) { snprintf(err, 200, "json: %s", perr); return -1; }
  return cgroups_decode(&a, j, ops, err, 200);
}

static void decoding_fails_closed(void) {
  struct cg_ops ops;
  char err[200];
  CHECK(decode("{\"version\":2,\"ops\":[{\"op\":\"exec\",\"path\":\"/x\",\"create\":\"pod\",\"set\":[]}]}", &ops, err) < 0 && strstr(err, "unknown op"), "unknown op: %s", err);
  CHECK(decode("{\"version\":2,\"ops\":[{\"op\":\"cgroup\",\"path\":\"/x\",\"create\":\"pod\",\"set\":[{\"file\":\"../../etc/passwd\",\"value\":\"x\"}]}]}", &ops, err) < 0 && strstr(err, "plain file name"), "a file with a path: %s", err);
  CHECK(decode("{\"version\":2,\"ops\":[{\"op\":\"cgroup\",\"path\":\"x\",\"create\":\"pod\",\"set\":[]}]}", &ops, err) < 0 && strstr(err, "absolute"), "a relative path: %s", err);
  CHECK(decode("{\"version\":2,\"ops\":[{\"op\":\"cgroup\",\"path\":\"/x\",\"create\":\"maybe\",\"set\":[]}]}", &ops, err) < 0 && strstr(err, "create must be"), "create: %s", err);
  puts("ok the cgroup ops are decoded fail-closed");
}

static void v2_setup_writes_in_order_and_refuses_an_existing_pod_dir(void) {
  /* A fake v2 hierarchy: the root and /minipod exist; the pod dir does not. */
  char dir[4200], json[8192], err[200], got[256];
  snprintf(dir, sizeof dir, "%s/minipod", root);
  mkdir(dir, 0755);
  put("cgroup.subtree_control", "");
  put("minipod/cgroup.subtree_control", "");
  snprintf(json, sizeof json,
           "{\"version\":2,\"ops\":["
           "{\"op\":\"cgroup\",\"path\":\"%s\",\"create\":\"parent\",\"set\":[{\"file\":\"cgroup.subtree_control\",\"value\":\"+cpu +memory +pids\"}]},"
           "{\"op\":\"cgroup\",\"path\":\"%s/minipod\",\"create\":\"parent\",\"set\":[{\"file\":\"cgroup.subtree_control\",\"value\":\"+cpu +memory +pids\"}]},"
           "{\"op\":\"cgroup\",\"path\":\"%s/minipod/pod-u\",\"create\":\"pod\",\"set\":[{\"file\":\"memory.swap.max\",\"value\":\"0\",\"optional\":true}]}]}",
           root, root, root);
  static struct pod p;
  memset(&p, 0, sizeof p);
  CHECK(decode(json, &p.cg, err) == 0, "decode: %s", err);
  struct mp_error e;
  njournaled = 0;
  CHECK(cgroups_setup(&p, &e) == 0, "setup: %s %s %d", e.step, e.path, e.err);
  get("cgroup.subtree_control", got, sizeof got);
  CHECK(!strcmp(got, "+cpu +memory +pids"), "the root enables the controllers: %s", got);
  snprintf(dir, sizeof dir, "%s/minipod/pod-u", root);
  struct stat st;
  CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode), "the pod dir is made");
  CHECK(njournaled == 1 && !strcmp(journaled[0], dir), "only the pod dir is journaled: %d", njournaled);
  CHECK(written_before_mkdir, "the journal was written before the pod dir was made");
  /* Again: the pod dir exists now, and is refused. */
  CHECK(cgroups_setup(&p, &e) < 0 && e.err == EEXIST && !strcmp(e.syscall, "mkdir"), "an existing pod dir is refused: %s %d", e.syscall, e.err);
  puts("ok v2: settings written in order, the pod dir journaled and made fresh, an existing one refused");
}

static void oom_kills_are_read_from_both_formats(void) {
  char d[4200];
  snprintf(d, sizeof d, "%s/m", root);
  mkdir(d, 0755);
  put("m/memory.events", "low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n");
  put("m/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 5\n");
  CHECK(cgroup_oom_kills(2, d) == 2, "v2 memory.events: %ld", cgroup_oom_kills(2, d));
  CHECK(cgroup_oom_kills(1, d) == 5, "v1 memory.oom_control: %ld", cgroup_oom_kills(1, d));
  CHECK(cgroup_oom_kills(1, "/nonexistent") == -1, "no file: -1");
  struct ctr c;
  memset(&c, 0, sizeof c);
  c.cg_version = 2;
  c.cg_memory = d;
  ctr_cgroup_mark(&c);
  CHECK(!ctr_oom_killed(NULL, &c), "no new kill");
  put("m/memory.events", "oom 4\noom_kill 3\n");
  CHECK(ctr_oom_killed(NULL, &c), "a new kill since the start");
  puts("ok OOM kills are counted from v2 memory.events and v1 memory.oom_control");
}

static void a_v2_kill_writes_cgroup_kill(void) {
  char d[4200], got[64];
  snprintf(d, sizeof d, "%s/k", root);
  mkdir(d, 0755);
  put("k/cgroup.procs", "");
  put("k/cgroup.kill", "");
  CHECK(cgroup_kill(2, d, NULL) == 0, "an empty cgroup: nothing to do");
  get("k/cgroup.kill", got, sizeof got);
  CHECK(!strcmp(got, ""), "not written for an empty cgroup");
  /* A pid that is not ours to find (never listed as a live process: pid_max is far below). */
  put("k/cgroup.procs", "2147483600\n");
  int n = cgroup_kill(2, d, NULL);
  get("k/cgroup.kill", got, sizeof got);
  CHECK(!strcmp(got, "1"), "cgroup.kill written: %s", got);
  CHECK(n < 0 && errno == EBUSY, "a listed process that does not go away is reported: %d", n);
  puts("ok a v2 kill writes cgroup.kill, and a cgroup that does not empty is reported");
}

int main(void) {
  snprintf(root, sizeof root, "/tmp/minipod-cgroup-check-XXXXXX");
  if (!mkdtemp(root)) return 2;
  decoding_fails_closed();
  v2_setup_writes_in_order_and_refuses_an_existing_pod_dir();
  oom_kills_are_read_from_both_formats();
  a_v2_kill_writes_cgroup_kill();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd)) {}
  return failures ? 1 : 0;
}
