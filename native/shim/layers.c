/* A container's writable layer, one per start, and what a run leaves behind.
 *
 * Every start N of a container gets a fresh upper-N and work-N under its layer directory:
 * a restart never mounts a new overlay on a layer that an earlier run may still use. With
 * a shared pid namespace the children of an earlier run can outlive it (its PID 1 is pause,
 * not the container's process), so when a container ends, every process still in its mount
 * namespace is killed: that namespace is held by an fd taken before the container exec'ed,
 * so its inode cannot be reused while we look for it. An old layer is removed only once no
 * process is left in its namespace, relative to directory fds and without following a
 * symlink or crossing a mount, so nothing a container planted can steer the removal
 * outside the layer. What is still in use when the pod ends is removed by its teardown.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

/* SIGKILLs every process whose mount namespace is nsfd's; returns how many there were. A
 * pid is re-checked through a pidfd, so a pid reused between the look and the kill is
 * never signalled. */
int ns_kill_all(int nsfd) {
  return ns_kill_all_kind(nsfd, "mnt");
}

int ns_kill_all_kind(int nsfd, const char *kind) {
  struct stat ns;
  if (nsfd < 0 || fstat(nsfd, &ns) < 0) return 0;
  DIR *d = opendir("/proc");
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end || pid == getpid()) continue;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/ns/%s", pid, kind);
    struct stat st;
    if (stat(path, &st) < 0 || st.st_ino != ns.st_ino || st.st_dev != ns.st_dev) continue;
    int pfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pfd < 0) continue;
    if (stat(path, &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev) {
      syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
      n++;
    }
    close(pfd);
  }
  closedir(d);
  return n;
}

/* rm -rf of dirfd/name without following symlinks or crossing into another filesystem. */
int rm_tree_at(int dirfd, const char *name, dev_t dev, int depth) {
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    if (errno == ENOTDIR || errno == ELOOP) return unlinkat(dirfd, name, 0); /* a file or a symlink itself */
    return -1;
  }
  struct stat st;
  if (depth > 256 || fstat(fd, &st) < 0 || st.st_dev != dev) { /* too deep, or a mount point: leave it */
    close(fd);
    errno = EXDEV;
    return -1;
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    int r = e->d_type == DT_DIR ? rm_tree_at(fd, e->d_name, dev, depth + 1) : unlinkat(fd, e->d_name, 0);
    if (r < 0 && errno == EISDIR) r = rm_tree_at(fd, e->d_name, dev, depth + 1);
    if (r < 0 && errno != ENOENT) rc = -1;
  }
  closedir(d);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) rc = -1;
  return rc;
}

static int open_layer_dir(struct pod *p, struct ctr *c, dev_t *dev) {
  int fd = open(c->layer_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    logmsg(p, "[%s] open %s: %s", c->name, c->layer_dir, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  *dev = st.st_dev;
  return fd;
}

static void remove_layer(struct pod *p, struct ctr *c, int dirfd, dev_t dev, int index) {
  char name[32];
  for (int k = 0; k < 2; k++) {
    snprintf(name, sizeof(name), "%s-%d", k ? "work" : "upper", index);
    if (rm_tree_at(dirfd, name, dev, 0) < 0) logmsg(p, "[%s] could not remove %s/%s: %s", c->name, c->layer_dir, name, strerror(errno));
  }
}

/* Old layers whose namespace is empty now are removed; the others wait (their processes
 * were sent SIGKILL and are on their way out). */
static void sweep(struct pod *p, struct ctr *c, int dirfd, dev_t dev) {
  int kept = 0;
  for (int i = 0; i < c->npending; i++) {
    struct old_layer *o = &c->pending[i];
    if (ns_kill_all(o->nsfd) > 0) {
      c->pending[kept++] = *o;
      continue;
    }
    if (o->nsfd >= 0) close(o->nsfd);
    remove_layer(p, c, dirfd, dev, o->index);
  }
  c->npending = kept;
}

/* Called when a run of the container has ended (or failed to start): what it left in its
 * mount namespace is killed, and its layer is queued for removal. */
void layers_on_end(struct pod *p, struct ctr *c) {
  ctr_cgroup_kill(p, c); /* everything of the run, whatever namespace it moved to */
  int n = ns_kill_all(c->mntns);
  if (n) logmsg(p, "[%s] killed %d process(es) the container left behind", c->name, n);
  if (c->layer_index < 0) return;
  if (c->npending == MAX_PENDING) { /* keep the newest; the teardown removes the rest */
    if (c->pending[0].nsfd >= 0) close(c->pending[0].nsfd);
    memmove(c->pending, c->pending + 1, sizeof(c->pending[0]) * (MAX_PENDING - 1));
    c->npending--;
  }
  c->pending[c->npending].index = c->layer_index;
  c->pending[c->npending].nsfd = c->mntns;
  c->npending++;
  c->mntns = -1;
  c->layer_index = -1;
}

/* Before start N: a fresh upper-N and work-N, named in the plan's rootfs step. */
int layers_prepare(struct pod *p, struct ctr *c, int index) {
  ctr_cgroup_mark(c); /* the OOM kills so far: a new one during this run is its end */
  if (!c->upper_node || !c->layer_dir) return 0; /* no overlay (a rootfs bind) */
  dev_t dev;
  int dirfd = open_layer_dir(p, c, &dev);
  if (dirfd < 0) return -1;
  sweep(p, c, dirfd, dev);
  remove_layer(p, c, dirfd, dev, index); /* a leftover of an earlier supervisor, if any */
  char name[32];
  int rc = 0;
  for (int k = 0; k < 2 && rc == 0; k++) {
    snprintf(name, sizeof(name), "%s-%d", k ? "work" : "upper", index);
    if (mkdirat(dirfd, name, 0755) < 0) rc = -1;
    /* With a user namespace, the upper's root is the container root's (the overlay's own
     * root directory is the upper's): an empty directory, not a chown of the image. */
    else if (k == 0 && c->layer_uid > 0 && fchownat(dirfd, name, (uid_t)c->layer_uid, (gid_t)c->layer_gid, AT_SYMLINK_NOFOLLOW) < 0) rc = -1;
  }
  close(dirfd);
  if (rc < 0) return -1;
  snprintf(c->upper_path, sizeof(c->upper_path), "%s/upper-%d", c->layer_dir, index);
  snprintf(c->work_path, sizeof(c->work_path), "%s/work-%d", c->layer_dir, index);
  c->upper_node->str = c->upper_path;
  c->upper_node->len = strlen(c->upper_path);
  c->work_node->str = c->work_path;
  c->work_node->len = strlen(c->work_path);
  c->layer_index = index;
  return 0;
}
