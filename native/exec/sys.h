/* Raw system calls for the child side of a spawn.
 *
 * The child runs with CLONE_VM on its own small stack while the spawning thread is
 * suspended (vfork semantics). It shares memory with a multithreaded parent (Node), so it
 * must not take libc locks (malloc, stdio) and must not write errno: errno lives in the
 * parent thread's TLS. These wrappers return -errno instead, like the kernel does, and
 * touch nothing but registers. x86_64 and aarch64 only.
 */
#ifndef MP_SYS_H
#define MP_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
static inline long mp_sys6(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#elif defined(__aarch64__)
static inline long mp_sys6(long n, long a, long b, long c, long d, long e, long f) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
}
#else
#error "minipod's executor supports x86_64 and aarch64"
#endif

#define MP_SYS0(n) mp_sys6((n), 0, 0, 0, 0, 0, 0)
#define MP_SYS1(n, a) mp_sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define MP_SYS2(n, a, b) mp_sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define MP_SYS3(n, a, b, c) mp_sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define MP_SYS4(n, a, b, c, d) mp_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define MP_SYS5(n, a, b, c, d, e) mp_sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* Numbers that older libc headers may lack; identical on x86_64 and aarch64
 * (all of them were added after the syscall tables were unified). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_fsconfig
#define SYS_fsconfig 431
#endif
#ifndef SYS_fsmount
#define SYS_fsmount 432
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

/* linux/mount.h and linux/openat2.h values, spelled out so that we do not have to mix
 * kernel and libc headers (glibc 2.36's <sys/mount.h> clashes with <linux/mount.h>). */
#define MP_OPEN_TREE_CLONE 1
#define MP_AT_RECURSIVE 0x8000
#define MP_AT_EMPTY_PATH 0x1000
#define MP_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define MP_MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#define MP_FSOPEN_CLOEXEC 0x1
#define MP_FSMOUNT_CLOEXEC 0x1
#define MP_FSCONFIG_SET_FLAG 0
#define MP_FSCONFIG_SET_STRING 1
#define MP_FSCONFIG_CMD_CREATE 6
#define MP_MOUNT_ATTR_RDONLY 0x1
#define MP_MOUNT_ATTR_NOSUID 0x2
#define MP_MOUNT_ATTR_NODEV 0x4
#define MP_MOUNT_ATTR_NOEXEC 0x8
#define MP_MOUNT_ATTR_NOATIME 0x10
#define MP_MOUNT_ATTR_IDMAP 0x00100000
#define MP_RESOLVE_NO_XDEV 0x01
#define MP_RESOLVE_NO_MAGICLINKS 0x02
#define MP_RESOLVE_NO_SYMLINKS 0x04
#define MP_RESOLVE_BENEATH 0x08
#define MP_RESOLVE_IN_ROOT 0x10
#define MP_CLOSE_RANGE_CLOEXEC (1U << 2)

struct mp_open_how {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};

struct mp_mount_attr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};

#endif
