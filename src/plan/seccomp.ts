// seccompProfile as plan data: which system calls a container's processes may make.
//
//   Unconfined      no filter (Kubernetes' default; --seccomp-default makes RuntimeDefault it)
//   RuntimeDefault  minipod's default profile, in the spirit of moby's and containerd's: an
//                   allowlist of the system calls ordinary programs make; everything else
//                   fails with EPERM — the calls that reach the host's kernel state (modules,
//                   keyrings, kexec, mount, namespaces, ptrace, clock, reboot, BPF, perf...)
//                   unless the container holds the capability that would allow them anyway;
//                   clone3 fails with ENOSYS, so that libc falls back to clone, whose flags
//                   can be checked (no new namespace without CAP_SYS_ADMIN)
//   Localhost       a profile file in the OCI / docker seccomp JSON format, from
//                   <state root lib>/seccomp/<localhostProfile> (the kubelet's is
//                   /var/lib/kubelet/seccomp)
//
// The native side (native/exec/seccomp.c) compiles the plan with libseccomp in the spawner,
// names it does not know on this architecture skipped, and the child installs it as the
// last step before execve (right after no_new_privs; without no_new_privs, while it still
// holds CAP_SYS_ADMIN, before it drops its privileges). Exec'd processes get the same.

import { readFileSync } from 'node:fs';
import path from 'node:path';

import { FieldError } from '../errors.ts';

export type SeccompAction = { action: 'allow' } | { action: 'errno'; errno: number } | { action: 'kill' } | { action: 'log' };
export interface SeccompArg {
  index: number;
  op: 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'masked_eq';
  value: number;
  valueTwo?: number;
}
export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  args?: SeccompArg[];
}
export interface SeccompPlan {
  /** What the profile is, for `minipod plan` and inspect. */
  profile: string;
  defaultAction: SeccompAction;
  rules: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** What every container may call (x86_64 and arm64 names; names an architecture lacks are skipped). */
export const ALLOWED = `
accept accept4 access alarm arch_prctl bind brk cachestat capget capset chdir chmod chown chown32 clock_getres
clock_getres_time64 clock_gettime clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect
copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2
epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64
fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat getcpu getcwd
getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 getitimer
getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32
getrlimit get_robust_list getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid
getuid32 getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy
io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr
_llseek lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret
mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv
msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause
pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64
preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr rename
renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo
rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler sched_rr_get_interval
sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp
select semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto
setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 sethostname setdomainname
setitimer setpgid setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat shmctl
shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socket socketcall socketpair splice
stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time
timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create
timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit
umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
`.trim().split(/\s+/);

/** Denied (EPERM) unless the container holds the capability that would let it do this anyway. */
export const BY_CAPABILITY: Record<string, string[]> = {
  CAP_SYS_ADMIN: ['bpf', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount', 'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'pivot_root', 'quotactl', 'quotactl_fd', 'setns', 'syslog', 'umount', 'umount2', 'unshare'],
  CAP_SYS_PTRACE: ['kcmp', 'pidfd_getfd', 'process_vm_readv', 'process_vm_writev', 'ptrace'],
  CAP_SYS_MODULE: ['delete_module', 'finit_module', 'init_module'],
  CAP_SYS_TIME: ['adjtimex', 'clock_adjtime', 'clock_adjtime64', 'clock_settime', 'clock_settime64', 'settimeofday', 'stime'],
  CAP_SYS_BOOT: ['reboot'],
  CAP_SYS_RAWIO: ['ioperm', 'iopl'],
  CAP_SYS_NICE: ['get_mempolicy', 'mbind', 'migrate_pages', 'move_pages', 'set_mempolicy', 'set_mempolicy_home_node'],
  CAP_SYS_PACCT: ['acct'],
  CAP_SYSLOG: ['syslog'],
  CAP_DAC_READ_SEARCH: ['open_by_handle_at'],
  CAP_BPF: ['bpf'],
  CAP_PERFMON: ['perf_event_open'],
};

/** Never allowed: the host's kernel state, with no capability a container should hold for it. */
export const DENIED = ['add_key', 'keyctl', 'request_key', 'kexec_file_load', 'kexec_load', 'nfsservctl', 'create_module', 'get_kernel_syms', 'query_module', 'uselib', 'userfaultfd', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old', 'swapon', 'swapoff'];

/** clone's namespace flags: a new namespace needs CAP_SYS_ADMIN (the unshare family is denied the same way). */
const CLONE_NS = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;

/** personality(2) values moby lets through: the default, and the 32-bit/read-implies-exec/query ones. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

export function runtimeDefault(capabilities: string[] | null): SeccompPlan {
  const has = (c: string) => capabilities === null || capabilities.includes(c);
  const allowed = new Set(ALLOWED);
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (has(cap)) for (const n of names) allowed.add(n);
  for (const n of DENIED) allowed.delete(n);
  const rules: SeccompRule[] = [
    { names: [...allowed].sort(), action: { action: 'allow' } },
    // personality(2): only the values moby lets through; others fall to EPERM.
    ...PERSONALITIES.map((v): SeccompRule => ({ names: ['personality'], action: { action: 'allow' }, args: [{ index: 0, op: 'eq', value: v }] })),
  ];
  if (has('CAP_SYS_ADMIN')) rules.push({ names: ['clone'], action: { action: 'allow' } });
  else {
    // clone without a namespace flag (x86_64 and arm64 take the flags first); with one: EPERM.
    rules.push({ names: ['clone'], action: { action: 'allow' }, args: [{ index: 0, op: 'masked_eq', value: CLONE_NS, valueTwo: 0 }] });
    rules.push({ names: ['clone3'], action: { action: 'errno', errno: ENOSYS } });
  }
  return { profile: 'RuntimeDefault', defaultAction: { action: 'errno', errno: EPERM }, rules };
}

const ACTIONS: Record<string, (errno?: number) => SeccompAction> = {
  SCMP_ACT_ALLOW: () => ({ action: 'allow' }),
  SCMP_ACT_ERRNO: (e) => ({ action: 'errno', errno: e ?? EPERM }),
  SCMP_ACT_KILL: () => ({ action: 'kill' }),
  SCMP_ACT_KILL_PROCESS: () => ({ action: 'kill' }),
  SCMP_ACT_KILL_THREAD: () => ({ action: 'kill' }),
  SCMP_ACT_LOG: () => ({ action: 'log' }),
};
const OPS: Record<string, SeccompArg['op']> = {
  SCMP_CMP_EQ: 'eq', SCMP_CMP_NE: 'ne', SCMP_CMP_LT: 'lt', SCMP_CMP_LE: 'le', SCMP_CMP_GT: 'gt', SCMP_CMP_GE: 'ge', SCMP_CMP_MASKED_EQ: 'masked_eq',
};

export interface OciProfile {
  defaultAction?: string;
  defaultErrnoRet?: number;
  syscalls?: { names?: string[]; name?: string; action?: string; errnoRet?: number; args?: { index?: number; value?: number; valueTwo?: number; op?: string }[]; includes?: object; excludes?: object }[];
}

/** A Localhost profile (OCI / docker seccomp JSON), from dir; field names the manifest's seccompProfile. */
export function localhostProfile(dir: string, name: string | undefined, field: string): SeccompPlan {
  if (!name || path.isAbsolute(name) || name.split('/').includes('..')) throw new FieldError(`${field}.localhostProfile`, `a Localhost profile needs a path relative to ${dir}, without ".."`);
  const file = path.join(dir, name);
  let p: OciProfile;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as OciProfile;
  } catch (e) {
    throw new FieldError(`${field}.localhostProfile`, `${file}: ${(e as Error).message}`);
  }
  return ociSeccomp(p, `Localhost ${name}`, (msg) => {
    throw new FieldError(`${field}.localhostProfile`, `${file}: ${msg}`);
  });
}

/** A filter in the OCI / docker seccomp JSON format (a Localhost profile, an OCI config's linux.seccomp). */
export function ociSeccomp(p: OciProfile, profile: string, fail: (msg: string) => never): SeccompPlan {
  const action = (a: string | undefined, errno: number | undefined, where: string): SeccompAction => {
    const f = a ? ACTIONS[a] : undefined;
    if (!f) fail(`${where}: action ${JSON.stringify(a)} is not one of ${Object.keys(ACTIONS).join(', ')}`);
    return f!(errno);
  };
  const rules = (p.syscalls ?? []).map((s, i): SeccompRule => {
    const where = `syscalls[${i}]`;
    if (s.includes || s.excludes) fail(`${where}: includes/excludes are not supported; write the rules the container gets`);
    const names = s.names ?? (s.name ? [s.name] : []);
    if (!names.length || !names.every((n) => typeof n === 'string' && /^[a-z0-9_]+$/.test(n))) fail(`${where}: needs names of system calls`);
    const args = (s.args ?? []).map((a, k): SeccompArg => {
      const op = a.op ? OPS[a.op] : undefined;
      if (!op || !Number.isInteger(a.index) || a.index! < 0 || a.index! > 5 || typeof a.value !== 'number') fail(`${where}.args[${k}]: needs index 0..5, value and op (${Object.keys(OPS).join(', ')})`);
      return { index: a.index!, op: op!, value: a.value!, ...(a.valueTwo !== undefined ? { valueTwo: a.valueTwo } : {}) };
    });
    return { names, action: action(s.action, s.errnoRet, where), ...(args.length ? { args } : {}) };
  });
  return { profile, defaultAction: action(p.defaultAction, p.defaultErrnoRet, 'defaultAction'), rules };
}

export interface SeccompChoice {
  /** --seccomp-default: RuntimeDefault when the manifest says nothing (the kubelet's flag). */
  seccompDefault: boolean;
  /** Where Localhost profiles are. */
  profileDir: string;
}

/** The container's filter: its own seccompProfile, else the pod's, else the default. undefined: Unconfined. */
export function seccompFor(
  pod: { spec: { securityContext?: { seccompProfile?: { type: string; localhostProfile?: string } } } },
  container: { securityContext?: { seccompProfile?: { type: string; localhostProfile?: string }; privileged?: boolean } },
  field: string,
  capabilities: string[] | null,
  o: SeccompChoice,
): SeccompPlan | undefined {
  const own = container.securityContext?.seccompProfile;
  const sp = own ?? pod.spec.securityContext?.seccompProfile;
  const where = own ? `${field}.securityContext.seccompProfile` : 'spec.securityContext.seccompProfile';
  if (container.securityContext?.privileged && !own) return undefined; // privileged: unconfined unless asked, as containerd does
  const type = sp?.type ?? (o.seccompDefault ? 'RuntimeDefault' : 'Unconfined');
  if (type === 'Unconfined') return undefined;
  if (type === 'RuntimeDefault') return runtimeDefault(capabilities);
  if (type === 'Localhost') return localhostProfile(o.profileDir, sp?.localhostProfile, where);
  throw new FieldError(`${where}.type`, `"${type}" is not one of RuntimeDefault, Localhost, Unconfined`);
}
