// What configMap, secret and downwardAPI volumes contain, and how prepare lays volumes out
// on disk (a fake native binding records the tmpfs mounts instead of making them).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { FakeNative } from '../../src/native/fake.ts';
import type { HookContext } from '../../src/runtime/phases.ts';
import type { ConfigMap, Pod, Secret, Volume } from '../../src/spec/types.ts';
import type { HostRecord } from '../../src/state/host.ts';
import { prepareVolumes } from '../../src/volumes/prepare.ts';
import { projectVolume, type ProjectedFile } from '../../src/volumes/projection.ts';

const cm: ConfigMap = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cfg' },
  data: { 'app.conf': 'port=80\n', 'z.txt': 'z' },
  binaryData: { 'logo.bin': Buffer.from([0, 1, 2, 255]).toString('base64') },
};
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { password: Buffer.from('pw').toString('base64'), user: Buffer.from('old').toString('base64') }, stringData: { user: 'admin' } };

function podOf(volumes: Volume[]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo', namespace: 'prod', labels: { tier: 'web', app: 'shop' }, annotations: { 'example.com/q': 'a "quoted"\nline' } },
    spec: { volumes, containers: [{ name: 'app', image: 'busybox', resources: { limits: { memory: '64Mi', cpu: '2' } } }] },
  };
}

function project(v: Volume): ProjectedFile[] | undefined {
  return projectVolume({ pod: podOf([v]), uid: 'uid-7', facts: {}, configMaps: [cm], secrets: [secret] }, v, 'spec.volumes[0]');
}

const text = (files: ProjectedFile[] | undefined) => (files ?? []).map((f) => `${f.path} ${f.mode.toString(8)} ${f.data.toString('utf8')}`);

test('a ConfigMap volume holds every key of data and binaryData, sorted, mode 0644', () => {
  const files = project({ name: 'v', configMap: { name: 'cfg' } })!;
  assert.deepEqual(files.map((f) => [f.path, f.mode]), [['app.conf', 0o644], ['logo.bin', 0o644], ['z.txt', 0o644]]);
  assert.deepEqual([...files[1].data], [0, 1, 2, 255]);
});

test('items pick keys to paths, with their own mode over defaultMode', () => {
  const files = project({ name: 'v', configMap: { name: 'cfg', defaultMode: 0o440, items: [{ key: 'app.conf', path: 'conf/app.conf', mode: 0o400 }, { key: 'z.txt', path: 'z' }] } });
  assert.deepEqual(text(files), ['conf/app.conf 400 port=80\n', 'z 440 z']);
});

test('a Secret volume decodes data and lays stringData over it', () => {
  assert.deepEqual(text(project({ name: 'v', secret: { secretName: 'creds', defaultMode: 0o400 } })), ['password 400 pw', 'user 400 admin']);
});

test('optional: a missing object gives an empty volume, a missing item is skipped', () => {
  assert.deepEqual(project({ name: 'v', secret: { secretName: 'nope', optional: true } }), []);
  assert.deepEqual(text(project({ name: 'v', configMap: { name: 'cfg', optional: true, items: [{ key: 'nope', path: 'n' }, { key: 'z.txt', path: 'z' }] } })), ['z 644 z']);
});

test('downwardAPI files in the kubelet formats', () => {
  const files = project({
    name: 'v',
    downwardAPI: {
      defaultMode: 0o444,
      items: [
        { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
        { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } },
        { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' } },
        { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
        { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' }, mode: 0o400 },
        { path: 'tier', fieldRef: { fieldPath: "metadata.labels['tier']" } },
        { path: 'mem', resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Mi' } },
        { path: 'cpu', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' } },
      ],
    },
  });
  assert.deepEqual(text(files), [
    'name 444 demo',
    'ns 444 prod',
    'uid 444 uid-7',
    'labels 444 app="shop"\ntier="web"',
    'annotations 400 example.com/q="a \\"quoted\\"\\nline"',
    'tier 444 web',
    'mem 444 64',
    'cpu 444 2000',
  ]);
});

test('prepare: emptyDir 0777 on disk, ConfigMap files with their modes; tmpfs mounts recorded before they are made', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-vol-unit-'));
  try {
    const dirs = { run: path.join(root, 'run'), lib: path.join(root, 'lib') };
    const pod = podOf([
      { name: 'scratch', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
      { name: 'conf', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'a/app.conf', mode: 0o600 }] } },
      { name: 'host', hostPath: { path: path.join(root, 'made/here'), type: 'DirectoryOrCreate' } },
    ]);
    const native = new FakeNative();
    const host = { pod: 'demo', uid: 'u', namespace: 'prod', createdAt: '', dirs, detached: false, journal: [] } as HostRecord;
    mkdirSync(dirs.run, { recursive: true });
    const recorded: string[][] = [];
    const mount = native.mount.bind(native);
    native.mount = (...a: Parameters<FakeNative['mount']>) => {
      recorded.push(JSON.parse(readFileSync(path.join(dirs.run, 'state.json'), 'utf8')).journal.map((o: { path: string }) => o.path));
      mount(...a);
    };
    const ctx = { native, pod, uid: 'u', roots: { run: root, lib: root }, dirs, configMaps: [cm], secrets: [], facts: {} } as HookContext;
    prepareVolumes(ctx, host);
    assert.equal(statSync(path.join(dirs.lib, 'volumes/scratch')).mode & 0o7777, 0o777);
    assert.deepEqual(readdirSync(path.join(dirs.lib, 'volumes/scratch')), []);
    const conf = path.join(dirs.lib, 'volumes/conf/a/app.conf');
    assert.equal(readFileSync(conf, 'utf8'), 'port=80\n');
    assert.equal(statSync(conf).mode & 0o777, 0o600);
    assert.ok(statSync(path.join(root, 'made/here')).isDirectory());
    assert.deepEqual(native.mounts, [{ source: 'tmpfs', target: path.join(dirs.run, 'volumes/mem'), fstype: 'tmpfs', flags: ['nosuid', 'nodev'], data: 'mode=0777,size=1048576' }]);
    assert.deepEqual(recorded, [[path.join(dirs.run, 'volumes/mem')]], 'the journal names the mount before it is made');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepare: a hostPath mismatch fails before any volume is made', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-vol-unit-'));
  try {
    const dirs = { run: path.join(root, 'run'), lib: path.join(root, 'lib') };
    const pod = podOf([
      { name: 'scratch', emptyDir: {} },
      { name: 'made', hostPath: { path: path.join(root, 'new'), type: 'DirectoryOrCreate' } },
      { name: 'host', hostPath: { path: path.join(root, 'nope'), type: 'File' } },
    ]);
    const ctx = { native: new FakeNative(), pod, uid: 'u', roots: { run: root, lib: root }, dirs, configMaps: [], secrets: [], facts: {} } as unknown as HookContext;
    assert.throws(() => prepareVolumes(ctx, {} as HostRecord), (e: Error & { field?: string }) => e.field === 'spec.volumes[2].hostPath.path' && /does not exist \(type File needs a regular file\)/.test(e.message));
    assert.deepEqual(readdirSync(root), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
