// config.json -> the executor's plan, without root, through `minipod-oci plan` (what create
// would run; nothing is made): namespaces, mounts and their options, devices, the five
// capability sets, rlimits, sysctls, seccomp, cgroup paths and writes on v1 and v2 (from a
// mountinfo given to it), and what is refused (naming the field) rather than run with less
// confinement.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { systemMounts } from '../../src/plan/defaults.ts';
import type { MountOp, ProcessPlan } from '../../src/plan/types.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(repo, 'build', 'Release', 'minipod-oci');
const work = mkdtempSync(path.join(os.tmpdir(), 'minipod-oci-plan-'));
after(() => rmSync(work, { recursive: true, force: true }));

// Two hosts' cgroup mounts, as /proc/self/mountinfo shows them.
const mountinfo = {
  v1: [
    '30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpu,cpuacct',
    '31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,memory',
    '32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,pids',
    '33 25 0:29 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,devices',
    '35 25 0:31 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,cpuset',
    '36 25 0:32 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,hugetlb',
    '37 25 0:33 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,net_cls,net_prio',
    '34 25 0:30 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw',
  ].join('\n'),
  v2: '30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate',
};
for (const [k, v] of Object.entries(mountinfo)) writeFileSync(path.join(work, `mountinfo-${k}`), v + '\n');

interface OciConfig {
  ociVersion: string;
  process?: Record<string, unknown> & { capabilities?: Record<string, string[]> };
  [k: string]: unknown;
}

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
interface Planned {
  plan: ProcessPlan;
  cgroup?: { path: string; writes: { controller: string; file: string; value: string }[] };
}

let n = 0;
/** minipod-oci plan on a bundle with this config; throws the runtime's message when it refuses. */
function planned(c: OciConfig, host: 'v1' | 'v2' = 'v1', lsm = 'capability'): Planned {
  assert.ok(existsSync(bin), `${bin} is missing: build first (npm run build)`);
  const bundle = path.join(work, `b${n++}`);
  spawnSync('mkdir', ['-p', bundle]);
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c));
  const r = spawnSync(bin, ['plan', '--bundle', bundle, '--mountinfo', path.join(work, `mountinfo-${host}`), '--lsm', lsm, 'x'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return JSON.parse(r.stdout) as Planned;
}
const plan = (c: OciConfig) => planned(c).plan;
const root = () => path.join(work, `b${n - 1}`);

test('namespaces: created, or joined by path; the rootfs is the bundle\'s, bound over itself and pivoted into', () => {
  const p = plan(config());
  assert.deepEqual(p.namespaces, [{ type: 'pid', action: 'create' }, { type: 'net', action: 'join', path: '/var/run/netns/x' }, { type: 'mnt', action: 'create' }, { type: 'uts', action: 'create' }]);
  assert.deepEqual(p.mounts.slice(0, 2), [{ op: 'propagation', mode: 'rprivate' }, { op: 'rootfs', kind: 'bind', source: `${root()}/rootfs`, target: `${root()}/rootfs`, readOnly: true }]);
  assert.deepEqual(p.mounts.at(-1), { op: 'pivot' });
  assert.equal(p.hostname, 'h');
  assert.deepEqual(p.cgroups, ['cpu,cpuacct', 'memory', 'pids', 'devices', 'cpuset', 'hugetlb', 'net_cls,net_prio'].map((h) => `/sys/fs/cgroup/${h}/minipod-oci/x`));
});

test('an empty /dev gets exactly what the pod planner gives a container: the same host nodes bound the same way, the same links (the two planners\' one list, kept in step)', () => {
  const devOps = (ops: MountOp[]) => ops.filter((m) => (m.op === 'bind' && m.source.startsWith('/dev/')) || m.op === 'symlink').map((m) => JSON.stringify(m)).sort();
  assert.deepEqual(devOps(plan(config()).mounts), devOps(systemMounts('/pod/shm', false)));
});

test('mount options: flags, fs options and binds (rbind, ro); the default devices and links on an empty /dev; masks and read-only paths', () => {
  const m = plan(config()).mounts;
  const find = (dst: string) => m.filter((x) => 'dst' in x && x.dst === dst);
  assert.deepEqual(find('/dev')[0], { op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dst: '/dev', flags: ['nosuid'], options: { mode: '755', size: '65536k' } });
  assert.deepEqual(find('/data')[0], { op: 'bind', source: `${root()}/data`, dst: '/data', readOnly: true, recursive: true, flags: ['nosuid'] });
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

test('hooks.startContainer becomes the plan\'s startHooks (the path alone is argv when args are absent); a relative path or a bad timeout is refused, naming the hook', () => {
  const p = plan(config({ hooks: { startContainer: [{ path: '/bin/hook' }, { path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['A=1'], timeout: 5 }], prestart: [{ path: '/usr/bin/x' }] } }));
  assert.deepEqual(p.startHooks, [{ path: '/bin/hook', args: ['/bin/hook'], env: [] }, { path: '/bin/sh', args: ['sh', '-c', 'true'], env: ['A=1'], timeout: 5 }]);
  assert.equal(plan(config({ hooks: { startContainer: [] } })).startHooks, undefined, 'none: no member');
  assert.throws(() => plan(config({ hooks: { startContainer: [{ path: '/bin/a' }, { path: 'bin/hook' }] } })), /hooks\.startContainer\[1\]\.path: must be an absolute path/);
  assert.throws(() => plan(config({ hooks: { startContainer: [{ path: '/bin/a', timeout: 0 }] } })), /hooks\.startContainer\[0\]\.timeout/);
});

test('without a mount namespace: the tree is built in one made for the init alone, which ends in the chroot step (back to the runtime\'s namespace) instead of pivot; a shared root propagation is refused', () => {
  const p = plan(config({ hostname: '' }, { namespaces: [{ type: 'pid' }] }));
  assert.deepEqual(p.namespaces, [{ type: 'pid', action: 'create' }, { type: 'mnt', action: 'create' }]);
  assert.deepEqual([p.mounts[0], p.mounts.at(-1)], [{ op: 'propagation', mode: 'rprivate' }, { op: 'chroot' }]);
  assert.throws(() => plan(config({ hostname: '' }, { namespaces: [{ type: 'pid' }], rootfsPropagation: 'rshared' })), /linux\.rootfsPropagation: "rshared" needs a mount namespace of its own/);
});

test('refused, naming the field: mappings without a user namespace (and one without mappings), a user namespace without a mount namespace, a hostname without a uts namespace, an unknown capability, AppArmor on a host without it', () => {
  assert.throws(() => plan(config({}, { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] })), /linux\.uidMappings: mappings need a user namespace in linux\.namespaces/);
  assert.throws(() => plan(config({}, { namespaces: [{ type: 'mount' }, { type: 'uts' }, { type: 'user' }] })), /a new user namespace needs uidMappings and gidMappings/);
  assert.throws(() => plan(config({ hostname: '' }, { namespaces: [{ type: 'pid' }, { type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] })), /linux\.namespaces: a user namespace needs a mount namespace of its own/);
  assert.throws(() => plan(config({}, { namespaces: [{ type: 'mount' }] })), /hostname: needs a uts namespace/);
  assert.throws(() => plan(config({ process: { ...config().process!, capabilities: { bounding: ['CAP_FLY'] } } })), /unknown capability "CAP_FLY"/);
  assert.throws(() => plan(config({ process: { ...config().process!, apparmorProfile: 'docker-default' } })), /process\.apparmorProfile: "docker-default": this host has no AppArmor/);
  assert.throws(() => plan(config({ ociVersion: '0.9' })), /ociVersion/);
  assert.throws(() => plan(config({ mounts: [{ destination: 'relative', type: 'tmpfs' }] })), /mounts\[0\]\.destination: "relative" must be an absolute path/);
});

test('cgroups: the path (cgroupsPath, relative ones under /minipod-oci, systemd refused) and what is written for v1 and v2', () => {
  const path_ = (cgroupsPath?: string) => planned(config({}, cgroupsPath === undefined ? {} : { cgroupsPath })).cgroup?.path;
  assert.equal(path_('/k8s.io/abc'), '/k8s.io/abc');
  assert.equal(path_(), '/minipod-oci/x');
  assert.equal(path_('sub/x'), '/minipod-oci/sub/x');
  assert.throws(() => path_('system.slice:cri:abc'), /systemd cgroup driver is not supported/);
  assert.throws(() => path_('/a/../..'), /below the root/);
  const resources = { cpu: { shares: 1024, quota: 50000, period: 100000 }, memory: { limit: 1 << 26 }, pids: { limit: 10 }, devices: [{ allow: false, access: 'rwm' }] };
  const v1 = planned(config({}, { resources })).cgroup!.writes;
  assert.deepEqual(v1.map((w) => `${w.file}=${w.value}`).slice(0, 6), ['cpu.shares=1024', 'cpu.cfs_period_us=100000', 'cpu.cfs_quota_us=50000', 'memory.limit_in_bytes=67108864', 'pids.max=10', 'devices.deny=a']);
  assert.ok(v1.some((w) => w.file === 'devices.allow' && w.value === 'c 1:3 rwm'), 'the standard nodes stay allowed after a deny-all');
  const v2 = planned(config({}, { resources: { cpu: { shares: 1024, quota: 50000, period: 100000 }, memory: { limit: 1 << 26 } } }), 'v2');
  assert.deepEqual(v2.cgroup!.writes.map((w) => `${w.file}=${w.value}`), ['cpu.weight=39', 'cpu.max=50000 100000', 'memory.max=67108864']);
  assert.deepEqual(v2.plan.cgroups, ['/sys/fs/cgroup/minipod-oci/x']);
});

test('a cgroup mount: v1 hierarchies again under a tmpfs, read-only unless asked rw; v2 the one cgroup2 mount', () => {
  const mounts = (host: 'v1' | 'v2') => planned(config({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] }] }), host).plan.mounts;
  const v1 = mounts('v1');
  assert.ok(v1.some((m) => m.op === 'mount' && m.fstype === 'cgroup' && m.dst === '/sys/fs/cgroup/cpu,cpuacct' && m.options?.cpuacct === true && m.flags.includes('ro')));
  assert.ok(v1.some((m) => m.op === 'symlink' && m.dst === '/sys/fs/cgroup/cpu' && m.target === 'cpu,cpuacct'));
  assert.ok(v1.some((m) => m.op === 'readonly' && m.dst === '/sys/fs/cgroup'));
  assert.deepEqual(mounts('v2').filter((m) => m.op === 'mount' && m.dst === '/sys/fs/cgroup'), [{ op: 'mount', fstype: 'cgroup2', source: 'cgroup2', dst: '/sys/fs/cgroup', flags: ['ro', 'nosuid', 'nodev', 'noexec'] }]);
});

test('the plan is only printed: plan makes no state, no cgroup and no process', () => {
  const state = path.join(work, 'state');
  const bundle = path.join(work, 'only-printed');
  spawnSync('mkdir', ['-p', bundle]);
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config()));
  const r = spawnSync(bin, ['--root', state, 'plan', '--bundle', bundle, 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(existsSync(state), false);
});

test('a capability the runtime does not hold itself is left out of every set, and named in a warning', () => {
  const own = BigInt(`0x${/^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`);
  const all = ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_RESOURCE', 'CAP_SYS_ADMIN', 'CAP_CHECKPOINT_RESTORE'];
  const bit = { CAP_CHOWN: 0n, CAP_KILL: 5n, CAP_SYS_RESOURCE: 24n, CAP_SYS_ADMIN: 21n, CAP_CHECKPOINT_RESTORE: 40n } as Record<string, bigint>;
  const held = all.filter((c) => (own >> bit[c]) & 1n);
  const bundle = path.join(work, 'caps');
  spawnSync('mkdir', ['-p', bundle]);
  const c = config({ process: { ...config().process!, capabilities: { bounding: all, effective: all, permitted: all, inheritable: all, ambient: all } } });
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(c));
  const r = spawnSync(bin, ['plan', '--bundle', bundle, '--mountinfo', path.join(work, 'mountinfo-v1'), '--lsm', 'capability', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const sets = (JSON.parse(r.stdout) as Planned).plan.capabilitySets!;
  for (const k of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'] as const) assert.deepEqual(sets[k], held, k);
  const lost = all.filter((x) => !held.includes(x));
  if (lost.length) assert.match(r.stderr, new RegExp(`warning: config.json process.capabilities: ${lost.join(',')} left out`));
  else assert.equal(r.stderr, '');
});

test('a privileged config lists every host device (over a hundred): each is made once, none is also bound', () => {
  const devices = [...Array.from({ length: 120 }, (_, i) => ({ path: `/dev/d${i}`, type: 'c', major: 1, minor: 200 + i })), { path: '/dev/null', type: 'c', major: 1, minor: 3 }, { path: '/dev/urandom', type: 'c', major: 1, minor: 9 }];
  const m = plan(config({}, { devices }));
  for (const dst of ['/dev/null', '/dev/urandom']) assert.deepEqual(m.mounts.filter((x) => 'dst' in x && x.dst === dst).map((x) => x.op), ['mknod'], dst);
  assert.equal(m.mounts.filter((x) => x.op === 'mknod').length, 122);
  assert.ok(m.mounts.some((x) => x.op === 'bind' && x.dst === '/dev/zero'), 'an unlisted default device is still bound');
});

test('a bind\'s propagation option: rshared and rslave kept for the executor (cloned before the namespace goes private), rprivate the default', () => {
  const m = plan(config({ mounts: [{ destination: '/a', type: 'bind', source: '/srv/a', options: ['rbind', 'rshared'] }, { destination: '/b', type: 'bind', source: '/srv/b', options: ['rbind', 'rslave'] }, { destination: '/c', type: 'bind', source: '/srv/c', options: ['rbind', 'rprivate'] }] })).mounts;
  const prop = (dst: string) => (m.find((x) => x.op === 'bind' && x.dst === dst) as Extract<MountOp, { op: 'bind' }>).propagation;
  assert.deepEqual([prop('/a'), prop('/b'), prop('/c')], ['rshared', 'rslave', undefined]);
  assert.deepEqual(m[0], { op: 'propagation', mode: 'rprivate' }, 'the namespace itself still goes private first');
});

test('resources beyond cpu, memory and pids: reservation, swappiness, the OOM killer, realtime cpu, cpusets, hugepages, block I/O throttles (v1), and their v2 files', () => {
  const resources = {
    memory: { limit: 1 << 26, reservation: 1 << 25, swappiness: 10, disableOOMKiller: true },
    cpu: { realtimePeriod: 1000000, realtimeRuntime: 950000, cpus: '0', mems: '0' },
    hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }],
    blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
  };
  const v1 = planned(config({}, { resources })).cgroup!.writes.map((w) => `${w.controller}/${w.file}=${w.value}`);
  for (const w of ['memory/memory.soft_limit_in_bytes=33554432', 'memory/memory.swappiness=10', 'memory/memory.oom_control=1', 'cpu/cpu.rt_period_us=1000000', 'cpu/cpu.rt_runtime_us=950000', 'cpuset/cpuset.cpus=0', 'cpuset/cpuset.mems=0', 'hugetlb/hugetlb.2MB.limit_in_bytes=2097152', 'blkio/blkio.throttle.read_bps_device=8:0 1048576'])
    assert.ok(v1.includes(w), `${w} in ${v1.join(' ')}`);
  assert.ok(v1.indexOf('cpu/cpu.rt_period_us=1000000') < v1.indexOf('cpu/cpu.rt_runtime_us=950000'), 'the period before the runtime');
  const v2 = planned(config({}, { resources: { memory: { reservation: 1 << 25 }, cpu: { cpus: '0' }, hugepageLimits: [{ pageSize: '2MB', limit: 1 << 21 }] } }), 'v2').cgroup!.writes.map((w) => `${w.file}=${w.value}`);
  assert.deepEqual(v2, ['memory.low=33554432', 'cpuset.cpus=0', 'hugetlb.2MB.max=2097152']);
  assert.throws(() => planned(config({}, { resources: { memory: { swappiness: 101 } } })), /swappiness: 101 is not 0\.\.100/);
});

test('a user namespace is joined first (made by create with the mappings), so the namespaces created after it are its own; devices are bound, not made', () => {
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const p = plan(config({}, { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'user' }], uidMappings: map, gidMappings: map, devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] }));
  assert.deepEqual(p.namespaces, [{ type: 'user', action: 'join', path: '@userns/user' }, { type: 'pid', action: 'create' }, { type: 'mnt', action: 'create' }, { type: 'uts', action: 'create' }]);
  assert.ok(!p.mounts.some((m) => m.op === 'mknod'), 'no mknod in a user namespace');
  assert.ok(p.mounts.some((m) => m.op === 'bind' && m.dst === '/dev/fuse' && m.source === '/dev/fuse'));
});

test('network classes: net_cls.classid and one net_prio.ifpriomap line per interface on v1; refused on v2 (no such controllers) and for a name that is not one interface', () => {
  const network = { classID: 1048577, priorities: [{ name: 'lo', priority: 1 }, { name: 'eth0', priority: 2 }] };
  const v1 = planned(config({}, { resources: { network } })).cgroup!.writes.map((w) => `${w.controller}/${w.file}=${w.value}`);
  assert.deepEqual(v1, ['net_cls/net_cls.classid=1048577', 'net_prio/net_prio.ifpriomap=lo 1', 'net_prio/net_prio.ifpriomap=eth0 2']);
  assert.throws(() => planned(config({}, { resources: { network } }), 'v2'), /linux\.resources\.network: net_cls and net_prio are cgroup v1 controllers/);
  assert.throws(() => planned(config({}, { resources: { network: { priorities: [{ name: 'eth0 5\nlo', priority: 1 }] } } })), /network\.priorities\[0\]: needs an interface name/);
});

test('cgroup v2 device control: a leading deny-all and the allows become the device program\'s list (with linux.devices and the defaults); other denies are refused', () => {
  const devices = (rules: unknown[]) => planned(config({}, { resources: { devices: rules }, devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }] }), 'v2').cgroup as { devices?: string[] };
  const list = devices([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]).devices!;
  assert.deepEqual(list.slice(0, 2), ['c 1:3 rw', 'c 10:229 rwm']);
  assert.ok(list.includes('c 136:* rwm') && list.includes('b *:* m'), 'the defaults follow');
  assert.equal(devices([{ allow: false, access: 'rwm' }, { allow: true, access: 'rwm' }]).devices, undefined, 'allow-all after the deny: no program');
  assert.throws(() => devices([{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, access: 'rwm' }]), /devices\[1\]: on cgroup v2 a deny rule is taken only first/);
});
