/* The process plan in C: what src/plan/types.ts calls ProcessPlan, decoded from its JSON.
 *
 * Decoding allocates (arena); the child walks the decoded structure without allocating.
 * Field meanings are documented on the TypeScript side, which is the source of truth.
 */
#ifndef MP_PLAN_H
#define MP_PLAN_H

#include <sys/types.h>

#include "json.h"

#define MP_MAX_NS 8
#define MP_MAX_OPTS 16
#define MP_MAX_GROUPS 64
#define MP_MAX_CGROUPS 12

enum mp_ns_action { MP_NS_CREATE, MP_NS_JOIN };

struct mp_ns_op {
  const char *type;   /* "net", "mnt", ... */
  int flag;           /* CLONE_NEWNET, ... */
  enum mp_ns_action action;
  const char *path;   /* join: the namespace file, or the "@who/type" reference (for messages) */
  int pidfd;          /* join by reference: a pidfd of the process whose namespace it is (the
                         caller's; setns(pidfd, flag)), or the namespace's own fd ("@pod/user":
                         the supervisor's), else -1 */
  int after_mounts;   /* "after": "mounts": done in the workload stage once the mount steps
                         (pivot included) are done, not before them */
};

enum mp_mount_kind {
  MP_M_PROPAGATION,
  MP_M_ROOTFS_OVERLAY,
  MP_M_ROOTFS_BIND,
  MP_M_ROOTFS_TMPFS,
  MP_M_MOUNT,
  MP_M_BIND,
  MP_M_MKNOD,
  MP_M_SYMLINK,
  MP_M_MKDIR,
  MP_M_MASK,
  MP_M_READONLY,
  MP_M_PIVOT,
  MP_M_IDMAP,
  MP_M_CHROOT, /* instead of pivot: back to the spawner's mount namespace, rooted in a detached clone of the tree */
};

struct mp_mount_opt {
  const char *key;
  const char *value; /* NULL: a flag option */
};

struct mp_mount_op {
  enum mp_mount_kind kind;
  const char *name;      /* the op's name in the plan, for error messages */
  const char *source;    /* bind/mount source; rootfs bind source */
  const char *source_root; /* bind: resolve source beneath this directory (no escape) */
  const char *dst;       /* inside the rootfs; for rootfs ops: the host target */
  const char *fstype;
  const char *lower;     /* overlay: colon-joined lower dirs (the single-string fallback) */
  char **lowers;         /* overlay: the lower dirs, top first, NULL-terminated */
  const char *upper, *work;
  const char *link_target;
  unsigned long attrs;   /* MP_MOUNT_ATTR_* */
  int readonly, recursive, optional, create_source;
  int idmap;             /* bind: an idmapped mount with the user namespace the plan joins */
  unsigned long propagation; /* propagation step, pivot: MS_PRIVATE / MS_SLAVE ...; bind: MS_SHARED or MS_SLAVE (| MS_REC) with the host's mount */
  mode_t mode;
  int dev_kind;          /* 'c' or 'b' */
  unsigned major, minor;
  long uid, gid;         /* mknod owner, -1 to keep */
  struct mp_mount_opt opts[MP_MAX_OPTS];
  int nopts;
};

/* An OCI config's startContainer hook: run by the workload itself once start lets it go,
 * in all its namespaces and with its identity, before its execve (child.c). */
struct mp_hook {
  const char *path;
  char **argv;
  char **env;
  int timeout; /* seconds, 0: none */
};

struct mp_proc {
  const char *pod, *container;
  struct mp_ns_op ns[MP_MAX_NS];
  int nns;
  int userns;          /* index in ns[] of the user namespace join, -1: none */
  int loopback_up;
  const char *hostname;
  const char *domainname; /* setdomainname (NIS), an OCI config's; NULL: none */
  struct mp_mount_op *mounts;
  int nmounts;
  int rootfs_readonly;
  int chroot_home;     /* a chroot step: the spawner opens its own mount namespace for the child to return to */
  uid_t uid;
  gid_t gid;
  gid_t groups[MP_MAX_GROUPS];
  int ngroups;
  int keep_all_caps;
  unsigned long long caps; /* bit per CAP_* kept */
  int cap_sets;            /* capabilitySets given (an OCI config): the five sets below, exactly */
  unsigned long long cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  int no_new_privs;
  const char *cwd;
  char **argv;
  char **env;
  int setsid, ctty;
  int parent_death_signal; /* 0: none */
  const char *cgroups[MP_MAX_CGROUPS]; /* directories whose cgroup.procs the child joins first */
  int ncgroups;
  int set_oom;             /* write oom_score_adj */
  int oom_score_adj;
  const struct mp_json *seccomp; /* the filter to install before execve (seccomp.c); NULL: none */
  struct { int resource; unsigned long long soft, hard; } rlimits[16]; /* set before the identity step */
  int nrlimits;
  struct { const char *name, *value; } sysctls[32]; /* written under /proc/sys before the mounts */
  int nsysctls;
  struct mp_hook *start_hooks; /* with a gate only: start sends the state they read (child.c) */
  int nstart_hooks;
};

/* Resolves "@pause/net" and "@container:NAME/mnt" style namespace paths to a pid; returns
 * -1 when the name is unknown. NULL resolver: such paths are an error. */
/* Resolves "pause" / "container:NAME" to a pidfd of that process (owned by the caller), or -1. */
typedef int (*mp_resolve_fn)(void *ctx, const char *who);

/* Decodes a ProcessPlan JSON object. Returns 0, or -1 with a message in err. */
int mp_plan_decode(struct mp_arena *a, const struct mp_json *j, struct mp_proc *out, mp_resolve_fn resolve,
                   void *resolve_ctx, char *err, size_t errlen);

/* CAP_* name to number, -1 if unknown. */
int mp_cap_from_name(const char *name);
/* Its name, NULL if unknown. */
const char *mp_cap_name(int n);

#endif
