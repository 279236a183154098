// The fixed parts of every container's plan, in one place: what a container gets that its
// manifest does not say. These follow what Kubernetes users get from containerd/runc, so
// images behave the same under minipod.

import type { MountOp } from './types.ts';

/**
 * The default capability set of an unprivileged container: podman 4's, which is
 * containerd's and Docker's without CAP_MKNOD, CAP_NET_RAW and CAP_AUDIT_WRITE. Without a
 * device cgroup (the resource-limits work brings one) CAP_MKNOD would let a root container
 * make and open host devices; NET_RAW allows forged packets (ARP/ICMP spoofing on the pod
 * bridge). A manifest that needs them adds them (securityContext.capabilities.add); every
 * path a container can write is mounted nodev, so an added CAP_MKNOD still opens nothing.
 */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
] as const;

export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Kubernetes' default /dev/shm size. */
export const SHM_SIZE = '64m';

/** Paths hidden from unprivileged containers (runc/containerd's defaults). */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The device nodes every container gets, bound from the host's /dev one by one. */
export const DEVICE_NODES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'] as const;

/**
 * proc, sysfs and a fresh /dev, in the order they are mounted. /dev is a small tmpfs with
 * only the nodes a container needs (never the host's /dev), its own devpts instance, the
 * pod's mqueue (it belongs to the pod's IPC namespace) and the pod's shared /dev/shm.
 *
 * The /dev tmpfs is nodev, like every other path a container can write: a node made there
 * (CAP_MKNOD added) cannot be opened. The six nodes it needs are each a bind of the host's
 * node (as rootless runc and podman do), which carries a mount of its own.
 */
export function systemMounts(shmDir: string, privileged: boolean): MountOp[] {
  return [
    { op: 'mount', fstype: 'proc', source: 'proc', dst: '/proc', flags: ['nosuid', 'nodev', 'noexec'] },
    { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dst: '/dev', flags: privileged ? ['nosuid'] : ['nosuid', 'nodev'], options: { mode: '755', size: '65536k' } },
    ...DEVICE_NODES.map((name): MountOp => ({ op: 'bind', source: `/dev/${name}`, dst: `/dev/${name}`, readOnly: false, recursive: false, flags: ['nosuid', 'noexec'] })),
    { op: 'symlink', target: '/proc/self/fd', dst: '/dev/fd' },
    { op: 'symlink', target: '/proc/self/fd/0', dst: '/dev/stdin' },
    { op: 'symlink', target: '/proc/self/fd/1', dst: '/dev/stdout' },
    { op: 'symlink', target: '/proc/self/fd/2', dst: '/dev/stderr' },
    {
      op: 'mount',
      fstype: 'devpts',
      source: 'devpts',
      dst: '/dev/pts',
      flags: ['nosuid', 'noexec'],
      options: { newinstance: true, ptmxmode: '0666', mode: '0620', gid: '5' },
    },
    { op: 'symlink', target: 'pts/ptmx', dst: '/dev/ptmx' },
    { op: 'mount', fstype: 'mqueue', source: 'mqueue', dst: '/dev/mqueue', flags: ['nosuid', 'nodev', 'noexec'] },
    { op: 'bind', source: shmDir, dst: '/dev/shm', readOnly: false, recursive: false, flags: ['nosuid', 'nodev', 'noexec'] },
    {
      op: 'mount',
      fstype: 'sysfs',
      source: 'sysfs',
      dst: '/sys',
      flags: privileged ? ['nosuid', 'nodev', 'noexec'] : ['ro', 'nosuid', 'nodev', 'noexec'],
    },
  ];
}

export function protectionMounts(privileged: boolean): MountOp[] {
  if (privileged) return [];
  return [
    ...MASKED_PATHS.map((dst): MountOp => ({ op: 'mask', dst })),
    ...READONLY_PATHS.map((dst): MountOp => ({ op: 'readonly', dst })),
  ];
}
