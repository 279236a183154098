/* The child side of a spawn: walks one plan and execs, or reports the first failure.
 *
 * Runs in a cloned child (a copy of the spawner's memory, never a share of it: see
 * spawn.c) on its own stack. The spawner may be multithreaded (Node): locks other threads
 * held at the clone stay locked here, so the rules are raw system calls only (sys.h), our
 * own string helpers, no malloc, no stdio. Every step that can fail reports {step,
 * syscall, errno, path} and exits 127.
 *
 * Order (native/README.md has the why of each):
 *   non-dumpable -> close every fd not passed on -> signals -> setns joins -> unshare ->
 *   [fork into the pid namespace] -> parent-death signal -> setsid -> loopback up ->
 *   hostname -> mounts (in plan order, ending with pivot_root) -> cwd -> capabilities + ids
 *   (inheritable always empty) -> no_new_privs -> stdio and fds -> [sync] -> execve
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "spawn.h"
#include "sys.h"

#define PATHBUF 4096

/* ---- tiny string helpers: no libc here (a lock another thread held at the clone, or the
 * dynamic linker's lazy binding, would hang the child) ---- */

static size_t xlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static void xcopy(void *dst, const void *src, size_t n) {
  volatile char *d = dst; /* volatile: keep the compiler from turning this into memcpy() */
  const char *s = src;
  while (n--) *d++ = *s++;
}

static void xzero(void *dst, size_t n) {
  volatile char *d = dst;
  while (n--) *d++ = 0;
}

static const char *xchr(const char *s, char c) {
  for (; *s; s++)
    if (*s == c) return s;
  return NULL;
}

static char *xrchr(char *s, char c) {
  char *last = NULL;
  for (; *s; s++)
    if (*s == c) last = s;
  return last;
}

static int xneq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) return 1;
    if (!a[i]) return 0;
  }
  return 0;
}

static void cpy(char *dst, size_t cap, const char *src) {
  size_t n = src ? xlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) xcopy(dst, src, n);
  dst[n] = 0;
}

static void cat(char *dst, size_t cap, const char *src) {
  size_t have = xlen(dst);
  if (have < cap) cpy(dst + have, cap - have, src);
}

static void cat_int(char *dst, size_t cap, long v) {
  char b[24];
  int i = (int)sizeof(b) - 1, neg = v < 0;
  unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  b[i] = 0;
  do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u && i > 1);
  if (neg) b[--i] = '-';
  cat(dst, cap, b + i);
}

/* ---- error reporting ---- */

/* Per-stage state; lives on the stage's own stack (memory shared with the spawner must
 * not be written: both stages and the spawner share it under CLONE_VM). */
struct walk {
  struct mp_child *c;
  int errfd;       /* this process's copy of the error pipe */
  char step[96];
  int rootfd;      /* the new root while mounting; -1 before the rootfs step */
};

static void set_step(struct walk *w, const char *what, int idx, const char *name) {
  cpy(w->step, sizeof(w->step), what);
  if (idx >= 0) {
    cat(w->step, sizeof(w->step), "[");
    cat_int(w->step, sizeof(w->step), idx);
    cat(w->step, sizeof(w->step), "]");
  }
  if (name) {
    cat(w->step, sizeof(w->step), ":");
    cat(w->step, sizeof(w->step), name);
  }
}

static void report(struct walk *w, const char *sys, long neg_errno, const char *path, const char *dest,
                   const char *detail) {
  struct mp_rec r;
  xzero(&r, sizeof(r));
  r.kind = MP_REC_ERROR;
  cpy(r.e.step, sizeof(r.e.step), w->step);
  cpy(r.e.syscall, sizeof(r.e.syscall), sys);
  r.e.err = (int)-neg_errno;
  cpy(r.e.path, sizeof(r.e.path), path);
  cpy(r.e.dest, sizeof(r.e.dest), dest);
  cpy(r.e.detail, sizeof(r.e.detail), detail);
  MP_SYS3(SYS_write, w->errfd, &r, sizeof(r));
}

__attribute__((noreturn)) static void die(struct walk *w, const char *sys, long neg_errno, const char *path,
                                          const char *dest) {
  report(w, sys, neg_errno, path, dest, NULL);
  MP_SYS1(SYS_exit_group, 127);
  __builtin_unreachable();
}

#define CHECK(w, call, sys, path, dest)                          \
  ({                                                             \
    long _r = (call);                                            \
    if (_r < 0) die((w), (sys), _r, (path), (dest));             \
    _r;                                                          \
  })

/* ---- path resolution inside the new root ---- */

/* Path resolution is done in one of two modes:
 *  IN_ROOT (destinations): the fd is the new root; ".." and absolute symlinks stay inside it.
 *  BENEATH (volume subPaths): a path that would leave the directory fails with EXDEV. */
#define IN_ROOT MP_RESOLVE_IN_ROOT
#define BENEATH MP_RESOLVE_BENEATH

static long open_at(int rootfd, const char *rel, int flags, uint64_t mode) {
  struct mp_open_how how = {(uint64_t)(flags | O_CLOEXEC), 0, mode | MP_RESOLVE_NO_MAGICLINKS};
  return MP_SYS4(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof(how));
}

static long open_in_root(int rootfd, const char *rel, int flags) {
  return open_at(rootfd, rel, flags, IN_ROOT);
}

static const char *strip_slash(const char *p) {
  while (*p == '/') p++;
  return p;
}

/* mkdir -p of rel inside the root, each component created relative to a parent that was
 * itself resolved inside the root, so a symlink met on the way cannot lead out. */
static long mkdir_p(int rootfd, const char *rel, mode_t last_mode, uint64_t how) {
  char buf[PATHBUF];
  cpy(buf, sizeof(buf), rel);
  size_t n = xlen(buf);
  for (size_t i = 0; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    if (i == 0 || buf[i - 1] == '/') continue;
    char saved = buf[i];
    buf[i] = 0;
    long fd = open_at(rootfd, buf, O_PATH | O_DIRECTORY, how);
    if (fd == -ENOENT) {
      char *slash = xrchr(buf, '/');
      long parent = rootfd;
      const char *name = buf;
      if (slash) {
        *slash = 0;
        parent = open_at(rootfd, buf, O_PATH | O_DIRECTORY, how);
        *slash = '/';
        if (parent < 0) return parent;
        name = slash + 1;
      }
      long r = MP_SYS3(SYS_mkdirat, parent, name, saved ? 0755 : last_mode);
      if (parent != rootfd) MP_SYS1(SYS_close, parent);
      if (r < 0 && r != -EEXIST) return r;
    } else if (fd < 0) {
      return fd;
    } else {
      MP_SYS1(SYS_close, fd);
    }
    buf[i] = saved;
  }
  return 0;
}

/* Creates an empty file at rel (parents included) for a file bind mount. Whatever is there
 * already is left alone and never opened: O_EXCL does not follow a symlink, and a FIFO
 * planted in a shared volume cannot block us (O_NONBLOCK; we are the single-threaded
 * supervisor). */
static long touch(int rootfd, const char *rel) {
  char dir[PATHBUF];
  cpy(dir, sizeof(dir), rel);
  char *slash = xrchr(dir, '/');
  const char *name = rel;
  long parent = rootfd;
  if (slash) {
    *slash = 0;
    name = slash + 1;
    long r = mkdir_p(rootfd, dir, 0755, IN_ROOT);
    if (r < 0) return r;
    parent = open_in_root(rootfd, dir, O_PATH | O_DIRECTORY);
    if (parent < 0) return parent;
  }
  long fd = MP_SYS4(SYS_openat, parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (parent != rootfd) MP_SYS1(SYS_close, parent);
  if (fd == -EEXIST) return 0;  /* raced, or a symlink: resolve() opens it in root */
  if (fd < 0) return fd;
  MP_SYS1(SYS_close, fd);
  return 0;
}

enum create { NO_CREATE, CREATE_DIR, CREATE_FILE };

/* Opens dst (O_PATH) inside the root, creating it when asked. */
static long resolve(struct walk *w, const char *dst, enum create how) {
  const char *rel = strip_slash(dst);
  long fd = open_in_root(w->rootfd, rel, O_PATH);
  if (fd == -ENOENT && how != NO_CREATE) {
    long r = how == CREATE_DIR ? mkdir_p(w->rootfd, rel, 0755, IN_ROOT) : touch(w->rootfd, rel);
    if (r < 0) return r;
    fd = open_in_root(w->rootfd, rel, O_PATH);
  }
  return fd;
}

/* Splits dst into its parent (opened, created if needed) and last component. */
static long resolve_parent(struct walk *w, const char *dst, char *parent_buf, const char **base) {
  cpy(parent_buf, PATHBUF, strip_slash(dst));
  char *slash = xrchr(parent_buf, '/');
  if (slash) {
    *slash = 0;
    *base = strip_slash(dst) + (slash - parent_buf) + 1;
  } else {
    *base = strip_slash(dst);
    parent_buf[0] = 0;
  }
  if (parent_buf[0]) {
    long r = mkdir_p(w->rootfd, parent_buf, 0755, IN_ROOT);
    if (r < 0) return r;
  }
  return open_in_root(w->rootfd, parent_buf, O_PATH | O_DIRECTORY);
}

static int is_dir(long fd) {
  struct stat st;
  if (MP_SYS4(SYS_newfstatat, fd, "", &st, MP_AT_EMPTY_PATH) < 0) return 0;
  return S_ISDIR(st.st_mode);
}

static void attach(struct walk *w, long treefd, long dstfd, const char *src, const char *dst) {
  CHECK(w, MP_SYS5(SYS_move_mount, treefd, "", dstfd, "", MP_MOVE_MOUNT_F_EMPTY_PATH | MP_MOVE_MOUNT_T_EMPTY_PATH),
        "move_mount", src, dst);
  MP_SYS1(SYS_close, treefd);
  MP_SYS1(SYS_close, dstfd);
}

static void setattr(struct walk *w, long treefd, unsigned long attrs, int recursive, const char *src, const char *dst) {
  if (!attrs) return;
  struct mp_mount_attr a = {attrs, 0, 0, 0};
  CHECK(w, MP_SYS5(SYS_mount_setattr, treefd, "", MP_AT_EMPTY_PATH | (recursive ? MP_AT_RECURSIVE : 0), &a, sizeof(a)),
        "mount_setattr", src, dst);
}

/* fsopen + fsconfig + fsmount: a detached mount of a new filesystem instance. When the
 * kernel rejects a parameter it leaves a message in the fs context; we pass it on. */
static long new_fs(struct walk *w, const char *type, const char *source, const struct mp_mount_opt *opts, int nopts,
                   unsigned long attrs, const char *dst) {
  long fs = CHECK(w, MP_SYS2(SYS_fsopen, type, MP_FSOPEN_CLOEXEC), "fsopen", type, dst);
  long r = 0;
  const char *failed = "source";
  if (source && source[0]) r = MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, "source", source, 0);
  for (int i = 0; r >= 0 && i < nopts; i++) {
    failed = opts[i].key;
    r = opts[i].value ? MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, opts[i].key, opts[i].value, 0)
                      : MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_FLAG, opts[i].key, NULL, 0);
  }
  if (r >= 0) {
    failed = "create";
    r = MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_CMD_CREATE, NULL, NULL, 0);
  }
  long m = r >= 0 ? MP_SYS3(SYS_fsmount, fs, MP_FSMOUNT_CLOEXEC, attrs) : r;
  if (m < 0) {
    char msg[256] = "";
    long n = MP_SYS3(SYS_read, fs, msg, sizeof(msg) - 1);
    msg[n > 0 ? n : 0] = 0;
    if (n > 0 && msg[n - 1] == '\n') msg[n - 1] = 0;
    char sys[32] = "fsconfig ";
    cat(sys, sizeof(sys), failed);
    report(w, r < 0 ? sys : "fsmount", m, type, dst, msg[0] ? msg + 2 : NULL); /* skip "e " */
    MP_SYS1(SYS_exit_group, 127);
  }
  MP_SYS1(SYS_close, fs);
  return m;
}

/* ---- the mount operations ---- */

/* An overlay of the plan's lower dirs. fsconfig takes at most 256 bytes per string, which a
 * few layer paths exceed: each lower dir is given as its own "lowerdir+" (Linux 6.8+); a
 * kernel without it gets the one colon-joined "lowerdir" string instead. */
static long overlay(struct walk *w, const struct mp_mount_op *m) {
  struct mp_mount_opt tail[2] = {{"upperdir", m->upper}, {"workdir", m->work}};
  if (m->lowers && m->lowers[0] && m->lowers[1]) {
    long fs = CHECK(w, MP_SYS2(SYS_fsopen, "overlay", MP_FSOPEN_CLOEXEC), "fsopen", "overlay", m->dst);
    CHECK(w, MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, "source", "overlay", 0), "fsconfig source", "overlay", m->dst);
    long r = MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, "lowerdir+", m->lowers[0], 0);
    if (r >= 0) {
      for (int i = 1; m->lowers[i]; i++)
        CHECK(w, MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, "lowerdir+", m->lowers[i], 0), "fsconfig lowerdir+", m->lowers[i], m->dst);
      for (int i = 0; i < 2; i++)
        CHECK(w, MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_SET_STRING, tail[i].key, tail[i].value, 0), i ? "fsconfig workdir" : "fsconfig upperdir", tail[i].value, m->dst);
      CHECK(w, MP_SYS5(SYS_fsconfig, fs, MP_FSCONFIG_CMD_CREATE, NULL, NULL, 0), "fsconfig create", "overlay", m->dst);
      long mnt = CHECK(w, MP_SYS3(SYS_fsmount, fs, MP_FSMOUNT_CLOEXEC, m->attrs), "fsmount", "overlay", m->dst);
      MP_SYS1(SYS_close, fs);
      return mnt;
    }
    MP_SYS1(SYS_close, fs); /* no lowerdir+ on this kernel: the one string below */
  }
  struct mp_mount_opt o[3] = {{"lowerdir", m->lower}, tail[0], tail[1]};
  return new_fs(w, "overlay", "overlay", o, 3, m->attrs, m->dst);
}

static void do_rootfs(struct walk *w, const struct mp_mount_op *m) {
  long tree;
  if (m->kind == MP_M_ROOTFS_OVERLAY) {
    tree = overlay(w, m);
  } else if (m->kind == MP_M_ROOTFS_TMPFS) {
    tree = new_fs(w, "tmpfs", "tmpfs", m->opts, m->nopts, m->attrs, m->dst);
  } else {
    tree = CHECK(w, MP_SYS3(SYS_open_tree, -100, m->source, MP_OPEN_TREE_CLONE | O_CLOEXEC | MP_AT_RECURSIVE),
                 "open_tree", m->source, m->dst);
  }
  long target = CHECK(w, MP_SYS3(SYS_open, m->dst, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), "open", m->dst, NULL);
  attach(w, tree, target, m->source, m->dst);
  /* Reopen: the fd we had named the directory under the mount, not the new mount. */
  w->rootfd = (int)CHECK(w, MP_SYS3(SYS_open, m->dst, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), "open", m->dst, NULL);
}

static void do_bind(struct walk *w, const struct mp_mount_op *m) {
  unsigned flags = MP_OPEN_TREE_CLONE | O_CLOEXEC | (m->recursive ? MP_AT_RECURSIVE : 0);
  long tree;
  if (m->source_root) {
    /* Resolve beneath the volume: a symlink that points out of it (planted by another
     * container, CVE-2017-1002101 / CVE-2021-25741) makes openat2 fail with EXDEV. */
    long root = CHECK(w, MP_SYS3(SYS_open, m->source_root, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), "open",
                      m->source_root, m->dst);
    struct mp_open_how how = {O_PATH | O_CLOEXEC, 0, MP_RESOLVE_BENEATH | MP_RESOLVE_NO_MAGICLINKS};
    long src = MP_SYS4(SYS_openat2, root, strip_slash(m->source), &how, sizeof(how));
    const char *sys = "openat2";
    if (src == -ENOENT && m->create_source) {
      long r = mkdir_p((int)root, strip_slash(m->source), 0755, BENEATH);
      if (r < 0) {
        sys = "mkdirat";
        src = r;
      } else {
        src = MP_SYS4(SYS_openat2, root, strip_slash(m->source), &how, sizeof(how));
      }
    }
    MP_SYS1(SYS_close, root);
    if (src == -EXDEV) {
      report(w, sys, src, m->source, m->dst, "the subPath leads out of its volume (through a symlink or '..'); refused");
      MP_SYS1(SYS_exit_group, 127);
    }
    if (src < 0) die(w, sys, src, m->source, m->dst);
    tree = MP_SYS3(SYS_open_tree, src, "", flags | MP_AT_EMPTY_PATH);
    MP_SYS1(SYS_close, src);
  } else {
    tree = MP_SYS3(SYS_open_tree, -100, m->source, flags);
  }
  if (tree == -ENOENT && m->optional) return;
  if (tree < 0) die(w, "open_tree", tree, m->source, m->dst);
  long dst = resolve(w, m->dst, is_dir(tree) ? CREATE_DIR : CREATE_FILE);
  if (dst < 0) die(w, "openat2", dst, m->source, m->dst);
  setattr(w, tree, m->attrs, m->recursive, m->source, m->dst);
  attach(w, tree, dst, m->source, m->dst);
}

static void do_mount(struct walk *w, const struct mp_mount_op *m) {
  long tree = new_fs(w, m->fstype, m->source, m->opts, m->nopts, m->attrs, m->dst);
  long dst = resolve(w, m->dst, CREATE_DIR);
  if (dst < 0) die(w, "openat2", dst, m->fstype, m->dst);
  attach(w, tree, dst, m->fstype, m->dst);
}

static void do_node(struct walk *w, const struct mp_mount_op *m) {
  char parent[PATHBUF];
  const char *base;
  long dir = resolve_parent(w, m->dst, parent, &base);
  if (dir < 0) die(w, "openat2", dir, m->dst, NULL);
  if (m->kind == MP_M_MKNOD) {
    mode_t type = m->dev_kind == 'b' ? S_IFBLK : S_IFCHR;
    CHECK(w, MP_SYS4(SYS_mknodat, dir, base, type | m->mode, makedev(m->major, m->minor)), "mknodat", m->dst, NULL);
    if (m->uid >= 0 || m->gid >= 0)
      CHECK(w, MP_SYS5(SYS_fchownat, dir, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW), "fchownat", m->dst, NULL);
  } else if (m->kind == MP_M_SYMLINK) {
    CHECK(w, MP_SYS3(SYS_symlinkat, m->link_target, dir, base), "symlinkat", m->dst, m->link_target);
  } else {
    long r = MP_SYS3(SYS_mkdirat, dir, base, m->mode);
    if (r < 0 && r != -EEXIST) die(w, "mkdirat", r, m->dst, NULL);
  }
  MP_SYS1(SYS_close, dir);
}

static void do_mask(struct walk *w, const struct mp_mount_op *m) {
  long dst = resolve(w, m->dst, NO_CREATE);
  if (dst == -ENOENT) return; /* not on this kernel: nothing to hide */
  if (dst < 0) die(w, "openat2", dst, m->dst, NULL);
  long tree;
  if (is_dir(dst)) {
    tree = new_fs(w, "tmpfs", "tmpfs", NULL, 0, MP_MOUNT_ATTR_RDONLY, m->dst);
  } else {
    tree = CHECK(w, MP_SYS3(SYS_open_tree, -100, "/dev/null", MP_OPEN_TREE_CLONE | O_CLOEXEC), "open_tree",
                 "/dev/null", m->dst);
  }
  attach(w, tree, dst, NULL, m->dst);
}

static void do_readonly(struct walk *w, const struct mp_mount_op *m) {
  long dst = resolve(w, m->dst, NO_CREATE);
  if (dst == -ENOENT) return;
  if (dst < 0) die(w, "openat2", dst, m->dst, NULL);
  long tree = CHECK(w, MP_SYS3(SYS_open_tree, dst, "", MP_OPEN_TREE_CLONE | O_CLOEXEC | MP_AT_EMPTY_PATH | MP_AT_RECURSIVE),
                    "open_tree", m->dst, NULL);
  setattr(w, tree, MP_MOUNT_ATTR_RDONLY, 1, m->dst, NULL);
  attach(w, tree, dst, m->dst, m->dst);
}

static void do_pivot(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  CHECK(w, MP_SYS1(SYS_fchdir, w->rootfd), "fchdir", "(new root)", NULL);
  /* pivot_root(".", "."): the old root ends up stacked on top of the new one and is then
   * detached, so no directory for it is needed inside the rootfs. */
  CHECK(w, MP_SYS2(SYS_pivot_root, ".", "."), "pivot_root", ".", NULL);
  CHECK(w, MP_SYS2(SYS_umount2, ".", MNT_DETACH), "umount2", "(old root)", NULL);
  CHECK(w, MP_SYS1(SYS_chdir, "/"), "chdir", "/", NULL);
  if (p->rootfs_readonly) {
    struct mp_mount_attr a = {MP_MOUNT_ATTR_RDONLY, 0, 0, 0};
    CHECK(w, MP_SYS5(SYS_mount_setattr, -100, "/", 0, &a, sizeof(a)), "mount_setattr", "/", NULL);
  }
  MP_SYS1(SYS_close, w->rootfd);
  w->rootfd = -1;
}

static void do_mounts(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  for (int i = 0; i < p->nmounts; i++) {
    const struct mp_mount_op *m = &p->mounts[i];
    set_step(w, "mounts", i, m->name);
    if (m->kind == MP_M_PROPAGATION) {
      CHECK(w, MP_SYS5(SYS_mount, NULL, "/", NULL, m->propagation, NULL), "mount", "/", NULL);
      continue;
    }
    if (m->kind == MP_M_ROOTFS_OVERLAY || m->kind == MP_M_ROOTFS_BIND || m->kind == MP_M_ROOTFS_TMPFS) {
      do_rootfs(w, m);
      continue;
    }
    if (w->rootfd < 0) die(w, "plan", -EINVAL, "(no rootfs step before this one)", m->dst);
    switch (m->kind) {
      case MP_M_BIND: do_bind(w, m); break;
      case MP_M_MOUNT: do_mount(w, m); break;
      case MP_M_MKNOD: case MP_M_SYMLINK: case MP_M_MKDIR: do_node(w, m); break;
      case MP_M_MASK: do_mask(w, m); break;
      case MP_M_READONLY: do_readonly(w, m); break;
      case MP_M_PIVOT: do_pivot(w); break;
      default: break;
    }
  }
}

/* ---- identity ---- */

static void do_identity(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  set_step(w, "user", -1, NULL);
  if (!p->keep_all_caps) {
    for (int cap = 0; cap <= w->c->cap_last; cap++)
      if (!(p->caps & (1ULL << cap)))
        CHECK(w, MP_SYS5(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)", NULL, NULL);
  }
  CHECK(w, MP_SYS2(SYS_setgroups, p->ngroups, p->groups), "setgroups", NULL, NULL);
  CHECK(w, MP_SYS3(SYS_setresgid, p->gid, p->gid, p->gid), "setresgid", NULL, NULL);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  /* The inheritable set is always empty (moby CVE-2022-24769): with it, a file with
   * inheritable file capabilities would regain capabilities the container was not given. */
  if (p->keep_all_caps) {
    CHECK(w, MP_SYS2(SYS_capget, &hdr, data), "capget", NULL, NULL);
  } else {
    for (int i = 0; i < 2; i++) {
      unsigned v = p->uid == 0 ? (unsigned)(p->caps >> (32 * i)) : 0;
      data[i].effective = data[i].permitted = v;
    }
  }
  data[0].inheritable = data[1].inheritable = 0;
  if (p->keep_all_caps || p->uid == 0) CHECK(w, MP_SYS2(SYS_capset, &hdr, data), "capset", NULL, NULL);
  /* For a non-root uid the kernel clears permitted and effective caps here (no KEEPCAPS),
   * as Docker and containerd give non-root containers no effective capabilities. */
  CHECK(w, MP_SYS3(SYS_setresuid, p->uid, p->uid, p->uid), "setresuid", NULL, NULL);
  if (!p->keep_all_caps && p->uid != 0) {
    xzero(data, sizeof(data));
    CHECK(w, MP_SYS2(SYS_capset, &hdr, data), "capset", NULL, NULL);
  }
  CHECK(w, MP_SYS5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "prctl(PR_CAP_AMBIENT)", NULL, NULL);
  if (p->no_new_privs)
    CHECK(w, MP_SYS5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)", NULL, NULL);
}

/* ---- stdio and fds ---- */

static void do_fds(struct walk *w) {
  struct mp_child *c = w->c;
  long tmp[3 + 16];
  int n = 0;
  set_step(w, "stdio", -1, NULL);
  if (c->nextra > 16) die(w, "plan", -EINVAL, "too many extra fds", NULL);
  /* First move every source above the range it goes to, then dup into place, so that a
   * source that already sits at 0..2+nextra is not overwritten before it is used. */
  for (int i = 0; i < 3 + c->nextra; i++) {
    int src = i < 3 ? c->stdio[i] : c->extra[i - 3];
    /* "inherit" is dup'ed too: Node keeps its own 0, 1, 2 close-on-exec. */
    if (src == MP_STDIO_INHERIT) src = i;
    tmp[n++] = CHECK(w, MP_SYS3(SYS_fcntl, src, F_DUPFD_CLOEXEC, 100), "fcntl", NULL, NULL);
  }
  for (int i = 0; i < n; i++) CHECK(w, MP_SYS3(SYS_dup3, tmp[i], i, 0), "dup3", NULL, NULL);
  /* Every other fd gets CLOEXEC: nothing of the spawner leaks into the container
   * (runc CVE-2024-21626). The error pipe is CLOEXEC already and closes at execve. */
  CHECK(w, MP_SYS3(SYS_close_range, 3 + c->nextra, ~0U, MP_CLOSE_RANGE_CLOEXEC), "close_range", NULL, NULL);
  if (c->p->ctty) CHECK(w, MP_SYS3(SYS_ioctl, 0, TIOCSCTTY, 0), "ioctl(TIOCSCTTY)", NULL, NULL);
}

/* ---- exec ---- */

static const char *env_get(char **env, const char *name) {
  size_t n = xlen(name);
  for (char **e = env; *e; e++)
    if (!xneq(*e, name, n) && (*e)[n] == '=') return *e + n + 1;
  return NULL;
}

__attribute__((noreturn)) static void do_exec(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  const char *file = p->argv[0];
  set_step(w, "exec", -1, NULL);
  MP_SYS1(SYS_umask, 022);
  if (xchr(file, '/')) {
    long r = MP_SYS3(SYS_execve, file, p->argv, p->env);
    die(w, "execve", r, file, NULL);
  }
  const char *path = env_get(p->env, "PATH");
  if (!path) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  long seen = -ENOENT;
  char buf[PATHBUF];
  for (const char *s = path;; s++) {
    const char *e = xchr(s, ':');
    size_t len = e ? (size_t)(e - s) : xlen(s);
    if (len == 0) cpy(buf, sizeof(buf), ".");
    else if (len < sizeof(buf) - 1) { xcopy(buf, s, len); buf[len] = 0; }
    else buf[0] = 0;
    cat(buf, sizeof(buf), "/");
    cat(buf, sizeof(buf), file);
    long r = MP_SYS3(SYS_execve, buf, p->argv, p->env);
    if (r == -EACCES) seen = r;
    else if (r != -ENOENT && r != -ENOTDIR && r != -ENAMETOOLONG) die(w, "execve", r, buf, NULL);
    if (!e) break;
    s = e;
  }
  report(w, "execve", seen, file, NULL, "executable file not found in $PATH");
  MP_SYS1(SYS_exit_group, 127);
  __builtin_unreachable();
}

/* ---- the two stages ---- */

static int stage2(void *arg) {
  struct mp_child *c = arg;
  const struct mp_proc *p = c->p;
  struct walk w = {c, c->errfd, "", -1};
  /* Keep our own pipes out of the range that stdio and extra fds are dup'ed into. */
  w.errfd = (int)MP_SYS3(SYS_fcntl, c->errfd, F_DUPFD_CLOEXEC, 100);
  int syncfd = c->syncfd >= 0 ? (int)MP_SYS3(SYS_fcntl, c->syncfd, F_DUPFD_CLOEXEC, 100) : -1;
  MP_SYS1(SYS_umask, 0); /* modes in the plan are exact */
  if (p->parent_death_signal) {
    /* pause dies with its supervisor, so no pod process is left that no state names. Set,
     * then check that the spawner did not die just before (we would never be signalled). */
    set_step(&w, "parentDeathSignal", -1, NULL);
    CHECK(&w, MP_SYS5(SYS_prctl, PR_SET_PDEATHSIG, p->parent_death_signal, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)", NULL, NULL);
    struct { int fd; short events, revents; } pfd = {c->spawner_pidfd, 1 /* POLLIN */, 0};
    struct { long s, ns; } zero = {0, 0};
    if (MP_SYS5(SYS_ppoll, &pfd, 1, &zero, NULL, 0) != 0) die(&w, "ppoll", -ESRCH, "(the spawner is gone)", NULL);
  }
  if (p->setsid) {
    set_step(&w, "setsid", -1, NULL);
    CHECK(&w, MP_SYS0(SYS_setsid), "setsid", NULL, NULL);
  }
  if (p->loopback_up) {
    set_step(&w, "loopback", -1, NULL);
    long s = CHECK(&w, MP_SYS3(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket", "lo", NULL);
    struct ifreq ifr;
    xzero(&ifr, sizeof(ifr));
    cpy(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    CHECK(&w, MP_SYS3(SYS_ioctl, s, SIOCGIFFLAGS, &ifr), "ioctl(SIOCGIFFLAGS)", "lo", NULL);
    ifr.ifr_flags |= IFF_UP;
    CHECK(&w, MP_SYS3(SYS_ioctl, s, SIOCSIFFLAGS, &ifr), "ioctl(SIOCSIFFLAGS)", "lo", NULL);
    MP_SYS1(SYS_close, s);
  }
  if (p->hostname) {
    set_step(&w, "hostname", -1, NULL);
    CHECK(&w, MP_SYS2(SYS_sethostname, p->hostname, xlen(p->hostname)), "sethostname", p->hostname, NULL);
  }
  do_mounts(&w);
  set_step(&w, "cwd", -1, NULL);
  CHECK(&w, MP_SYS1(SYS_chdir, p->cwd), "chdir", p->cwd, NULL);
  do_identity(&w);
  do_fds(&w);
  if (syncfd >= 0) {
    /* The spawner wants our mount namespace (the supervisor keeps it to find what a
     * container leaves behind): it opens it while we wait, then lets us go on. */
    set_step(&w, "sync", -1, NULL);
    struct mp_rec r;
    xzero(&r, sizeof(r));
    r.kind = MP_REC_READY;
    MP_SYS3(SYS_write, w.errfd, &r, sizeof(r));
    char go;
    if (MP_SYS3(SYS_read, syncfd, &go, 1) != 1) die(&w, "read", -EPIPE, "(sync pipe)", NULL);
  }
  do_exec(&w);
}

/* Closes every fd except those the child needs: it has a copy of the spawner's fd table
 * (Node's sockets, the supervisor's epoll, signalfd and log files) and is about to enter
 * namespaces where a container's processes can look at it. */
static void close_others(struct walk *w) {
  struct mp_child *c = w->c;
  int keep[MP_MAX_NS + 3 + 16 + 3];
  int n = 0;
  keep[n++] = c->errfd;
  if (c->syncfd >= 0) keep[n++] = c->syncfd;
  if (c->spawner_pidfd >= 0) keep[n++] = c->spawner_pidfd;
  for (int i = 0; i < MP_MAX_NS; i++)
    if (c->nsfd[i] >= 0) keep[n++] = c->nsfd[i];
  for (int i = 0; i < 3; i++) keep[n++] = c->stdio[i] == MP_STDIO_INHERIT ? i : c->stdio[i];
  for (int i = 0; i < c->nextra && i < 16; i++)
    if (c->extra[i] >= 0) keep[n++] = c->extra[i];
  for (int i = 1; i < n; i++) /* insertion sort: a few dozen entries at most */
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  unsigned lo = 0;
  set_step(w, "fds", -1, NULL);
  for (int i = 0; i < n; i++) {
    if (keep[i] < 0) continue;
    if ((unsigned)keep[i] > lo) CHECK(w, MP_SYS3(SYS_close_range, lo, (unsigned)keep[i] - 1, 0), "close_range", NULL, NULL);
    if ((unsigned)keep[i] + 1 > lo) lo = (unsigned)keep[i] + 1;
  }
  CHECK(w, MP_SYS3(SYS_close_range, lo, ~0U, 0), "close_range", NULL, NULL);
}

int mp_child_entry(void *arg) {
  struct mp_child *c = arg;
  const struct mp_proc *p = c->p;
  struct walk w = {c, c->errfd, "", -1};

  /* Before anything else: not dumpable, so that no process of a container we are about to
   * join can open our /proc/PID/{mem,fd,root,environ} (ptrace access). The flag belongs to
   * our memory, which is ours alone (spawn.c clones without CLONE_VM); execve resets it for
   * the workload, which then holds only what it was given. */
  set_step(&w, "dumpable", -1, NULL);
  CHECK(&w, MP_SYS5(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)", NULL, NULL);
  close_others(&w);

  /* Signals: the parent blocked them all around clone. Handlers are Node's (or the
   * supervisor's) and must never run here, and ignored signals (Node ignores SIGPIPE) must
   * not leak into the container: everything back to SIG_DFL, then unblock. */
  struct { void *handler; unsigned long flags; void *restorer; uint64_t mask; } dfl = {SIG_DFL, 0, NULL, 0};
  for (int sig = 1; sig < 65; sig++)
    if (sig != SIGKILL && sig != SIGSTOP) MP_SYS4(SYS_rt_sigaction, sig, &dfl, NULL, 8);
  uint64_t none = 0;
  MP_SYS4(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);

  /* Join first (from fds opened before the clone), then create: a new namespace must be
   * created inside the ones it joined (e.g. a mount namespace under the pod's). */
  int create = 0;
  for (int i = 0; i < p->nns; i++) {
    const struct mp_ns_op *o = &p->ns[i];
    set_step(&w, "namespaces", i, o->action == MP_NS_JOIN ? "join" : "create");
    if (o->action == MP_NS_JOIN) CHECK(&w, MP_SYS2(SYS_setns, c->nsfd[i], o->flag), "setns", o->path, o->type);
    else create |= o->flag;
  }
  if (create) {
    set_step(&w, "namespaces", -1, "unshare");
    CHECK(&w, MP_SYS1(SYS_unshare, create), "unshare", NULL, NULL);
  }
  if (!c->need_fork) return stage2(c);

  /* setns/unshare of a pid namespace only applies to children: fork once more. With
   * CLONE_PARENT the workload becomes a direct child of the spawner, which watches it by
   * pidfd; this middle process only reports the pid and exits. */
  set_step(&w, "namespaces", -1, "fork");
  /* CLONE_VM here shares only this process's private copy, which is not dumpable. No
   * CLONE_VFORK: the spawner needs our PID record while the workload may still wait for it
   * before its execve (the sync step). We only write that record and exit. */
  int pid = clone(stage2, c->stack2 + c->stack2_size, CLONE_VM | CLONE_PARENT | SIGCHLD, c);
  if (pid < 0) die(&w, "clone", -errno, NULL, NULL);
  struct mp_rec r;
  xzero(&r, sizeof(r));
  r.kind = MP_REC_PID;
  r.pid = pid;
  MP_SYS3(SYS_write, c->errfd, &r, sizeof(r));
  MP_SYS1(SYS_exit, 0);
  return 0;
}
