// A pod's cgroups as plan data, for both hierarchies: the kubelet's arithmetic, the QoS
// class and oom_score_adj, and the exact directories and files. The v2 path cannot run on
// a v1/v2 hybrid host: these tests plan against a mountinfo of a pure v2 host (what a
// fresh Debian 12 under systemd has) and check every operation the supervisor would run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { cgroupDirs, ownCgroup, parseLayout, reachable } from '../../src/cgroups/layout.ts';
import { checkCgroupParent, DEFAULT_DEVICES, planCgroups } from '../../src/cgroups/plan.ts';
import { milliToQuota, milliToShares, oomScoreAdj, podResources, qosClass, sharesToWeight } from '../../src/cgroups/resources.ts';
import type { Pod } from '../../src/spec/types.ts';

const HYBRID = [
  '30 22 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
  '33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct',
  '34 30 0:30 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory',
  '35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids',
  '36 30 0:32 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,devices',
  '37 30 0:33 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,freezer',
].join('\n');
const V2 = '29 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot';

const pod = (containers: object[], initContainers: object[] = []): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers, initContainers } }) as unknown as Pod;
const c = (name: string, resources?: object) => ({ name, image: 'x', ...(resources ? { resources } : {}) });
const GiB = 2 ** 30;
const plan = (p: Pod, mountinfo = HYBRID, canLowerOomScore = true) =>
  planCgroups({ pod: p, uid: 'u1', layout: parseLayout(mountinfo)!, parent: '/minipod', memoryCapacity: 8 * GiB, canLowerOomScore });

test('layout: a hybrid host is v1 (co-mounted cpu,cpuacct is one hierarchy); a pure cgroup2 host is v2', () => {
  const h = parseLayout(HYBRID)!;
  assert.equal(h.version, 1);
  assert.deepEqual(cgroupDirs(h, '/minipod').map((d) => d.dir), ['/sys/fs/cgroup/cpu,cpuacct/minipod', '/sys/fs/cgroup/memory/minipod', '/sys/fs/cgroup/pids/minipod', '/sys/fs/cgroup/devices/minipod', '/sys/fs/cgroup/freezer/minipod']);
  assert.deepEqual(parseLayout(V2), { version: 2, mount: '/sys/fs/cgroup' });
  assert.equal(parseLayout('22 1 0:21 / /proc rw - proc proc rw'), undefined);
  assert.equal(ownCgroup('12:memory:/user.slice\n0::/user.slice/x', h), '/user.slice');
  assert.equal(ownCgroup('0::/user.slice/session-1.scope', parseLayout(V2)!), '/user.slice/session-1.scope');
});

test('layout: a cgroup mount hidden under a later one (a namespace that mounted /sys again) is not a hierarchy; reachable() compares the mount\'s device with what the path shows', () => {
  const hiddenV1 = `${HYBRID}\n90 22 0:99 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw`;
  assert.deepEqual(parseLayout(hiddenV1, (devno) => devno === '0:99'), { version: 2, mount: '/sys/fs/cgroup' }, 'only the later cgroup2 mount is seen');
  assert.equal(parseLayout(hiddenV1)!.version, 1, 'without a check: the first listed (v1) wins');
  const procLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === '/proc' && l.includes(' - proc ')).at(-1);
  if (procLine) assert.equal(reachable(procLine.split(' ')[2], '/proc'), true, 'the last /proc mounted is what /proc shows');
  assert.equal(reachable('0:1', '/proc'), false);
  assert.equal(reachable('0:1', '/no/such/path'), false);
});

test('the kubelet\'s formulas: shares, weight, quota, oom_score_adj', () => {
  assert.equal(milliToShares(undefined), 2);
  assert.equal(milliToShares(250), 256);
  assert.equal(milliToShares(1), 2);
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
  assert.equal(milliToQuota(500), 50_000);
  assert.equal(milliToQuota(5), 1000, 'at least 1 ms');
  assert.equal(milliToQuota(undefined), undefined);
  assert.equal(oomScoreAdj('Guaranteed', GiB, 8 * GiB), -997);
  assert.equal(oomScoreAdj('BestEffort', undefined, 8 * GiB), 1000);
  assert.equal(oomScoreAdj('Burstable', 4 * GiB, 8 * GiB), 500);
  assert.equal(oomScoreAdj('Burstable', 8 * GiB, 8 * GiB), 2, 'clamped to 2');
  assert.equal(oomScoreAdj('Burstable', 0, 8 * GiB), 999, 'clamped to 999');
});

test('QoS class: none set is BestEffort; requests equal to limits for cpu and memory everywhere is Guaranteed; else Burstable', () => {
  assert.equal(qosClass(pod([c('a'), c('b')])), 'BestEffort');
  assert.equal(qosClass(pod([c('a', { limits: { cpu: '1', memory: '1Gi' } })])), 'Guaranteed', 'requests default to limits');
  assert.equal(qosClass(pod([c('a', { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } })])), 'Burstable');
  assert.equal(qosClass(pod([c('a', { limits: { cpu: '1', memory: '1Gi' } }), c('b')])), 'Burstable', 'one container without');
  assert.equal(qosClass(pod([c('a', { limits: { cpu: '1', memory: '1Gi' } })], [c('i')])), 'Burstable', 'init containers count');
  assert.equal(qosClass(pod([c('a', { requests: { memory: '1Mi' } })])), 'Burstable');
});

test('pod resources: apps summed; a pod limit only when every container has one; init containers: max(any init, sum of apps)', () => {
  const p = pod([c('a', { limits: { cpu: '500m', memory: '64Mi' } }), c('b', { limits: { cpu: '250m', memory: '32Mi' }, requests: { cpu: '100m' } })], [c('i', { limits: { cpu: '2', memory: '16Mi' } })]);
  assert.deepEqual(podResources(p), { cpuRequest: 2000, cpuLimit: 2000, memoryRequest: 96 * 2 ** 20, memoryLimit: 96 * 2 ** 20 });
  assert.deepEqual(podResources(pod([c('a', { limits: { memory: '64Mi' } }), c('b')])), { memoryRequest: 64 * 2 ** 20 }, 'b has no limit: no pod memory limit');
});

test('v1 plan: parents made when missing, the pod\'s dirs fresh with the pod-level values, pause and each container below, devices restricted', () => {
  const cg = plan(pod([c('web', { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m', memory: '32Mi' } }), c('side', { requests: { cpu: '100m' } })]));
  assert.equal(cg.version, 1);
  assert.equal(cg.path, '/minipod/pod-u1');
  assert.equal(cg.qosClass, 'Burstable');
  const find = (p: string) => cg.ops.find((o) => o.path === p)!;
  assert.equal(find('/sys/fs/cgroup/memory/minipod').create, 'parent');
  assert.deepEqual(find('/sys/fs/cgroup/cpu,cpuacct/minipod/pod-u1').set, [
    { file: 'cpu.shares', value: String(256 + 102) },
    { file: 'cpu.cfs_period_us', value: '100000' },
    { file: 'cpu.cfs_quota_us', value: '-1' },
  ], 'side has no cpu limit: no pod quota; shares of the requests\' sum');
  assert.deepEqual(find('/sys/fs/cgroup/pids/minipod/pod-u1').set, [{ file: 'pids.max', value: '4096' }]);
  assert.deepEqual(find('/sys/fs/cgroup/memory/minipod/pod-u1/container-web').set, [
    { file: 'memory.limit_in_bytes', value: String(64 * 2 ** 20) },
    { file: 'memory.memsw.limit_in_bytes', value: String(64 * 2 ** 20), optional: true },
  ]);
  const dev = find('/sys/fs/cgroup/devices/minipod/pod-u1/container-web').set;
  assert.deepEqual(dev[0], { file: 'devices.deny', value: 'a' });
  assert.ok(dev.some((s) => s.value === 'c 1:3 rwm') && !dev.some((s) => s.value.startsWith('b ') && s.value.includes('r')), 'null allowed, no block device readable');
  // Order: parents, then the pod, then pause, then the containers (the journal undoes it backwards).
  const idx = (p: string) => cg.ops.findIndex((o) => o.path === p);
  assert.ok(idx('/sys/fs/cgroup/memory/minipod') < idx('/sys/fs/cgroup/memory/minipod/pod-u1'));
  assert.ok(idx('/sys/fs/cgroup/memory/minipod/pod-u1') < idx('/sys/fs/cgroup/memory/minipod/pod-u1/pause'));
  assert.ok(idx('/sys/fs/cgroup/memory/minipod/pod-u1/pause') < idx('/sys/fs/cgroup/memory/minipod/pod-u1/container-web'));
  assert.deepEqual(cg.containers.web.dirs.length, 5);
  assert.equal(cg.containers.web.memory, '/sys/fs/cgroup/memory/minipod/pod-u1/container-web');
  assert.equal(cg.containers.web.freezer, '/sys/fs/cgroup/freezer/minipod/pod-u1/container-web');
  assert.equal(cg.pause.oomScoreAdj, -998);
});

test('v1: the container mounts each hierarchy again, with all of its options, on a tmpfs made read-only', () => {
  const m = plan(pod([c('web')])).containers.web.mounts;
  assert.deepEqual(m.map((x) => (x.op === 'mount' ? `${x.fstype} ${x.dst} ${Object.keys(x.options ?? {}).join(',')} ${x.flags.join(',')}` : `${x.op} ${'dst' in x ? x.dst : ''}`)), [
    'tmpfs /sys/fs/cgroup mode,size nosuid,nodev,noexec',
    'cgroup /sys/fs/cgroup/cpu,cpuacct cpu,cpuacct ro,nosuid,nodev,noexec',
    'symlink /sys/fs/cgroup/cpu',
    'symlink /sys/fs/cgroup/cpuacct',
    'cgroup /sys/fs/cgroup/memory memory ro,nosuid,nodev,noexec',
    'cgroup /sys/fs/cgroup/pids pids ro,nosuid,nodev,noexec',
    'cgroup /sys/fs/cgroup/devices devices ro,nosuid,nodev,noexec',
    'cgroup /sys/fs/cgroup/freezer freezer ro,nosuid,nodev,noexec',
    'readonly /sys/fs/cgroup',
  ]);
});

test('a privileged container gets no device restriction', () => {
  const cg = plan(pod([{ ...c('p'), securityContext: { privileged: true } }]));
  assert.deepEqual(cg.ops.find((o) => o.path.endsWith('/devices/minipod/pod-u1/container-p'))!.set, []);
});

test('v2 plan (a pure cgroup2 host, planned here against its mountinfo): one directory per level, controllers enabled top-down, cpu.weight, cpu.max, memory.max, no swap', () => {
  const cg = plan(pod([c('web', { limits: { cpu: '500m', memory: '64Mi' } })]), V2);
  assert.equal(cg.version, 2);
  assert.deepEqual(cg.ops.map((o) => [o.path, o.create]), [
    ['/sys/fs/cgroup', 'parent'],
    ['/sys/fs/cgroup/minipod', 'parent'],
    ['/sys/fs/cgroup/minipod/pod-u1', 'pod'],
    ['/sys/fs/cgroup/minipod/pod-u1/pause', 'pod'],
    ['/sys/fs/cgroup/minipod/pod-u1/container-web', 'pod'],
  ]);
  const enable = { file: 'cgroup.subtree_control', value: '+cpu +memory +pids' };
  assert.deepEqual(cg.ops[0].set, [enable]);
  assert.deepEqual(cg.ops[2].set, [
    { file: 'cpu.weight', value: String(sharesToWeight(512)) },
    { file: 'cpu.max', value: '50000 100000' },
    { file: 'memory.max', value: String(64 * 2 ** 20) },
    { file: 'memory.swap.max', value: '0', optional: true },
    { file: 'pids.max', value: '4096' },
    enable,
  ]);
  assert.deepEqual(cg.ops[3].devices, DEFAULT_DEVICES, 'pause: the default devices, as a BPF program');
  assert.deepEqual(cg.ops[4].devices, DEFAULT_DEVICES);
  assert.equal(plan(pod([{ ...c('p'), securityContext: { privileged: true } }]), V2).ops[4].devices, undefined, 'privileged: no device program');
  assert.deepEqual(cg.ops[4].set, [
    { file: 'cpu.weight', value: String(sharesToWeight(512)) },
    { file: 'cpu.max', value: '50000 100000' },
    { file: 'memory.max', value: String(64 * 2 ** 20) },
    { file: 'memory.swap.max', value: '0', optional: true },
  ]);
  assert.deepEqual(cg.containers.web, {
    version: 2,
    dirs: ['/sys/fs/cgroup/minipod/pod-u1/container-web'],
    memory: '/sys/fs/cgroup/minipod/pod-u1/container-web',
    oomScoreAdj: -997,
    // Its own read-only view, in its own cgroup namespace.
    mounts: [{ op: 'mount', fstype: 'cgroup2', source: 'cgroup2', dst: '/sys/fs/cgroup', flags: ['ro', 'nosuid', 'nodev', 'noexec'] }],
  });
});

test('without CAP_SYS_RESOURCE, negative oom_score_adj values become 0 (the kernel refuses them)', () => {
  const cg = plan(pod([c('g', { limits: { cpu: '1', memory: '1Gi' } })]), HYBRID, false);
  assert.equal(cg.containers.g.oomScoreAdj, 0);
  assert.equal(cg.pause.oomScoreAdj, 0);
});

test('a cgroup parent must be an absolute, plain cgroup path', () => {
  assert.equal(checkCgroupParent('/minipod/'), '/minipod');
  for (const bad of ['minipod', '/a/../b', '/a//b', '/a b', '/a/./b']) assert.throws(() => checkCgroupParent(bad), /must be an absolute cgroup path/, bad);
});
