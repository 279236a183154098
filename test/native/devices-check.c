/* The cgroup v2 device program (native/shim/devices.c) on a real cgroup2 hierarchy, as
 * root: devices-check CGROUP2_DIR NODE_DIR MAJOR MINOR
 *
 * Makes CGROUP2_DIR, attaches the default allow list (the plan's), and runs a child in it
 * that opens /dev/null (allowed: c 1:3), makes block node MAJOR:MINOR (a host disk) and the
 * char node 1:11 (kmsg, not in the list) in NODE_DIR (a filesystem without nodev: only the
 * program can refuse them) and tries to open them. Prints one line per check, then the
 * cgroup is removed. Exit 0 when every check came out as the list says. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../native/shim/shim.h"

void logmsg(struct pod *p, const char *fmt, ...) { (void)p; (void)fmt; }

static const char *rules_json = "[\"c *:* m\",\"b *:* m\",\"c 1:3 rwm\",\"c 1:5 rwm\",\"c 1:7 rwm\",\"c 1:8 rwm\",\"c 1:9 rwm\",\"c 5:0 rwm\",\"c 5:1 rwm\",\"c 5:2 rwm\",\"c 136:* rwm\"]";

int main(int argc, char **argv) {
  if (argc != 5) return 2;
  const char *dir = argv[1], *nodes = argv[2];
  unsigned maj = (unsigned)atoi(argv[3]), min = (unsigned)atoi(argv[4]);
  if (mkdir(dir, 0755) < 0) { perror("mkdir"); return 2; }
  struct mp_arena a = {0};
  char err[512];
  struct mp_json *rules = mp_json_parse(&a, rules_json, strlen(rules_json), err, sizeof err);
  int rc = 1;
  if (cgroup_devices_attach(dir, rules, err, sizeof err) < 0) {
    printf("attach failed: %s\n", err);
    goto out;
  }
  pid_t pid = fork();
  if (pid == 0) {
    char procs[4200];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    int fd = open(procs, O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(10);
    close(fd);
    int bad = 0;
    fd = open("/dev/null", O_RDWR);
    printf("open /dev/null: %s\n", fd >= 0 ? "ok" : strerror(errno));
    if (fd < 0) bad = 1; else close(fd);
    char disk[4200], kmsg[4200];
    snprintf(disk, sizeof disk, "%s/disk", nodes);
    snprintf(kmsg, sizeof kmsg, "%s/kmsg", nodes);
    int m1 = mknod(disk, S_IFBLK | 0600, makedev(maj, min)), m2 = mknod(kmsg, S_IFCHR | 0600, makedev(1, 11));
    printf("mknod: %s %s\n", m1 == 0 ? "ok" : strerror(errno), m2 == 0 ? "ok" : strerror(errno));
    if (m1 || m2) bad = 1;
    fd = open(disk, O_RDONLY);
    printf("open the disk node: %s\n", fd >= 0 ? "opened" : strerror(errno));
    if (fd >= 0 || errno != EPERM) bad = 1;
    if (fd >= 0) close(fd);
    fd = open(kmsg, O_RDONLY);
    printf("open the kmsg node: %s\n", fd >= 0 ? "opened" : strerror(errno));
    if (fd >= 0 || errno != EPERM) bad = 1;
    if (fd >= 0) close(fd);
    fflush(stdout);
    _exit(bad);
  }
  int st;
  waitpid(pid, &st, 0);
  rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
out:
  rmdir(dir);
  mp_arena_free(&a);
  return rc;
}
