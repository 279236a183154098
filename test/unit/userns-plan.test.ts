// hostUsers: false, planned without root: what the pod's processes join and when, which
// mounts are idmapped (minipod's own data) and which are not (the host's), and the id
// leases (which block a pod gets, and what gc gives back).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { buildPodPlan } from '../../src/plan/pod.ts';
import type { MountOp } from '../../src/plan/types.ts';
import { checkUserNamespace } from '../../src/plan/userns.ts';
import type { Pod } from '../../src/spec/types.ts';
import { allocateIds, DEFAULT_ID_RANGE, idRange, listIdLeases, peekIds, reclaimIdLeases } from '../../src/state/userns-ids.ts';

function podOf(spec: Record<string, unknown>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'u', namespace: 'default' }, spec: { hostUsers: false, ...spec } } as unknown as Pod;
}

const BASE = 2 ** 31;
const dirs = { run: '/run/p', lib: '/lib/p' };

function plan(spec: Record<string, unknown>, extra: MountOp[] = []) {
  const pod = podOf(spec);
  const image = { ref: 'busybox:latest', rootfs: '/img/x/rootfs', env: [], cmd: ['sh'], lower: ['/store/layers/b', '/store/layers/a'] };
  return buildPodPlan({
    pod,
    uid: 'u-1',
    hostname: 'u',
    dirs,
    images: new Map(pod.spec.containers.map((c) => [c.name, image])),
    extraMounts: new Map(pod.spec.containers.map((c) => [c.name, extra])),
    pauseBinary: '/bin/pause',
    userBase: BASE,
  });
}

test('the pod plan carries the mapping the supervisor makes: container 0.. is host 2^31.., 65536 ids', () => {
  const p = plan({ containers: [{ name: 'c', image: 'busybox' }] });
  assert.deepEqual(p.userNamespace, { uidMap: [{ containerID: 0, hostID: BASE, size: 65536 }], gidMap: [{ containerID: 0, hostID: BASE, size: 65536 }] });
});

test('pause makes its pid and mount namespaces first, then joins the user namespace and creates the pod\'s network, UTS and IPC inside it', () => {
  const p = plan({ containers: [{ name: 'c', image: 'busybox' }] });
  assert.deepEqual(p.pause.namespaces, [
    { type: 'pid', action: 'create' },
    { type: 'mnt', action: 'create' },
    { type: 'user', action: 'join', path: '@pod/user', after: 'mounts' },
    { type: 'net', action: 'create', after: 'mounts' },
    { type: 'uts', action: 'create', after: 'mounts' },
    { type: 'ipc', action: 'create', after: 'mounts' },
  ]);
});

test('a container joins the user namespace last, after its mounts, and its upper layer belongs to the container\'s root', () => {
  const c = plan({ containers: [{ name: 'c', image: 'busybox' }] }).containers[0];
  assert.deepEqual(c.process.namespaces.at(-1), { type: 'user', action: 'join', path: '@pod/user', after: 'mounts' });
  assert.equal(c.process.namespaces.filter((n) => n.after).length, 1);
  assert.deepEqual(c.layerOwner, { uid: BASE, gid: BASE });
});

test('the layers\' parent is idmapped once before the overlay; minipod\'s volumes are idmapped binds, a hostPath and /dev/shm are not', () => {
  const extra: MountOp[] = [
    { op: 'bind', source: '/lib/p/volumes/data', dst: '/data', readOnly: false, recursive: true, flags: ['nodev'] },
    { op: 'bind', sourceRoot: '/lib/p/volumes/data', source: 'sub', dst: '/sub', readOnly: false, recursive: true, createSource: true },
    { op: 'bind', source: '/srv/host', dst: '/host', readOnly: false, recursive: true },
    { op: 'bind', source: '/run/p/etc/hosts', dst: '/etc/hosts', readOnly: false, recursive: false },
  ];
  const m = plan({ volumes: [{ name: 'h', hostPath: { path: '/srv/host/' } }], containers: [{ name: 'c', image: 'busybox' }] }, extra).containers[0].process.mounts;
  assert.deepEqual(m.slice(0, 3).map((x) => x.op), ['propagation', 'idmap', 'rootfs']);
  assert.deepEqual(m[1], { op: 'idmap', path: '/store/layers' });
  const bind = (dst: string) => m.find((x) => x.op === 'bind' && x.dst === dst) as Extract<MountOp, { op: 'bind' }>;
  assert.equal(bind('/data').idmap, true);
  assert.equal(bind('/sub').idmap, true);
  assert.equal(bind('/etc/hosts').idmap, true);
  assert.equal(bind('/host').idmap, undefined, 'host files keep their host owners');
  assert.equal(bind('/dev/shm').idmap, undefined);
  assert.equal(bind('/dev/null').idmap, undefined);
  const opt = (fstype: string, dst: string) => (m.find((x) => x.op === 'mount' && x.fstype === fstype && x.dst === dst) as Extract<MountOp, { op: 'mount' }>).options;
  assert.equal(opt('tmpfs', '/dev')?.uid, String(BASE));
  assert.equal(opt('devpts', '/dev/pts')?.gid, String(BASE + 5), 'the container\'s tty group');
});

test('exec probes and hooks join the container\'s user namespace too', () => {
  const c = plan({ containers: [{ name: 'c', image: 'busybox', livenessProbe: { exec: { command: ['true'] } }, lifecycle: { postStart: { exec: { command: ['true'] } } } }] }).containers[0];
  const probe = (c.probes as unknown as { liveness: { handler: { process: { namespaces: unknown[] } } } }).liveness.handler.process;
  assert.deepEqual(probe.namespaces.at(-1), { type: 'user', action: 'join', path: '@container:c/user', after: 'mounts' });
  assert.match(JSON.stringify(c.hooks), /"@container:c\/user"/);
});

test('hostNetwork, hostPID and hostIPC are refused with hostUsers: false, naming the field', () => {
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC']) {
    assert.throws(() => checkUserNamespace(podOf({ [f]: true, containers: [] })), (e: unknown) => e instanceof FieldError && e.message.includes(`spec.${f}`));
  }
  checkUserNamespace(podOf({ containers: [] }));
});

test('id leases: the lowest free block, never a taken one; the range from /etc/subuid\'s minipod entry; gc releases a dead pod\'s', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-userns-'));
  try {
    const roots = { run: path.join(dir, 'run'), lib: path.join(dir, 'lib') };
    assert.deepEqual(idRange(path.join(dir, 'noetc')), DEFAULT_ID_RANGE);
    writeFileSync(path.join(dir, 'subuid'), 'alice:100000:65536\nminipod:1000000:196608\n');
    writeFileSync(path.join(dir, 'subgid'), 'minipod:1000000:196608\n');
    const range = idRange(dir);
    assert.deepEqual([range.start, range.count], [1000000, 196608]);
    const a = allocateIds(roots, { pod: 'a', uid: '1' }, range);
    const b = allocateIds(roots, { pod: 'b', uid: '2' }, range);
    assert.deepEqual([a.base, b.base], [1000000, 1065536]);
    assert.equal(peekIds(roots, range), 1131072);
    rmSync(a.file);
    assert.equal(allocateIds(roots, { pod: 'c', uid: '3' }, range).base, 1000000, 'a freed block is reused');
    allocateIds(roots, { pod: 'd', uid: '4' }, range);
    assert.throws(() => allocateIds(roots, { pod: 'e', uid: '5' }, range), /no free block of 65536 user ids/);
    const report: string[] = [];
    reclaimIdLeases(roots, (pod, uid) => pod === 'b' && uid === '2', report);
    assert.deepEqual(listIdLeases(roots).map((l) => l.pod), ['b']);
    assert.equal(report.length, 2);
    writeFileSync(path.join(dir, 'subgid'), 'minipod:2000000:196608\n');
    assert.throws(() => idRange(dir), /must both exist and be the same range/);
    assert.deepEqual(readdirSync(path.join(roots.run, 'userns')).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
