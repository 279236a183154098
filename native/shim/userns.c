/* The pod's user namespace (spec.hostUsers: false), made before pause starts.
 *
 * The plan says the mappings (userNamespace.uidMap / gidMap: the ids TypeScript leased for
 * the pod, never another pod's). A user namespace only exists through a process or an fd,
 * so the supervisor makes one with a throwaway child: fork, the child unshares
 * CLONE_NEWUSER and waits, we write its uid_map and gid_map (as host root: setgroups stays
 * allowed inside), open its /proc/PID/ns/user and kill it. The child is ours and unreaped
 * until then, so its pid cannot name anyone else. The fd is the namespace from then on:
 * pause joins it by that fd ("@pod/user"), containers join it and idmap their layers and
 * volumes with it, for the pod's whole life. Nothing of it is on the host to undo.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"

/* "0 268435456 65536\n..." from [{containerID, hostID, size}], at most 5 lines (the kernel's
 * limit without an extent list is 5 too; one is what minipod writes). */
static int map_text(const struct mp_json *m, char *buf, size_t n, char *err, size_t en) {
  size_t at = 0;
  int lines = 0;
  if (!m || m->type != MP_JARR || !m->len || m->len > 5) return snprintf(err, en, "userNamespace needs 1 to 5 mappings"), -1;
  for (const struct mp_json *e = m->child; e; e = e->next, lines++) {
    double in = mp_json_num(e, "containerID", -1), out = mp_json_num(e, "hostID", -1), size = mp_json_num(e, "size", -1);
    if (in < 0 || out < 1 || size < 1 || in + size > 4294967295.0 || out + size > 4294967295.0 || in != (double)(long long)in ||
        out != (double)(long long)out || size != (double)(long long)size)
      return snprintf(err, en, "userNamespace: a mapping needs whole containerID >= 0, hostID >= 1 and size >= 1"), -1;
    int k = snprintf(buf + at, n - at, "%.0f %.0f %.0f\n", in, out, size);
    if (k < 0 || (size_t)k >= n - at) return snprintf(err, en, "userNamespace: mappings too long"), -1;
    at += (size_t)k;
  }
  return (int)at;
}

static int write_file(const char *path, const char *text, int len) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t w = write(fd, text, (size_t)len);
  int e = errno;
  close(fd);
  errno = e;
  return w == len ? 0 : -1;
}

int userns_make(const struct mp_json *spec, char *err, size_t en) {
  char uids[256], gids[256];
  int nu = map_text(mp_json_get(spec, "uidMap"), uids, sizeof uids, err, en);
  if (nu < 0) return -1;
  int ng = map_text(mp_json_get(spec, "gidMap"), gids, sizeof gids, err, en);
  if (ng < 0) return -1;
  int ready[2], hold[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return snprintf(err, en, "pipe2: %s", strerror(errno)), -1;
  if (pipe2(hold, O_CLOEXEC) < 0) {
    close(ready[0]);
    close(ready[1]);
    return snprintf(err, en, "pipe2: %s", strerror(errno)), -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    char r = unshare(CLONE_NEWUSER) == 0 ? 'u' : 'e';
    if (write(ready[1], &r, 1) != 1) _exit(1);
    char x;
    (void)read(hold[0], &x, 1); /* until the parent has the namespace (or is gone) */
    _exit(0);
  }
  close(ready[1]);
  close(hold[0]);
  int fd = -1, rc = -1;
  char r = 0, path[64];
  if (pid < 0) {
    snprintf(err, en, "fork: %s", strerror(errno));
  } else if (read(ready[0], &r, 1) != 1 || r != 'u') {
    snprintf(err, en, "unshare(CLONE_NEWUSER): %s", r == 'e' ? "refused (is /proc/sys/user/max_user_namespaces 0?)" : "the child died");
  } else {
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    if (write_file(path, uids, nu) < 0) {
      snprintf(err, en, "write %s: %s", path, strerror(errno));
    } else {
      snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
      if (write_file(path, gids, ng) < 0) {
        snprintf(err, en, "write %s: %s", path, strerror(errno));
      } else {
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) snprintf(err, en, "open %s: %s", path, strerror(errno));
        else rc = 0;
      }
    }
  }
  close(ready[0]);
  close(hold[1]); /* the child's read returns: it exits */
  if (pid > 0) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
  }
  return rc == 0 ? fd : -1;
}
