/* Internal to the executor's child side (child.c, mounts.c): the walk state, the error
 * reporting every step uses, and string helpers that need no libc (see child.c). */
#ifndef MP_CHILD_H
#define MP_CHILD_H

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

static inline size_t xlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

static inline void xcopy(void *dst, const void *src, size_t n) {
  volatile char *d = dst; /* volatile: keep the compiler from turning this into memcpy() */
  const char *s = src;
  while (n--) *d++ = *s++;
}

static inline void xzero(void *dst, size_t n) {
  volatile char *d = dst;
  while (n--) *d++ = 0;
}

static inline const char *xchr(const char *s, char c) {
  for (; *s; s++)
    if (*s == c) return s;
  return NULL;
}

static inline char *xrchr(char *s, char c) {
  char *last = NULL;
  for (; *s; s++)
    if (*s == c) last = s;
  return last;
}

static inline int xneq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (a[i] != b[i]) return 1;
    if (!a[i]) return 0;
  }
  return 0;
}

static inline void cpy(char *dst, size_t cap, const char *src) {
  size_t n = src ? xlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) xcopy(dst, src, n);
  dst[n] = 0;
}

static inline void cat(char *dst, size_t cap, const char *src) {
  size_t have = xlen(dst);
  if (have < cap) cpy(dst + have, cap - have, src);
}

static inline void cat_int(char *dst, size_t cap, long v) {
  char b[24];
  int i = (int)sizeof(b) - 1, neg = v < 0;
  unsigned long u = neg ? (unsigned long)-v : (unsigned long)v;
  b[i] = 0;
  do { b[--i] = (char)('0' + u % 10); u /= 10; } while (u && i > 1);
  if (neg) b[--i] = '-';
  cat(dst, cap, b + i);
}

/* ---- the walk and its errors ---- */

/* Per-stage state; lives on the stage's own stack (the two stages share memory with each
 * other, CLONE_VM, never with the spawner). */
struct walk {
  struct mp_child *c;
  int errfd;       /* this process's copy of the error pipe */
  char step[96];
  int rootfd;      /* the new root while mounting; -1 before the rootfs step */
};

void mp_set_step(struct walk *w, const char *what, int idx, const char *name);
/* start-hooks.c: reads the state start sent through the gate, runs the plan's startContainer hooks. */
void mp_start_hooks(struct walk *w, int syncfd);
void mp_report(struct walk *w, const char *sys, long neg_errno, const char *path, const char *dest, const char *detail);
__attribute__((noreturn)) void mp_die(struct walk *w, const char *sys, long neg_errno, const char *path, const char *dest);

#define CHECK(w, call, sys, path, dest)                          \
  ({                                                             \
    long _r = (call);                                            \
    if (_r < 0) mp_die((w), (sys), _r, (path), (dest));             \
    _r;                                                          \
  })

/* mounts.c: the plan's mount steps, in order, ending with pivot_root. */
void mp_do_mounts(struct walk *w);

#endif
