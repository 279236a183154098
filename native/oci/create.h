/* create and update in the native front end: the host's cgroup layout (cgroup.c), config.json
 * translated into the executor's ProcessPlan (translate.c), and the create verb (create.c). */
#ifndef MP_OCI_CREATE_H
#define MP_OCI_CREATE_H

#include "../shim/shim.h"
#include "oci.h"

#define OCI_PATH 4096
#define OCI_V1_N 11
/* The v1 hierarchies a container joins (runc joins them all): the pod path's six, and those an
 * OCI config's resources also reach (cpuset, hugetlb, blkio, net_cls, net_prio). */
enum { OCI_CPU, OCI_CPUACCT, OCI_MEMORY, OCI_PIDS, OCI_DEVICES, OCI_FREEZER, OCI_CPUSET, OCI_HUGETLB, OCI_BLKIO, OCI_NET_CLS, OCI_NET_PRIO, OCI_UNIFIED };

/* The hierarchies, as src/cgroups/layout.ts reads them from /proc/self/mountinfo. */
struct oci_layout {
  int version;                    /* 0: no cgroup filesystem */
  char v2[OCI_PATH];              /* version 2: the cgroup2 mount */
  char v1[OCI_V1_N][OCI_PATH];    /* version 1: the mount of each controller, "" if none */
  char v1opts[OCI_V1_N][1024];    /* its super options (every controller and name= of that hierarchy) */
};

struct oci_cgroup {
  char path[OCI_PATH];             /* inside the hierarchies, e.g. /k8s.io/ID */
  char dirs[OCI_V1_N][OCI_PATH];   /* one per hierarchy; [0] is where cgroup.procs is read */
  int ndirs;
  char freezer[OCI_PATH];          /* "" if none */
  int freezer_v2;
};

struct oci_write {
  int controller; /* OCI_CPU ... OCI_UNIFIED */
  char file[256];
  char value[256];
};

/* check: skip cgroup mounts that are hidden (their mount point reaches another mount). */
int oci_layout_parse(const char *mountinfo, int check, struct oci_layout *l);
const char *oci_v1_name(int c);
int oci_cgroup_path(const char *cgroups_path, const char *id, int systemd, char *out, size_t n, struct oci_err *e);
int oci_cgroup_dirs(const struct oci_layout *l, const char *cg, struct oci_cgroup *out);
/* linux.resources as file writes (extra_devices: linux.devices, allowed too); count, or -1. */
int oci_resource_writes(const struct oci_layout *l, const struct mp_json *r, const struct mp_json *extra_devices, struct oci_write *w, int max, struct oci_err *e);
/* must_exist: a file this host lacks is an error (create) rather than skipped (update). */
int oci_apply_writes(const struct oci_layout *l, const struct oci_cgroup *cg, const struct oci_write *w, int n, int must_exist, void (*warn)(const char *), struct oci_err *e);
/* v2 (no devices files): the allow list for a device program (native/shim/devices.c) as a JSON
 * array in list: 1; 0 when nothing is restricted; -1 when the rules cannot be one (fail closed). */
int oci_v2_devices(const struct mp_json *r, const struct mp_json *extra, struct jw *list, struct oci_err *e);
int oci_cgroup_make(const struct oci_layout *l, const struct oci_cgroup *cg, const struct oci_write *w, int nw, struct oci_err *e);
/* rmdir of every directory (and an empty default /minipod-oci parent); 0 when all are gone. */
int oci_cgroup_remove_dirs(const char *path, const char *const *dirs, int n);

struct oci_translate_in {
  const struct mp_json *config;
  const char *bundle;          /* absolute */
  const char *id;
  const struct oci_layout *layout;
  const struct oci_cgroup *cgroup; /* NULL: none */
  const char *lsms;            /* the host's LSMs, comma-separated (/sys/kernel/security/lsm) */
  unsigned long long runtime_caps; /* the runtime's own bounding set: what a process can be given */
  int user;                    /* the config has a user namespace (oci_user_namespace) */
  char *dropped;               /* out: the capabilities asked for beyond it, comma-separated */
  size_t dropped_len;
};

/* config.json -> the ProcessPlan JSON (src/plan/types.ts), the same the pod path gives the
 * executor. What the executor cannot do is refused, naming the field. 0 or -1. */
int oci_translate(const struct oci_translate_in *in, struct jw *plan, struct oci_err *e);
/* 1 when the config has a user namespace (its mappings checked), 0 when not, -1 on error. */
int oci_user_namespace(const struct mp_json *config, struct oci_err *e);
/* A process.json (exec) or config.json's process: the ProcessPlan fields of the process. */
int oci_translate_process(const struct mp_json *p, const char *field, unsigned long long runtime_caps, char *dropped, size_t dropped_len, struct jw *w, struct oci_err *e);
/* The bounding set of this process (/proc/self/status CapBnd); all ones if unreadable. */
unsigned long long oci_own_bounding(void);
int oci_check_lsm(const struct mp_json *p, const char *lsms, const char *field, struct oci_err *e);
/* An absolute path normalized (posix); -1 if it is not absolute. */
int oci_abs(const char *p, char *out, size_t n);
/* p resolved against dir (p absolute: p), normalized. */
void oci_resolve(const char *dir, const char *p, char *out, size_t n);
/* linux.seccomp -> the plan's "seccomp" member (profile.c). */
int oci_translate_seccomp(const struct mp_json *sc, struct jw *w, struct oci_err *e);
/* hooks.startContainer -> the plan's "startHooks" member (hooks.c). */
int oci_translate_start_hooks(const struct mp_json *hooks, struct jw *w, struct oci_err *e);
/* A JSON number as configs write them (rlimits may be 2^64-1). */
void oci_jnum(struct jw *w, double v);
/* A JSON string, "" kept (jw_str writes null for it). */
void oci_jstr(struct jw *w, const char *s);

struct oci_create_opts {
  const char *bundle, *pid_file, *console_socket;
  int systemd;
  int print_plan; /* `plan`: print what create would run and make nothing */
  const char *mountinfo; /* plan: read this instead of /proc/self/mountinfo */
  const char *lsms;      /* plan: the host's LSMs as given, not /sys/kernel/security/lsm */
};

/* A connected unix stream socket (CLOEXEC), the console socket; the fd or -1. */
int oci_connect_unix(const char *path, struct oci_err *e);
/* The pid file as runc writes it: digits only, no newline, written aside and renamed. */
int oci_write_pid_file(const char *file, pid_t pid, struct oci_err *e);

int oci_create(const char *root, const char *id, const struct oci_create_opts *o, void (*warn)(const char *), struct oci_err *e);
struct oci_exec_opts {
  const char *id, *process, *console_socket, *pid_file;
  int detach;
  void (*warn)(const char *msg);
};

/* exec (exec.c); without --detach, *exit_code is the process's. */
int oci_exec(const char *root, const struct oci_exec_opts *o, int *exit_code, struct oci_err *e);

int oci_update(const char *root, const char *id, const char *resources_file, struct oci_err *e);

#endif
