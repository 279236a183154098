// config.json -> the executor's plan, without root: namespaces, mounts and their options,
// devices, the five capability sets, rlimits, sysctls, seccomp, cgroup paths and writes,
// and what is refused (naming the field) rather than run with less confinement.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { cgroupPathOf, resourceWrites } from '../../src/oci/cgroups.ts';
import type { OciConfig } from '../../src/oci/config.ts';
import { translate } from '../../src/oci/translate.ts';
import type { MountOp } from '../../src/plan/types.ts';

const v1 = { version: 1 as const, mounts: { cpu: '/sys/fs/cgroup/cpu', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids', devices: '/sys/fs/cgroup/devices' } };
const v2 = { version: 2 as const, mount: '/sys/fs/cgroup' };

function config(extra: Partial<OciConfig> = {}, linux: Record<string, unknown> = {}): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 1000, gid: 1000, additionalGids: [5, 5, 10] }, args: ['sh'], env: ['PATH=/bin'], cwd: '/', capabilities: { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL', 'CAP_CHOWN'] }, rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 512 }], noNewPrivileges: true },
    root: { path: 'rootfs', readonly: true },
    hostname: 'h',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'rprivate'] },
    ],
    linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/x' }, { type: 'mount' }, { type: 'uts' }], sysctl: { 'net.ipv4.ip_forward': '1' }, maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'], ...linux },
    ...extra,
  } as OciConfig;
}
const plan = (c: OciConfig) => translate({ config: c, bundle: '/b', cgroupDirs: ['/sys/fs/cgroup/cpu/x'], layout: v1, lsms: ['capability'], id: 'x' });

test('namespaces: created, or joined by path; the rootfs is the bundle\'s, bound over itself and pivoted into', () => {
  const p = plan(config());
  assert.deepEqual(p.namespaces, [{ type: 'pid', action: 'create' }, { type: 'net', action: 'join', path: '/var/run/netns/x' }, { type: 'mnt', action: 'create' }, { type: 'uts', action: 'create' }]);
  assert.deepEqual(p.mounts.slice(0, 2), [{ op: 'propagation', mode: 'rprivate' }, { op: 'rootfs', kind: 'bind', source: '/b/rootfs', target: '/b/rootfs', readOnly: true }]);
  assert.deepEqual(p.mounts.at(-1), { op: 'pivot' });
  assert.equal(p.hostname, 'h');
  assert.deepEqual(p.cgroups, ['/sys/fs/cgroup/cpu/x']);
});

test('mount options: flags, fs options and binds (rbind, ro); the default devices and links on an empty /dev; masks and read-only paths', () => {
  const m = plan(config()).mounts;
  const find = (dst: string) => m.filter((x) => 'dst' in x && x.dst === dst);
  assert.deepEqual(find('/dev')[0], { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dst: '/dev', flags: ['nosuid'], options: { mode: '755', size: '65536k' } });
  assert.deepEqual(find('/data')[0], { op: 'bind', source: '/b/data', dst: '/data', readOnly: true, recursive: true, flags: ['nosuid'] });
  assert.equal((find('/dev/null')[0] as Extract<MountOp, { op: 'bind' }>).source, '/dev/null');
  assert.deepEqual(find('/dev/ptmx')[0], { op: 'symlink', target: 'pts/ptmx', dst: '/dev/ptmx' });
  assert.ok(m.some((x) => x.op === 'mask' && x.dst === '/proc/kcore'));
  assert.ok(m.some((x) => x.op === 'readonly' && x.dst === '/proc/sys'));
});

test('the process: user and its additional gids, the five capability sets as the kernel allows them, rlimits, sysctls, no_new_privs', () => {
  const p = plan(config());
  assert.deepEqual(p.user, { uid: 1000, gid: 1000, groups: [5, 10] });
  assert.deepEqual(p.capabilitySets, { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL', 'CAP_CHOWN'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] });
  assert.deepEqual(p.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }]);
  assert.deepEqual(p.sysctls, [{ name: 'net.ipv4.ip_forward', value: '1' }]);
  assert.equal(p.noNewPrivileges, true);
});

test('linux.seccomp becomes the executor\'s filter; devices are made with their mode and owner', () => {
  const p = plan(config({}, { seccomp: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }] }, devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }] }));
  assert.deepEqual(p.seccomp, { profile: 'config.json', defaultAction: { action: 'errno', errno: 1 }, rules: [{ names: ['read', 'write'], action: { action: 'allow' } }] });
  assert.ok(p.mounts.some((m) => m.op === 'mknod' && m.dst === '/dev/fuse' && m.major === 10 && m.minor === 229 && m.mode === 0o666));
});

test('refused, naming the field: a user namespace, no mount namespace, a hostname without a uts namespace, an unknown capability, AppArmor on a host without it', () => {
  assert.throws(() => plan(config({}, { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] })), /linux\.uidMappings: user namespaces in an OCI config are not supported yet/);
  assert.throws(() => plan(config({}, { namespaces: [{ type: 'pid' }] })), /linux\.namespaces: minipod-oci runs a container only in a mount namespace of its own/);
  assert.throws(() => plan(config({}, { namespaces: [{ type: 'mount' }] })), /hostname: needs a uts namespace/);
  assert.throws(() => plan(config({ process: { ...config().process!, capabilities: { bounding: ['CAP_FLY'] } } })), /unknown capability "CAP_FLY"/);
  assert.throws(() => plan(config({ process: { ...config().process!, apparmorProfile: 'docker-default' } })), /process\.apparmorProfile: "docker-default": this host has no AppArmor/);
  assert.throws(() => plan(config({ ociVersion: '0.9' })), /ociVersion/);
  assert.throws(() => plan(config({ mounts: [{ destination: 'relative', type: 'tmpfs' }] })), /mounts\[0\]\.destination: "relative" must be an absolute path/);
});

test('cgroups: the path (cgroupsPath, relative ones under /minipod-oci, systemd refused) and what is written for v1 and v2', () => {
  assert.equal(cgroupPathOf('/k8s.io/abc', 'abc', false), '/k8s.io/abc');
  assert.equal(cgroupPathOf(undefined, 'abc', false), '/minipod-oci/abc');
  assert.equal(cgroupPathOf('sub/x', 'abc', false), '/minipod-oci/sub/x');
  assert.throws(() => cgroupPathOf('system.slice:cri:abc', 'abc', false), /systemd cgroup driver is not supported/);
  assert.throws(() => cgroupPathOf('/a/../..', 'abc', false), /below the root/);
  const r = { cpu: { shares: 1024, quota: 50000, period: 100000 }, memory: { limit: 1 << 26 }, pids: { limit: 10 }, devices: [{ allow: false, access: 'rwm' }] };
  assert.deepEqual(resourceWrites(v1, r).map((w) => `${w.file}=${w.value}`).slice(0, 6), ['cpu.shares=1024', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'memory.limit_in_bytes=67108864', 'pids.max=10', 'devices.deny=a']);
  assert.ok(resourceWrites(v1, r).some((w) => w.file === 'devices.allow' && w.value === 'c 1:3 rwm'), 'the standard nodes stay allowed after a deny-all');
  assert.deepEqual(resourceWrites(v2, { cpu: { shares: 1024, quota: 50000, period: 100000 }, memory: { limit: 1 << 26 } }).map((w) => `${w.file}=${w.value}`), ['cpu.weight=39', 'cpu.max=50000 100000', 'memory.max=67108864']);
});

