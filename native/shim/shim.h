/* minipod-shim: the per-pod supervisor.
 *
 * One small native process per pod (like conmon, but one per pod rather than one per
 * container). It reads the pod plan that TypeScript wrote (plan.json: the same JSON that
 * `minipod plan` prints plus a "supervisor" section), starts pause and the containers with
 * the executor in native/exec, captures their output into CRI log files, restarts them per
 * restartPolicy with exponential backoff, stops them gracefully, and writes state.json on
 * every transition. Every decision it takes is spelled out as data in the plan; it holds no
 * policy of its own beyond Kubernetes' container state machine.
 */
#ifndef MP_SHIM_H
#define MP_SHIM_H

#include <stdint.h>
#include <sys/types.h>

#include "../exec/json.h"
#include "../exec/spawn.h"
#include "../net/hostops.h"

#define LOGBUF 16384

enum restart_policy { RP_ALWAYS, RP_ONFAILURE, RP_NEVER };
enum cstate { CS_WAITING, CS_RUNNING, CS_TERMINATED };

struct stream {
  int fd;                 /* read end of the pipe, -1 when closed */
  int is_err;
  size_t len;
  char buf[LOGBUF];
};

struct term_info {        /* one termination, for state.json's lastState */
  int valid;
  int exit_code;
  int signal;
  char reason[32];
  char message[512];
  char started_at[40], finished_at[40];
};

/* Probes and lifecycle hooks (action.c runs one handler, probes.c decides). Each runs
 * without blocking the loop: exec handlers are watched by pidfd, sockets are non-blocking,
 * timeouts are deadlines of the same loop. */
enum act_kind { A_NONE, A_EXEC, A_HTTP, A_TCP, A_SLEEP };

struct handler {          /* HandlerPlan from src/plan/probes.ts */
  enum act_kind kind;
  const struct mp_json *process; /* exec: a ProcessPlan joining "@container:NAME/..." */
  const char *host;       /* http, tcp: an IP literal; NULL: the pod's IP */
  int port;
  const char *path;
  const struct mp_json *headers;
  int64_t sleep_ms;
};

struct action {           /* one run of a handler */
  int active;             /* running: fds or a deadline are live */
  int finished;           /* a result waits to be taken by probes_on_deadline() */
  int ok;
  enum act_kind kind;
  pid_t pid;
  int pidfd, outfd, sock;
  int phase;              /* sockets: 0 connecting, 1 sending, 2 reading */
  int timed_out;
  uint64_t tag;           /* its epoll tag */
  int64_t deadline;       /* the timeout (a sleep's end); 0: none */
  int timeout_s;
  char target[80];        /* "10.0.0.5:80" for messages */
  char req[2048];
  size_t reqlen, sent;
  char buf[512];          /* exec output (the start of it) or the HTTP status line */
  size_t len;
  char msg[512];          /* why it failed */
};

enum { PR_STARTUP, PR_LIVENESS, PR_READINESS, NPROBES };
#define SLOT_HOOK NPROBES /* action slots of a container: its probes, then its hook */
#define NSLOTS (NPROBES + 1)

struct probe {
  int on;                 /* the container has this probe */
  struct handler h;
  int64_t initial_delay, period;
  int timeout_s;
  int success_threshold, failure_threshold;
  int grace_ms;           /* the kill it causes; -1: the pod's grace period */
  int64_t next_run;       /* monotonic ms; 0: not scheduled */
  int successes, failures; /* consecutive */
  int result;             /* 1 success, 0 failure, -1 unknown */
  char message[512];      /* the last failure */
  struct action act;
};

enum hook_kind { H_NONE, H_POSTSTART, H_PRESTOP };

#define MAX_PENDING 8
struct old_layer {        /* the layer of an ended run, removed once its namespace is empty */
  int index;
  int nsfd;               /* its mount namespace; -1: it never ran */
};

struct ctr {
  const char *name;
  int init;               /* an init container */
  int sidecar;            /* an init container with restartPolicy Always */
  const struct mp_json *process; /* ProcessPlan JSON, decoded at each start */
  enum restart_policy policy;
  int stop_signal;
  const char *log_dir;
  const char *layer_dir;  /* upper-N / work-N for start N live here (layers.c) */
  struct mp_json *upper_node, *work_node; /* the plan's rootfs upper and work, rewritten per start */
  long layer_uid, layer_gid; /* the plan's layerOwner: who owns each fresh upper-N (-1: root) */
  char upper_path[4096], work_path[4096];
  int layer_index;        /* the layer of the current run; -1: none */
  int mntns;              /* the current run's mount namespace (held: its inode stays), -1 */
  struct old_layer pending[MAX_PENDING];
  int npending;

  enum cstate state;
  char reason[32];
  char message[512];
  pid_t pid;
  int pidfd;
  struct stream out, err;
  int logfd;
  int exit_code, signal;
  int restart_count;
  int started_once;
  int64_t started_mono;
  char started_at[40], finished_at[40];
  int64_t next_start;     /* monotonic ms; 0 = no restart pending */
  int backoff_n;
  int64_t kill_at;        /* monotonic ms; 0 = not stopping */
  int stopping;
  int ready;
  int has_error;          /* the last start failed: error holds the executor's report */
  struct mp_error error;
  int completed;          /* init container finished successfully */
  struct term_info last;

  struct probe probe[NPROBES];
  struct handler post_start, pre_stop;
  struct action hook;     /* the hook that runs, if any */
  enum hook_kind hook_kind;
  int post_start_done;    /* postStart ended (or there is none): probes may run */
  int startup_done;       /* the startup probe succeeded (or there is none) */
  int kill_restart;       /* killed for a failed probe or hook: restart unless Never */
  char kill_reason[32], kill_message[512]; /* what the termination will say */

  int cg_version;         /* its cgroup (plan "cgroup"): 1 or 2; 0: none */
  const char *cg_dir;     /* the first of its directories (cgroup.procs is read there) */
  const struct mp_json *cg_dirs; /* all of them (an exec'd process may join only these) */
  const char *cg_memory, *cg_freezer;
  long oom_base;          /* the OOM kill count when this run started */
  int oom_killed;         /* this run ended by the OOM killer */
};

/* plan.json's "version" (src/runtime/start.ts PLAN_VERSION) and state.json's: a change of either
 * format changes it. */
#define MP_PLAN_VERSION 2
#define MP_STATE_VERSION 2

/* The journal: the inverse of every host change made for the pod, in the order the changes
 * were made, recorded before each change (journal.c decodes it, unwind.c walks it back). */
enum jop_kind { J_UMOUNT, J_LINK, J_LEASE, J_NFT, J_CGROUP };
struct jop {
  enum jop_kind kind;
  char *a;                /* umount: the mount point; link: the interface; lease: the file; nft: the script;
                           * cgroup: the directory (what is in it is killed, then it is removed) */
  char *b;                /* lease: the owner's uid; nft: what it removes (for messages) */
};
struct journal {
  struct jop *v;
  int n, cap;
};

/* The pod's cgroup directories to make (cgroups.c). */
struct cg_op {
  const char *path;
  int own;                /* "pod": made fresh and journaled; else a shared parent */
  const struct mp_json *set;
  const struct mp_json *devices; /* v2: the device allow list, as a BPF program (devices.c); NULL: none */
};
struct cg_ops {
  struct cg_op *v;
  int n;
  int version;
};

/* What the supervisor does with the host side when the pod has ended. */
enum at_exit {
  AT_NOTHING,             /* nothing: a test harness, or plan-check */
  AT_KEEP,                /* unwind the journal, keep state.json, plan.json and logs (ps -a, logs) */
  AT_REMOVE,              /* unwind, then remove every file and directory of the pod */
};

struct pod {
  const char *name, *uid, *state_file, *run_dir;
  const char *lib_dir;    /* the pod's persistent directory (host.dirs.lib of the state file) */
  const struct mp_json *pause_plan;
  struct ctr *ctrs;       /* init containers first, then app containers */
  int nctrs, ninit;
  int grace_ms;
  int64_t backoff_initial, backoff_max, backoff_reset;
  int attach;
  enum at_exit at_exit;   /* the plan's supervisor.atExit; AT_REMOVE when removed or orphaned */
  int owner_gone;
  int remove;             /* `minipod rm` (SIGUSR1/SIGUSR2) or "remove": everything goes at the end */

  pid_t pause_pid;
  int pause_pidfd;
  int ctl;                /* control socket to the launcher, -1 when gone */
  int detached;           /* launcher said "detach": keep running when it goes */
  int wait_go;
  int started;            /* init done and every app container started once */
  int next_init;          /* index of the init container to run next */
  int stopping;           /* a stop was requested or the pod ended */
  int pause_dead;
  char phase[16];
  char reason[64];
  char started_at[40], finished_at[40];
  int epfd;
  int host_netfd, pod_netfd; /* network namespaces: ours, and pause's (probe sockets) */
  struct mp_hostops hostops; /* the pod's network wiring, run right after pause starts */
  struct cg_ops cg;       /* the pod's cgroups, made before pause starts */
  const struct mp_json *userns_spec; /* the plan's userNamespace (hostUsers: false); NULL: none */
  int job_completions;    /* a Job's pod: successful runs it owes (0: not a Job's); the plan's job */
  int job_backoff_limit;  /* failed runs it may have before it fails (BackoffLimitExceeded) */
  int job_succeeded, job_failed;
  int64_t deadline;       /* activeDeadlineSeconds, as a monotonic ms; 0: none */
  int prefix_pod;         /* attached output as "[pod/container]" (a stream of several pods) */
  int userns_fd;          /* that user namespace ("@pod/user"), made before pause; -1: none */

  /* state.json: what was there before us (TypeScript's host record, its journal), kept and
   * written back verbatim around the keys the supervisor owns. */
  struct mp_json *prior;
  struct journal journal;
  int unwind_only;        /* `minipod-shim --unwind`: owns only journal and torndown */
  int torndown;           /* the journal has been unwound */
  long long self_start, pause_start; /* /proc/PID/stat start times, for pid + start refs */
  unsigned long long ipc_ino; /* pause's IPC namespace, once pinned */
  char pin[4200];         /* RUN_DIR/ipc.ns: a bind mount of that namespace */
  int pinned;
};

/* util.c */
int64_t now_ms(void);
void rfc3339(char *buf, size_t n);
void logmsg(struct pod *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int signal_number(const char *name);
const char *signal_name(int sig);

/* wire.c */
int pod_enter_netns(struct pod *p, char *err, size_t n);
void pod_leave_netns(struct pod *p);
int pod_wire(struct pod *p);

/* layers.c */
int layers_prepare(struct pod *p, struct ctr *c, int index);
void layers_on_end(struct pod *p, struct ctr *c);
int ns_kill_all(int nsfd);
int ns_kill_all_kind(int nsfd, const char *kind);   /* the same for /proc/PID/ns/KIND */
int rm_tree_at(int dirfd, const char *name, dev_t dev, int depth);

/* events.c: one event of the pod (a container's, or the pod's with c NULL), for describe */
void pod_event(struct pod *p, int warning, const char *reason, const struct ctr *c, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* userns.c: makes a user namespace with the plan's mappings; its fd, or -1 with err */
int userns_make(const struct mp_json *spec, char *err, size_t en);

/* pod.c */
void pod_start_pause(struct pod *p);
void pod_step(struct pod *p);          /* start what is due, decide the phase */
void pod_on_exit(struct pod *p, int pidfd);
void pod_stop(struct pod *p, const char *why);
int64_t pod_next_deadline(struct pod *p);
void pod_on_deadline(struct pod *p);
int pod_finished(struct pod *p);
struct ctr *pod_by_pidfd(struct pod *p, int pidfd);
int pod_resolve(void *ctx, const char *who);
int spawn_plan(struct pod *p, const struct mp_json *plan, const struct mp_spawn_io *io, struct mp_spawn_result *res,
               struct mp_error *err);
void describe_error(const struct mp_error *e, char *buf, size_t n);
void pidfd_signal(int pidfd, int sig);
void ctr_kill(struct pod *p, struct ctr *c, int grace_ms); /* preStop, stop signal, SIGKILL */
void ctr_stop_signal(struct pod *p, struct ctr *c);       /* preStop has ended */
int ctr_started(const struct ctr *c);                      /* postStart and startup probe done */

/* action.c */
int handler_load(const struct mp_json *j, struct handler *h, char *err, size_t n);
void action_start(struct pod *p, struct action *a, const struct handler *h, int timeout_s, uint64_t tag);
void action_on_event(struct pod *p, struct action *a, int out, uint32_t events);
void action_on_deadline(struct pod *p, struct action *a);
void action_cancel(struct pod *p, struct action *a);
void reap_orphan(struct pod *p, int pidfd);

/* probes.c */
int probes_load(struct ctr *c, const struct mp_json *j, char *err, size_t n);
void probes_on_start(struct pod *p, struct ctr *c);   /* the container runs: postStart, then probes */
void probes_on_end(struct pod *p, struct ctr *c);     /* it ended: cancel whatever runs for it */
void probes_on_kill(struct pod *p, struct ctr *c);    /* it is being stopped: no more probes */
int hooks_pre_stop(struct pod *p, struct ctr *c);     /* 1: preStop started, the signal waits */
void probes_on_event(struct pod *p, uint64_t tag, uint32_t events);
int64_t probes_next_deadline(struct pod *p);
void probes_on_deadline(struct pod *p);
void probes_update_ready(struct pod *p, struct ctr *c);
const char *probe_name(int k);

/* logs.c */
int logs_open(struct pod *p, struct ctr *c, int fds[2][2]);
void logs_on_readable(struct pod *p, struct ctr *c, struct stream *s);
void logs_close(struct pod *p, struct ctr *c);

/* state.c */
int state_load(struct pod *p, char *err, size_t n); /* reads state_file into prior and journal */
void state_write(struct pod *p);
int pod_exit_code(const struct pod *p);   /* the first non-zero exit code, as `minipod run` returns it */

/* jw.c: JSON text */
struct jw {
  char *b;
  size_t len, cap;
  int oom;
};
void jw_put(struct jw *w, const char *s, size_t n);
void jw_putf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jw_str(struct jw *w, const char *s);
void jw_key(struct jw *w, const char *k);
void jw_bool(struct jw *w, int v);
void jw_node(struct jw *w, const struct mp_json *j);
int jw_commit(struct jw *w, const char *file, int mode);

/* journal.c */
int journal_decode(const struct mp_json *arr, struct journal *j, char *err, size_t n);
int journal_add(struct journal *j, enum jop_kind kind, const char *a, const char *b);
void journal_free(struct journal *j);
void journal_emit(struct jw *w, const struct journal *j);
const char *journal_op_name(enum jop_kind k);

/* readfile.c */
ssize_t read_small(const char *path, char *buf, size_t n); /* one read, NUL-ended; -1 */
int write_small(const char *path, const char *value);       /* one write of all of value; 0, or -1 with errno */

/* cgroups.c */
int cgroups_decode(struct mp_arena *a, const struct mp_json *cg, struct cg_ops *out, char *err, size_t n);
int cgroups_setup(struct pod *p, struct mp_error *e);
int cgroup_kill(int version, const char *dir, const char *freezer); /* found, or -1 (EBUSY) */
long cgroup_oom_kills(int version, const char *memdir);
void ctr_cgroup_mark(struct ctr *c);                 /* before a start: the OOM kill count */
int ctr_oom_killed(struct pod *p, struct ctr *c);    /* after its end: did the OOM killer end it */
void ctr_cgroup_kill(struct pod *p, struct ctr *c);  /* what a run left in its cgroup */

/* devices.c: v2 device control */
int cgroup_devices_attach(const char *dir, const struct mp_json *rules, char *err, size_t n);

/* control.c: RUN_DIR/control.sock, exec requests */
int control_listen(struct pod *p);
void control_on_accept(struct pod *p);
void control_on_conn(struct pod *p, int slot);
void control_on_exit(struct pod *p, int slot);
void control_close(void);

/* unwind.c */
int journal_record(struct pod *p, enum jop_kind kind, const char *a, const char *b); /* add + state_write */
int pod_pin(struct pod *p);              /* pins pause's IPC namespace at RUN_DIR/ipc.ns */
int pod_unwind(struct pod *p, enum at_exit how, int take_lock);
int unwind_main(int argc, char **argv);  /* minipod-shim --unwind keep|remove RUN_DIR LIB_DIR */
long long proc_start(pid_t pid);         /* start time from /proc/PID/stat, -1 if none */

/* main.c */
void ctl_send(struct pod *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void epoll_add(struct pod *p, int fd, uint64_t tag);
void epoll_del(struct pod *p, int fd);

/* epoll tags: the high byte says what kind of fd it is. */
#define TAG_KIND(t) ((int)((t) >> 56))
#define TAG_VAL(t) ((int)((t) & 0xffffffff))
#define TAG(kind, val) (((uint64_t)(kind) << 56) | (uint32_t)(val))
enum { T_SIGNAL = 1, T_CTL, T_PIDFD, T_OUT, T_ERR, T_ACT, T_ACTOUT, T_REAP, T_LISTEN, T_CONN, T_EXEC };
/* T_CONN / T_EXEC: value = the control connection's slot (control.c) */
/* T_ACT / T_ACTOUT: value = container index * NSLOTS + slot; T_REAP: a cancelled exec's pidfd */

#endif
