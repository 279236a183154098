// Planning without root: what a container's plan says, from its manifest and image.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { containerPlan, type PodContext } from '../../src/plan/container.ts';
import { DEFAULT_CAPABILITIES } from '../../src/plan/defaults.ts';
import { buildPodPlan } from '../../src/plan/pod.ts';
import type { MountOp } from '../../src/plan/types.ts';
import type { Pod } from '../../src/spec/types.ts';

function podOf(spec: Record<string, unknown>, name = 'demo'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { restartPolicy: 'Always', ...spec } } as unknown as Pod;
}

const image = { ref: 'busybox:latest', rootfs: '/img/busybox', env: ['PATH=/bin:/usr/bin', 'IMG=1'], cmd: ['sh'] };

function ctx(pod: Pod, extra: Partial<PodContext> = {}): PodContext {
  const images = new Map([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [c.name, image]));
  return { pod, uid: 'u-1', hostname: pod.metadata.name, dirs: { run: '/run/p', lib: '/lib/p' }, images, ...extra };
}

test('a container joins pause and creates its own mount and pid namespaces', () => {
  const pod = podOf({ containers: [{ name: 'web', image: 'busybox', command: ['httpd', '-f'] }] });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  assert.deepEqual(p.namespaces, [
    { type: 'ipc', action: 'join', path: '@pause/ipc' },
    { type: 'uts', action: 'join', path: '@pause/uts' },
    { type: 'net', action: 'join', path: '@pause/net' },
    { type: 'pid', action: 'create' },
    { type: 'mnt', action: 'create' },
  ]);
  assert.deepEqual(p.argv, ['httpd', '-f']);
  assert.deepEqual(p.capabilities, [...DEFAULT_CAPABILITIES]);
});

test('shareProcessNamespace joins the pause pid namespace', () => {
  const pod = podOf({ shareProcessNamespace: true, containers: [{ name: 'a', image: 'busybox' }] });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  assert.deepEqual(p.namespaces[3], { type: 'pid', action: 'join', path: '@pause/pid' });
});

test('mount order: private propagation, overlay root, system mounts, extra mounts parents first, protections, pivot', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox', workingDir: '/app' }] });
  const extra: MountOp[] = [
    { op: 'bind', source: '/h/hosts', dst: '/etc/hosts', readOnly: false, recursive: false },
    { op: 'bind', source: '/h/etc', dst: '/etc', readOnly: true, recursive: true },
  ];
  const m = containerPlan(ctx(pod, { extraMounts: new Map([['a', extra]]) }), pod.spec.containers[0], 'spec.containers[0]', false).process.mounts;
  assert.deepEqual(m[0], { op: 'propagation', mode: 'rprivate' });
  assert.equal(m[1].op, 'rootfs');
  assert.deepEqual(m[1], { op: 'rootfs', kind: 'overlay', lower: ['/img/busybox'], upper: '/lib/p/containers/a/upper-0', work: '/lib/p/containers/a/work-0', target: '/lib/p/containers/a/rootfs', readOnly: false, flags: ['nodev'] });
  const dsts = m.map((x) => ('dst' in x ? x.dst : x.op));
  assert.ok(dsts.indexOf('/proc') < dsts.indexOf('/etc'));
  assert.ok(dsts.indexOf('/etc') < dsts.indexOf('/etc/hosts'), 'a volume at /etc must not hide /etc/hosts');
  assert.ok(dsts.indexOf('/app') > dsts.indexOf('/etc/hosts'));
  assert.ok(dsts.includes('/proc/kcore') && dsts.indexOf('/proc/kcore') > dsts.indexOf('/app'));
  assert.deepEqual(m.at(-1), { op: 'pivot' });
});

test('the default capability set is podman 4\'s: no MKNOD, NET_RAW or AUDIT_WRITE', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox' }] });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  assert.deepEqual(p.capabilities, [
    'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE',
    'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT',
  ]);
});

test('every path a container can write is nodev; device nodes are binds of the host\'s', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox' }] });
  const m = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process.mounts;
  const dev = m.find((x) => x.op === 'mount' && x.dst === '/dev');
  assert.deepEqual(dev && 'flags' in dev ? dev.flags : undefined, ['nosuid', 'nodev']);
  assert.ok(!m.some((x) => x.op === 'mknod'), 'no mknod: nodes made on a nodev tmpfs would not open');
  for (const n of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) {
    assert.ok(m.some((x) => x.op === 'bind' && x.source === `/dev/${n}` && x.dst === `/dev/${n}`), n);
  }
  const writable = m.filter((x) => x.op === 'mount' && ['tmpfs', 'mqueue'].includes(x.fstype));
  for (const w of writable) assert.ok(w.op === 'mount' && w.flags.includes('nodev'), w.op === 'mount' ? w.dst : '');
});

test('privileged keeps every capability and skips masks', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox', securityContext: { privileged: true } }] });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  assert.equal(p.capabilities, null);
  assert.ok(!p.mounts.some((m) => m.op === 'mask' || m.op === 'readonly'));
});

test('capabilities add and drop, with or without the CAP_ prefix', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox', securityContext: { capabilities: { drop: ['ALL'], add: ['NET_ADMIN', 'CAP_CHOWN'] } } }] });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  assert.deepEqual(p.capabilities, ['CAP_NET_ADMIN', 'CAP_CHOWN']);
});

test('user and groups: container over pod over image; fsGroup joins the groups', () => {
  const pod = podOf({
    securityContext: { runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [5], fsGroup: 2000 },
    containers: [{ name: 'a', image: 'busybox', securityContext: { runAsUser: 1001 } }],
  });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false).process;
  // The primary gid leads the supplementary groups (containerd CVE-2023-25173).
  assert.deepEqual(p.user, { uid: 1001, gid: 1000, groups: [1000, 5, 2000] });
});

test('runAsNonRoot with uid 0 is refused, naming the field', () => {
  const pod = podOf({ containers: [{ name: 'a', image: 'busybox', securityContext: { runAsNonRoot: true } }] });
  assert.throws(
    () => containerPlan(ctx(pod), pod.spec.containers[0], 'spec.containers[0]', false),
    (e: unknown) => e instanceof FieldError && e.field === 'spec.containers[0].securityContext.runAsNonRoot',
  );
});

test('command and args follow Kubernetes: command replaces entrypoint, args replace cmd', () => {
  const withArgs = podOf({ containers: [{ name: 'a', image: 'busybox', args: ['-c', 'echo hi'] }] });
  assert.deepEqual(containerPlan(ctx(withArgs), withArgs.spec.containers[0], 'x', false).process.argv, ['-c', 'echo hi']);
  const none = podOf({ containers: [{ name: 'a', image: 'busybox' }] });
  assert.deepEqual(containerPlan(ctx(none), none.spec.containers[0], 'x', false).process.argv, ['sh']);
  const noCmd = podOf({ containers: [{ name: 'a', image: 'busybox' }] });
  const c = ctx(noCmd);
  c.images.set('a', { ...image, cmd: undefined });
  assert.throws(() => containerPlan(c, noCmd.spec.containers[0], 'spec.containers[0]', false), /no command/);
});

test('env: image env, then HOSTNAME, then the container env with $(VAR) expansion; argv expanded too', () => {
  const pod = podOf({
    containers: [
      {
        name: 'a',
        image: 'busybox',
        command: ['echo', '$(GREETING)', '$$(GREETING)', '$(UNDEFINED)'],
        env: [
          { name: 'WHO', value: 'world' },
          { name: 'GREETING', value: 'hello $(WHO)' },
          { name: 'PATH', value: '/custom' },
        ],
      },
    ],
  });
  const p = containerPlan(ctx(pod), pod.spec.containers[0], 'x', false).process;
  assert.deepEqual(p.env, ['PATH=/custom', 'IMG=1', 'HOSTNAME=demo', 'WHO=world', 'GREETING=hello world']);
  assert.deepEqual(p.argv, ['echo', 'hello world', '$(GREETING)', '$(UNDEFINED)']);
});

test('init containers: pod Always means retry on failure; restartPolicy Always makes a sidecar', () => {
  const pod = podOf({
    initContainers: [
      { name: 'setup', image: 'busybox' },
      { name: 'proxy', image: 'busybox', restartPolicy: 'Always' },
    ],
    containers: [{ name: 'app', image: 'busybox' }],
  });
  const plan = buildPodPlan({ ...ctx(pod), pauseBinary: '/bin/pause' });
  assert.equal(plan.initContainers[0].restartPolicy, 'OnFailure');
  assert.equal(plan.initContainers[0].sidecar, false);
  assert.equal(plan.initContainers[1].restartPolicy, 'Always');
  assert.equal(plan.initContainers[1].sidecar, true);
  assert.equal(plan.containers[0].restartPolicy, 'Always');
});

test('pause creates the pod namespaces, sets the hostname and brings loopback up', () => {
  const pod = podOf({ hostname: 'box', containers: [{ name: 'a', image: 'busybox' }] });
  const plan = buildPodPlan({ ...ctx(pod), pauseBinary: '/bin/pause' });
  assert.deepEqual(plan.pause.namespaces.map((n) => `${n.action} ${n.type}`), ['create net', 'create uts', 'create ipc', 'create pid', 'create mnt']);
  assert.equal(plan.pause.hostname, 'box');
  assert.equal(plan.pause.loopbackUp, true);
  assert.deepEqual(plan.pause.capabilities, []);
  assert.equal(plan.terminationGracePeriodSeconds, 30);
});

test('pause lives over an empty read-only root of its own, holding only its binary, and dies with its supervisor', () => {
  const pod = podOf({ shareProcessNamespace: true, containers: [{ name: 'a', image: 'busybox' }] });
  const p = buildPodPlan({ ...ctx(pod), pauseBinary: '/bin/pause' }).pause;
  assert.deepEqual(p.mounts.map((m) => m.op), ['propagation', 'rootfs', 'bind', 'pivot']);
  assert.deepEqual(p.mounts[1], { op: 'rootfs', kind: 'tmpfs', target: '/run/p/pause', readOnly: true, flags: ['nosuid', 'nodev'], options: { mode: '755', size: '64k', nr_inodes: '16' } });
  assert.deepEqual(p.mounts[2], { op: 'bind', source: '/bin/pause', dst: '/minipod-pause', readOnly: true, recursive: false, flags: ['nosuid', 'nodev'] });
  assert.deepEqual(p.argv, ['/minipod-pause']);
  assert.deepEqual([p.capabilities, p.noNewPrivileges, p.parentDeathSignal, p.env], [[], true, 'SIGKILL', []]);
});

test('hostNetwork: pause creates no network or UTS namespace', () => {
  const pod = podOf({ hostNetwork: true, containers: [{ name: 'a', image: 'busybox' }] });
  const plan = buildPodPlan({ ...ctx(pod), pauseBinary: '/bin/pause' });
  assert.deepEqual(plan.pause.namespaces.map((n) => n.type), ['ipc', 'pid', 'mnt']);
  assert.equal(plan.pause.hostname, undefined);
  assert.equal(plan.pause.loopbackUp, false);
});
