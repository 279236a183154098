/* minipod-oci's native front end: the runc command line's verbs that only read a
 * container's state and act on its processes and cgroup (start, state, kill, delete, ps,
 * pause, resume, list), so that containerd's shim does not wait for a Node start on each.
 * create, exec and update translate a config.json or a process.json into a plan and stay
 * in TypeScript (src/oci): the front end hands them to Node with the same arguments.
 *
 * The state file is TypeScript's (src/oci/state.ts writes it at create): ROOT/ID/state.json,
 * root-only, never written here. ROOT/ID/exec.fifo exists from create until start. */
#ifndef MP_OCI_H
#define MP_OCI_H

#include <stddef.h>
#include <sys/types.h>

#include "../exec/json.h"

#define OCI_VERSION "1.0.2"
/* A string literal into a JSON buffer (native/shim/jw.c), its length counted by the compiler. */
#define JW_LIT(w, s) jw_put((w), (s), sizeof(s) - 1)
#define OCI_MAX_DIRS 16

/* The error of a verb: the message containerd matches ("does not exist", "container not
 * running"), logged as one JSON line with --log-format json. */
struct oci_err {
  char msg[1024];
};

int oci_fail(struct oci_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The whole of a file (at most 64 MiB), NUL-terminated, malloc'd; NULL with errno. */
char *oci_slurp(const char *file, size_t *len);
/* A container's directory and what is in it (state.json, exec.fifo, a temporary file). */
int oci_remove_dir(const char *dir);
/* CLOCK_MONOTONIC in milliseconds, for deadlines. */
long long oci_mono_ms(void);
/* The host's LSMs, comma-separated ("capability,yama"). */
void oci_host_lsms(char *out, size_t n);

struct oci_state {
  struct mp_arena arena;
  const struct mp_json *root;   /* the whole file, for hooks and annotations */
  const char *id, *bundle, *created;
  pid_t pid;
  unsigned long long start;     /* /proc/PID/stat field 22 at create */
  const char *cgroup_path;      /* NULL: no cgroup */
  const char *dirs[OCI_MAX_DIRS];
  int ndirs;
  const char *freezer_dir;      /* the freezer's directory of the cgroup; NULL: none */
  int freezer_v2;
};

enum oci_status { OCI_CREATED, OCI_RUNNING, OCI_PAUSED, OCI_STOPPED };

/* A container id as runc takes it; 0 or -1 with the message. */
int oci_check_id(const char *id, struct oci_err *e);
/* Reads ROOT/ID/state.json; "container \"ID\" does not exist" when there is none. */
int oci_state_load(const char *root, const char *id, struct oci_state *s, struct oci_err *e);
void oci_state_free(struct oci_state *s);
/* The process's start time, 0 when it is gone or a zombie. */
unsigned long long oci_start_time(pid_t pid);
int oci_init_alive(const struct oci_state *s);
int oci_frozen(const struct oci_state *s);
enum oci_status oci_status(const char *root, const struct oci_state *s);
const char *oci_status_name(enum oci_status st);
/* The OCI state JSON (runtime spec "State"), indented as runc prints it; malloc'd. */
char *oci_state_json(const struct oci_state *s, enum oci_status st);
/* The pids of the container's cgroup (its first directory); count, at most max. */
int oci_cgroup_pids(const struct oci_state *s, pid_t *out, int max);

/* Runs the hooks of state.json's hooks[kind] in turn, the state JSON on stdin. Returns 0,
 * or -1 with the first failure (stop_at_first) / the last one (every hook run). */
int oci_run_hooks(const struct oci_state *s, const char *kind, const char *state_json, int stop_at_first,
                  void (*warn)(const char *msg), struct oci_err *e);

/* Signal by name ("KILL", "SIGKILL") or number; -1 when unknown. */
int oci_signal_number(const char *s);

/* The verbs (verbs.c). Each returns 0, or -1 with the message in e. */
int oci_start(const char *root, const char *id, void (*warn)(const char *msg), struct oci_err *e);
int oci_state_verb(const char *root, const char *id, struct oci_err *e);
int oci_kill(const char *root, const char *id, const char *sig, int all, struct oci_err *e);
int oci_delete(const char *root, const char *id, int force, void (*warn)(const char *msg), struct oci_err *e);
int oci_ps(const char *root, const char *id, int json, struct oci_err *e);
int oci_pause(const char *root, const char *id, int frozen, struct oci_err *e);
int oci_list(const char *root, int json, struct oci_err *e);

#endif
