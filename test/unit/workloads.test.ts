// Workload kinds, claims and events without root: which pods a stream makes (names, labels,
// owners, a Job's shares), what is refused and where, named volumes, and event counting.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { countEvents, eventAge } from '../../src/runtime/events.ts';
import { parseManifests } from '../../src/spec/index.ts';
import { createVolume, listVolumes, pruneVolumes, removeVolume, volumeUsers } from '../../src/volumes/named.ts';

const yaml = (...docs: string[]) => docs.join('\n---\n');
const deployment = (extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: w
        image: busybox${extra}`;

test('a Deployment becomes its replicas: NAME-HASH-XXXXX, the same names every time, labels and owner', () => {
  const a = parseManifests(deployment(), 'd.yaml').pods;
  const b = parseManifests(deployment(), 'd.yaml').pods;
  assert.equal(a.length, 2);
  assert.deepEqual(a.map((p) => p.value.metadata.name), b.map((p) => p.value.metadata.name));
  const hash = a[0].value.metadata.labels!['pod-template-hash'];
  assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  for (const p of a) {
    assert.match(p.value.metadata.name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    assert.equal(p.value.metadata.labels!.app, 'web');
    assert.deepEqual(p.value.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', controller: true }]);
  }
  assert.notEqual(a[0].value.metadata.name, a[1].value.metadata.name);
  const changed = parseManifests(deployment('\n        command: [sleep, "1"]'), 'd.yaml').pods;
  assert.notEqual(changed[0].value.metadata.labels!['pod-template-hash'], hash, 'another template, another hash');
});

test('a problem in a template is reported at its line, in the workload\'s own field path', () => {
  assert.throws(
    () => parseManifests(deployment('\n        ports: [{containerPort: 99999}]'), 'd.yaml'),
    (e: Error) => /d\.yaml:16:18 spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort/.test(e.message),
  );
  assert.throws(() => parseManifests(deployment().replace('matchLabels: {app: web}', 'matchLabels: {app: api}'), 'd.yaml'), /spec\.selector\.matchLabels\['app'\]: does not match the template's labels/);
  assert.throws(() => parseManifests(deployment().replace('apps/v1', 'v1'), 'd.yaml'), /apiVersion: must be apps\/v1 for a Deployment/);
});

test('a Job: completions spread over min(parallelism, completions) pods; its restartPolicy must be Never or OnFailure', () => {
  const job = (spec: string, policy = 'Never') => `apiVersion: batch/v1
kind: Job
metadata: {name: batch}
spec:
${spec}
  template:
    spec:
      restartPolicy: ${policy}
      containers: [{name: j, image: busybox}]`;
  const pods = parseManifests(job('  completions: 5\n  parallelism: 2\n  activeDeadlineSeconds: 30'), 'j.yaml').pods;
  assert.deepEqual(pods.map((p) => p.job), [{ completions: 3, backoffLimit: 6 }, { completions: 2, backoffLimit: 6 }]);
  assert.equal(pods[0].value.metadata.labels!['job-name'], 'batch');
  assert.equal(pods[0].value.spec.activeDeadlineSeconds, 30);
  assert.equal(parseManifests(job('  backoffLimit: 0'), 'j.yaml').pods.length, 1);
  assert.throws(() => parseManifests(job('  backoffLimit: 1', 'Always'), 'j.yaml'), /spec\.template\.spec\.restartPolicy: a Job's pods need restartPolicy Never or OnFailure/);
  assert.throws(() => parseManifests(job('  completions: 0'), 'j.yaml'), /spec\.completions: must be a whole number, at least 1/);
});

test('a stream: every Pod, DaemonSet one pod, claims read, two pods of one name refused, hostPort 0 is no host port', () => {
  const ds = 'apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: busybox}]';
  const pvc = 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {accessModes: [ReadWriteOnce]}';
  const p = (name: string) => `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers: [{name: c, image: busybox, ports: [{containerPort: 80, hostPort: 0}]}]`;
  const m = parseManifests(yaml(p('a'), ds, pvc, p('b')), 's.yaml');
  assert.deepEqual(m.pods.map((x) => x.value.metadata.name.replace(/-\w{5}$/, '-*')), ['a', 'agent-*', 'b']);
  assert.equal(m.claims[0].value.metadata.name, 'data');
  assert.equal(m.pods[0].value.spec.containers[0].ports![0].hostPort, undefined);
  assert.throws(() => parseManifests(yaml(p('a'), p('a')), 's.yaml'), /s\.yaml:\d+:\d+ metadata\.name: Pod "a" is defined twice/);
  assert.throws(() => parseManifests(pvc.replace('accessModes: [ReadWriteOnce]', 'volumeMode: Block'), 'c.yaml'), /spec\.volumeMode: only Filesystem/);
});

test('events: repeats are counted, shown as kubectl does ("3s (x4 over 40s)")', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  const e = (s: number, reason: string) => ({ time: t(s), type: 'Warning' as const, reason, container: 'c', message: `${reason} c` });
  const counted = countEvents([e(0, 'BackOff'), e(10, 'Started'), e(20, 'BackOff'), e(37, 'BackOff'), e(38, 'Started')]);
  assert.deepEqual(counted.map((x) => [x.reason, x.count]), [['BackOff', 3], ['Started', 2]]);
  const now = Date.parse(t(40));
  assert.equal(eventAge(counted[0], now), '3s (x3 over 40s)');
  assert.equal(eventAge({ ...counted[1], count: 1 }, now), '2s');
});

test('named volumes: made whole, listed, refused while a pod that is not torn down names it, pruned when unused', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-volumes-'));
  try {
    const roots = { lib: path.join(dir, 'lib'), run: path.join(dir, 'run') };
    const v = createVolume(roots, 'data', { labels: { a: 'b' } });
    assert.equal(v.mountpoint, path.join(roots.lib, 'volumes', 'data', '_data'));
    assert.throws(() => createVolume(roots, 'data'), /already exists/);
    assert.equal(createVolume(roots, 'data', { ifMissing: true }).name, 'data');
    assert.throws(() => createVolume(roots, '../x'), /volume name/);
    createVolume(roots, 'spare');
    const podDir = path.join(roots.run, 'pods', 'user');
    mkdirSync(podDir, { recursive: true });
    writeFileSync(path.join(podDir, 'pod.json'), JSON.stringify({ spec: { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }], containers: [] } }));
    writeFileSync(path.join(podDir, 'state.json'), JSON.stringify({ torndown: false }));
    assert.deepEqual(volumeUsers(roots, 'data'), ['user']);
    assert.throws(() => removeVolume(roots, 'data'), /volume "data" is in use by pod\(s\) user/);
    assert.deepEqual(pruneVolumes(roots), ['spare']);
    writeFileSync(path.join(podDir, 'state.json'), JSON.stringify({ torndown: true }));
    removeVolume(roots, 'data');
    assert.deepEqual(listVolumes(roots), []);
    assert.throws(() => removeVolume(roots, 'data'), /no volume named "data"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
