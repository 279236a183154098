/* The mount steps of a plan, run in the child inside its new mount namespace: every
 * destination resolved inside the new root (openat2 RESOLVE_IN_ROOT), volume subPaths
 * beneath their volume (RESOLVE_BENEATH), new filesystems and binds on file descriptors
 * (fsopen/fsmount, open_tree/mount_setattr/move_mount), pivot_root last. The rules of the
 * child apply (child.c): raw system calls, no libc. native/README.md has the sequence.
 */
#define _GNU_SOURCE
#include "child.h"

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

/* Gives a detached tree the id mapping of the user namespace the plan joins: files the
 * image (or minipod) wrote as host uid N read as uid N inside that namespace, and its
 * writes land as N on disk, with no chown of anything. A filesystem that cannot do it is
 * named: the pod cannot have a user namespace with it. */
static void idmap_tree(struct walk *w, long treefd, int recursive, const char *src, const char *dst) {
  const struct mp_child *c = w->c;
  struct mp_mount_attr a = {MP_MOUNT_ATTR_IDMAP, 0, 0, (uint64_t)c->nsfd[c->p->userns]};
  long r = MP_SYS5(SYS_mount_setattr, treefd, "", MP_AT_EMPTY_PATH | (recursive ? MP_AT_RECURSIVE : 0), &a, sizeof(a));
  if (r == -EINVAL) {
    mp_report(w, "mount_setattr(MOUNT_ATTR_IDMAP)", r, src, dst, "this filesystem cannot be idmapped, which a pod with hostUsers: false needs");
    MP_SYS1(SYS_exit_group, 127);
  }
  if (r < 0) mp_die(w, "mount_setattr(MOUNT_ATTR_IDMAP)", r, src, dst);
}

/* An idmapped bind of a host directory over itself, in this (private) mount namespace. */
static void do_idmap(struct walk *w, const struct mp_mount_op *m) {
  long tree = CHECK(w, MP_SYS3(SYS_open_tree, -100, m->dst, MP_OPEN_TREE_CLONE | O_CLOEXEC), "open_tree", m->dst, NULL);
  idmap_tree(w, tree, 0, m->dst, NULL);
  long dst = CHECK(w, MP_SYS3(SYS_open, m->dst, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), "open", m->dst, NULL);
  attach(w, tree, dst, m->dst, m->dst);
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
    mp_report(w, r < 0 ? sys : "fsmount", m, type, dst, msg[0] ? msg + 2 : NULL); /* skip "e " */
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

/* The binds that stay shared or slave with the host's mounts, cloned before the first
 * propagation step makes this namespace's copies private: a detached tree (open_tree) is
 * outside the namespace's tree, so it keeps the peer group of its source. Everything else
 * the container gets (its rootfs, proc, /dev, the other binds) is cloned after that step,
 * private, and the old root detached at pivot is private too, so no mount or unmount of
 * ours reaches the host but through these binds, as their propagation asks. */
#define MP_MAX_PRE 32
struct pre { int idx; long tree; };
static struct pre pre_trees[MP_MAX_PRE];
static int npre;

static void preopen_shared(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  npre = 0;
  for (int i = 0; i < p->nmounts; i++) {
    const struct mp_mount_op *m = &p->mounts[i];
    if (m->kind != MP_M_BIND || !m->propagation) continue;
    mp_set_step(w, "mounts", i, m->name);
    if (npre == MP_MAX_PRE) mp_die(w, "plan", -E2BIG, "(more than 32 shared or slave binds)", m->dst);
    long tree = MP_SYS3(SYS_open_tree, -100, m->source, MP_OPEN_TREE_CLONE | O_CLOEXEC | (m->recursive ? MP_AT_RECURSIVE : 0));
    if (tree < 0 && !(tree == -ENOENT && m->optional)) mp_die(w, "open_tree", tree, m->source, m->dst);
    pre_trees[npre].idx = i;
    pre_trees[npre++].tree = tree;
  }
}

static void do_bind(struct walk *w, const struct mp_mount_op *m) {
  unsigned flags = MP_OPEN_TREE_CLONE | O_CLOEXEC | (m->recursive ? MP_AT_RECURSIVE : 0);
  long tree = -EBADF;
  int pre = 0;
  for (int k = 0; k < npre; k++)
    if (&w->c->p->mounts[pre_trees[k].idx] == m) { tree = pre_trees[k].tree; pre = 1; }
  if (pre && tree >= 0) {
    /* Cloned again from the tree preopen_shared took (a clone of a peer is a peer), so that
     * this mount is made now, in the plan's order, as mountinfo then lists it; a kernel
     * that cannot clone a detached tree gets the early one. */
    long again = MP_SYS3(SYS_open_tree, tree, "", flags | MP_AT_EMPTY_PATH);
    if (again >= 0) {
      MP_SYS1(SYS_close, tree);
      tree = again;
    }
  } else if (pre) {
    /* not there, and optional: below */
  } else if (m->source_root) {
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
      mp_report(w, sys, src, m->source, m->dst, "the subPath leads out of its volume (through a symlink or '..'); refused");
      MP_SYS1(SYS_exit_group, 127);
    }
    if (src < 0) mp_die(w, sys, src, m->source, m->dst);
    tree = MP_SYS3(SYS_open_tree, src, "", flags | MP_AT_EMPTY_PATH);
    MP_SYS1(SYS_close, src);
  } else {
    tree = MP_SYS3(SYS_open_tree, -100, m->source, flags);
  }
  if (tree == -ENOENT && m->optional) return;
  if (tree < 0) mp_die(w, "open_tree", tree, m->source, m->dst);
  long dst = resolve(w, m->dst, is_dir(tree) ? CREATE_DIR : CREATE_FILE);
  if (dst < 0) mp_die(w, "openat2", dst, m->source, m->dst);
  if (m->idmap) idmap_tree(w, tree, m->recursive, m->source, m->dst);
  setattr(w, tree, m->attrs, m->recursive, m->source, m->dst);
  if (m->propagation & MS_SLAVE) {
    /* A peer of the host's mount made its slave: host mounts show here, ours go nowhere. */
    struct mp_mount_attr a = {0, 0, MS_SLAVE, 0};
    CHECK(w, MP_SYS5(SYS_mount_setattr, tree, "", MP_AT_EMPTY_PATH | ((m->propagation & MS_REC) ? MP_AT_RECURSIVE : 0), &a, sizeof(a)), "mount_setattr", m->source, m->dst);
  }
  attach(w, tree, dst, m->source, m->dst);
}

static void do_mount(struct walk *w, const struct mp_mount_op *m) {
  long tree = new_fs(w, m->fstype, m->source, m->opts, m->nopts, m->attrs, m->dst);
  long dst = resolve(w, m->dst, CREATE_DIR);
  if (dst < 0) mp_die(w, "openat2", dst, m->fstype, m->dst);
  attach(w, tree, dst, m->fstype, m->dst);
}

static void do_node(struct walk *w, const struct mp_mount_op *m) {
  char parent[PATHBUF];
  const char *base;
  long dir = resolve_parent(w, m->dst, parent, &base);
  if (dir < 0) mp_die(w, "openat2", dir, m->dst, NULL);
  if (m->kind == MP_M_MKNOD) {
    mode_t type = m->dev_kind == 'b' ? S_IFBLK : m->dev_kind == 'p' ? S_IFIFO : S_IFCHR;
    CHECK(w, MP_SYS4(SYS_mknodat, dir, base, type | m->mode, makedev(m->major, m->minor)), "mknodat", m->dst, NULL);
    if (m->uid >= 0 || m->gid >= 0)
      CHECK(w, MP_SYS5(SYS_fchownat, dir, base, m->uid, m->gid, AT_SYMLINK_NOFOLLOW), "fchownat", m->dst, NULL);
  } else if (m->kind == MP_M_SYMLINK) {
    CHECK(w, MP_SYS3(SYS_symlinkat, m->link_target, dir, base), "symlinkat", m->dst, m->link_target);
  } else {
    long r = MP_SYS3(SYS_mkdirat, dir, base, m->mode);
    if (r < 0 && r != -EEXIST) mp_die(w, "mkdirat", r, m->dst, NULL);
  }
  MP_SYS1(SYS_close, dir);
}

static void do_mask(struct walk *w, const struct mp_mount_op *m) {
  long dst = resolve(w, m->dst, NO_CREATE);
  if (dst == -ENOENT) return; /* not on this kernel: nothing to hide */
  if (dst < 0) mp_die(w, "openat2", dst, m->dst, NULL);
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
  if (dst < 0) mp_die(w, "openat2", dst, m->dst, NULL);
  long tree = CHECK(w, MP_SYS3(SYS_open_tree, dst, "", MP_OPEN_TREE_CLONE | O_CLOEXEC | MP_AT_EMPTY_PATH | MP_AT_RECURSIVE),
                    "open_tree", m->dst, NULL);
  setattr(w, tree, MP_MOUNT_ATTR_RDONLY, 1, m->dst, NULL);
  attach(w, tree, dst, m->dst, m->dst);
}

static void do_pivot(struct walk *w, const struct mp_mount_op *m) {
  const struct mp_proc *p = w->c->p;
  CHECK(w, MP_SYS1(SYS_fchdir, w->rootfd), "fchdir", "(new root)", NULL);
  /* pivot_root(".", "."): the old root ends up stacked on top of the new one and is then
   * detached, so no directory for it is needed inside the rootfs. */
  CHECK(w, MP_SYS2(SYS_pivot_root, ".", "."), "pivot_root", ".", NULL);
  CHECK(w, MP_SYS2(SYS_umount2, ".", MNT_DETACH), "umount2", "(old root)", NULL);
  CHECK(w, MP_SYS1(SYS_chdir, "/"), "chdir", "/", NULL);
  if (m->propagation) CHECK(w, MP_SYS5(SYS_mount, NULL, "/", NULL, m->propagation, NULL), "mount", "/ (rootPropagation)", NULL);
  if (p->rootfs_readonly) {
    struct mp_mount_attr a = {MP_MOUNT_ATTR_RDONLY, 0, 0, 0};
    CHECK(w, MP_SYS5(SYS_mount_setattr, -100, "/", 0, &a, sizeof(a)), "mount_setattr", "/", NULL);
  }
  MP_SYS1(SYS_close, w->rootfd);
  w->rootfd = -1;
}

/* Instead of pivot_root, for a process that is to stay in the spawner's mount namespace (an
 * OCI config without one of its own): the tree built in the namespace made for this process
 * (rootfs, its mounts, masks) is cloned as a detached tree, the process goes back to the
 * spawner's namespace (setns on the fd the spawner opened) and chroots into the clone. Its
 * mount namespace is then the spawner's, yet nothing was mounted there: the namespace it made
 * goes away with the step, the clone lives as long as the container's processes are rooted
 * in it, and ".." at its top stays there (a detached tree has no parent to climb to). */
static void do_chroot(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  long tree = CHECK(w, MP_SYS3(SYS_open_tree, w->rootfd, "", MP_OPEN_TREE_CLONE | MP_AT_RECURSIVE | AT_EMPTY_PATH | O_CLOEXEC), "open_tree(OPEN_TREE_CLONE)", "(new root)", NULL);
  if (p->rootfs_readonly) {
    struct mp_mount_attr a = {MP_MOUNT_ATTR_RDONLY, 0, 0, 0};
    CHECK(w, MP_SYS5(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &a, sizeof(a)), "mount_setattr", "/", NULL);
  }
  CHECK(w, MP_SYS2(SYS_setns, w->c->home_mntns, CLONE_NEWNS), "setns", "(the spawner's mount namespace)", NULL);
  CHECK(w, MP_SYS1(SYS_fchdir, tree), "fchdir", "(new root)", NULL);
  CHECK(w, MP_SYS1(SYS_chroot, "."), "chroot", ".", NULL);
  CHECK(w, MP_SYS1(SYS_chdir, "/"), "chdir", "/", NULL);
  MP_SYS1(SYS_close, tree);
  MP_SYS1(SYS_close, w->c->home_mntns);
  MP_SYS1(SYS_close, w->rootfd);
  w->rootfd = -1;
}

void mp_do_mounts(struct walk *w) {
  const struct mp_proc *p = w->c->p;
  preopen_shared(w);
  for (int i = 0; i < p->nmounts; i++) {
    const struct mp_mount_op *m = &p->mounts[i];
    mp_set_step(w, "mounts", i, m->name);
    if (m->kind == MP_M_PROPAGATION) {
      CHECK(w, MP_SYS5(SYS_mount, NULL, "/", NULL, m->propagation, NULL), "mount", "/", NULL);
      continue;
    }
    if (m->kind == MP_M_IDMAP) {
      if (w->rootfd >= 0) mp_die(w, "plan", -EINVAL, "(an idmap step comes before the rootfs)", m->dst);
      do_idmap(w, m);
      continue;
    }
    if (m->kind == MP_M_ROOTFS_OVERLAY || m->kind == MP_M_ROOTFS_BIND || m->kind == MP_M_ROOTFS_TMPFS) {
      do_rootfs(w, m);
      continue;
    }
    if (w->rootfd < 0) mp_die(w, "plan", -EINVAL, "(no rootfs step before this one)", m->dst);
    switch (m->kind) {
      case MP_M_BIND: do_bind(w, m); break;
      case MP_M_MOUNT: do_mount(w, m); break;
      case MP_M_MKNOD: case MP_M_SYMLINK: case MP_M_MKDIR: do_node(w, m); break;
      case MP_M_MASK: do_mask(w, m); break;
      case MP_M_READONLY: do_readonly(w, m); break;
      case MP_M_PIVOT: do_pivot(w, m); break;
      case MP_M_CHROOT: do_chroot(w); break;
      default: break;
    }
  }
}
