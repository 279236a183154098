// The volumes hook's plan contribution without root: mount steps per container, the host
// layout of each volume kind, subPath handled by the executor's beneath-resolution, and the
// host steps `minipod plan` prints.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import type { MountOp } from '../../src/plan/types.ts';
import type { ConfigMap, Pod, Secret } from '../../src/spec/types.ts';
import { contributeVolumes } from '../../src/volumes/contribute.ts';

const dirs = { run: '/run/minipod/pods/demo', lib: '/var/lib/minipod/pods/demo' };

function podOf(spec: Partial<Pod['spec']>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'demo' }, spec: { containers: [], ...spec } };
}

const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web-config' }, data: { 'httpd.conf': 'H:/www\n', 'index.html': 'hi' } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, stringData: { key: 'k'.repeat(5000) } };

function contribute(pod: Pod, configMaps: ConfigMap[] = [cm], secrets: Secret[] = [secret]) {
  return contributeVolumes({ pod, uid: 'u', dirs, configMaps, secrets, facts: {} });
}

const volumes: Pod['spec']['volumes'] = [
  { name: 'shared', emptyDir: {} },
  { name: 'fast', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  { name: 'host', hostPath: { path: '/srv/data/', type: 'DirectoryOrCreate' } },
  { name: 'conf', configMap: { name: 'web-config' } },
  { name: 'certs', secret: { secretName: 'tls', defaultMode: 0o400 } },
  { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
];

test('each volume kind binds its host source; projected volumes are read-only whatever the mount says', () => {
  const pod = podOf({
    volumes,
    initContainers: [{ name: 'init', image: 'busybox', volumeMounts: [{ name: 'shared', mountPath: '/work' }] }],
    containers: [
      {
        name: 'web',
        image: 'busybox',
        volumeMounts: [
          { name: 'shared', mountPath: '/www', readOnly: true },
          { name: 'fast', mountPath: '/cache' },
          { name: 'host', mountPath: '/host' },
          { name: 'conf', mountPath: '/etc/web', readOnly: false },
          { name: 'certs', mountPath: '/certs' },
          { name: 'info', mountPath: '/info' },
        ],
      },
    ],
  });
  const c = contribute(pod);
  // Volumes minipod makes are nodev; a hostPath is bound as it is (it may be a device).
  const bind = (source: string, dst: string, readOnly: boolean): MountOp => ({ op: 'bind', source, dst, readOnly, recursive: true, ...(source.startsWith('/srv') ? {} : { flags: ['nodev'] }) });
  assert.deepEqual(c.mounts!.get('init'), [bind(`${dirs.lib}/volumes/shared`, '/work', false)]);
  assert.deepEqual(c.mounts!.get('web'), [
    bind(`${dirs.lib}/volumes/shared`, '/www', true),
    bind(`${dirs.run}/volumes/fast`, '/cache', false),
    bind('/srv/data', '/host', false),
    bind(`${dirs.lib}/volumes/conf`, '/etc/web', true),
    bind(`${dirs.run}/volumes/certs`, '/certs', true),
    bind(`${dirs.lib}/volumes/info`, '/info', true),
  ]);
});

test('host steps say where each volume lives and what is written, memory and secrets on tmpfs', () => {
  const c = contribute(podOf({ volumes, containers: [{ name: 'a', image: 'busybox' }] }));
  const lines = c.hostSteps!.map((s) => `${s.what}: ${s.command.join(' ')}`);
  assert.deepEqual(lines, [
    `volume "shared" (emptyDir): mkdir -m 0777 ${dirs.lib}/volumes/shared`,
    `volume "fast" (emptyDir, medium Memory): mount -t tmpfs -o nosuid,nodev,mode=0777,size=16777216 tmpfs ${dirs.run}/volumes/fast`,
    'volume "host" (hostPath, type DirectoryOrCreate): bind-source /srv/data',
    `volume "conf" (ConfigMap "web-config"): mkdir -m 0755 ${dirs.lib}/volumes/conf`,
    `volume "conf" (ConfigMap "web-config") files: write ${dirs.lib}/volumes/conf/httpd.conf(0644) ${dirs.lib}/volumes/conf/index.html(0644)`,
    // 5000 bytes take two pages; plus 1 MiB of room.
    `volume "certs" (Secret "tls"): mount -t tmpfs -o nosuid,nodev,noexec,mode=0755,size=${8192 + (1 << 20)} tmpfs ${dirs.run}/volumes/certs`,
    `volume "certs" (Secret "tls") files: write ${dirs.run}/volumes/certs/key(0400)`,
    `volume "info" (downwardAPI): mkdir -m 0755 ${dirs.lib}/volumes/info`,
    `volume "info" (downwardAPI) files: write ${dirs.lib}/volumes/info/labels(0644)`,
  ]);
});

test('subPath and subPathExpr bind a path beneath the volume, resolved by the executor', () => {
  const pod = podOf({
    volumes: [{ name: 'shared', emptyDir: {} }, { name: 'conf', configMap: { name: 'web-config' } }],
    containers: [
      {
        name: 'web',
        image: 'busybox',
        env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'SUB', value: 'logs/$(POD)' }],
        volumeMounts: [
          { name: 'conf', mountPath: '/etc/httpd.conf', subPath: 'httpd.conf' },
          { name: 'shared', mountPath: '/var/log/web', subPathExpr: '$(SUB)/./' },
          { name: 'shared', mountPath: '/all', subPath: '' },
        ],
      },
    ],
  });
  assert.deepEqual(contribute(pod).mounts!.get('web'), [
    { op: 'bind', sourceRoot: `${dirs.lib}/volumes/conf`, source: 'httpd.conf', createSource: true, dst: '/etc/httpd.conf', readOnly: true, recursive: true, flags: ['nodev'] },
    { op: 'bind', sourceRoot: `${dirs.lib}/volumes/shared`, source: 'logs/demo', createSource: true, dst: '/var/log/web', readOnly: false, recursive: true, flags: ['nodev'] },
    { op: 'bind', source: `${dirs.lib}/volumes/shared`, dst: '/all', readOnly: false, recursive: true, flags: ['nodev'] },
  ]);
});

test('subPathExpr: an unset variable or an escaping expansion is an error naming the mount', () => {
  const withExpr = (expr: string, env: { name: string; value: string }[] = []) =>
    podOf({ volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'a', image: 'busybox', env, volumeMounts: [{ name: 'v', mountPath: '/v', subPathExpr: expr }] }] });
  assert.throws(() => contribute(withExpr('$(NOPE)/x')), (e: FieldError) => e.field === 'spec.containers[0].volumeMounts[0].subPathExpr' && /missing value for NOPE/.test(e.message));
  assert.throws(() => contribute(withExpr('a/$(UP)', [{ name: 'UP', value: '../..' }])), (e: FieldError) => e.field === 'spec.containers[0].volumeMounts[0].subPathExpr' && /must not contain '\.\.'/.test(e.message));
  assert.throws(() => contribute(withExpr('$(ABS)', [{ name: 'ABS', value: '/etc' }])), /must be a relative path/);
});

test('the env list goes to the planner per container, init containers included', () => {
  const pod = podOf({
    initContainers: [{ name: 'i', image: 'busybox', env: [{ name: 'A', value: '1' }] }],
    containers: [{ name: 'c', image: 'busybox', env: [{ name: 'B', valueFrom: { configMapKeyRef: { name: 'web-config', key: 'index.html' } } }] }],
  });
  const c = contribute(pod);
  assert.deepEqual(c.env!.get('i'), [{ name: 'A', value: '1' }]);
  assert.deepEqual(c.env!.get('c'), [{ name: 'B', value: 'hi', expand: false }]);
});

test('a missing ConfigMap or Secret fails while planning, naming the volume field; optional gives an empty volume', () => {
  const withVol = (v: NonNullable<Pod['spec']['volumes']>[number]) => podOf({ volumes: [v], containers: [{ name: 'a', image: 'busybox' }] });
  assert.throws(() => contribute(withVol({ name: 'c', configMap: { name: 'nope' } })), (e: FieldError) => e.field === 'spec.volumes[0].configMap.name' && /ConfigMap "nope" not found/.test(e.message));
  assert.throws(() => contribute(withVol({ name: 's', secret: { secretName: 'nope' } })), (e: FieldError) => e.field === 'spec.volumes[0].secret.secretName');
  assert.throws(
    () => contribute(withVol({ name: 'c', configMap: { name: 'web-config', items: [{ key: 'absent', path: 'x' }] } })),
    (e: FieldError) => e.field === 'spec.volumes[0].configMap.items[0].key' && /no key "absent"/.test(e.message),
  );
  const steps = contribute(withVol({ name: 'c', configMap: { name: 'nope', optional: true } })).hostSteps!;
  assert.deepEqual(steps[1].command, ['write']);
});

test('validation problems stop planning with the first one', () => {
  const pod = podOf({ volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'a', image: 'busybox', volumeMounts: [{ name: 'w', mountPath: '/w' }] }] });
  assert.throws(() => contribute(pod), (e: FieldError) => e instanceof FieldError && e.field === 'spec.containers[0].volumeMounts[0].name');
  const unsupported = podOf({ volumes: [{ name: 'v', nfs: { server: 'x', path: '/' } }], containers: [{ name: 'a', image: 'busybox' }] });
  assert.throws(() => contribute(unsupported), (e: FieldError) => e.field === 'spec.volumes[0].nfs' && /not supported/.test(e.message));
  const claim = podOf({ volumes: [{ name: 'v', persistentVolumeClaim: { claimName: 'Bad_Name' } }], containers: [{ name: 'a', image: 'busybox' }] });
  assert.throws(() => contribute(claim), (e: FieldError) => e.field === 'spec.volumes[0].persistentVolumeClaim.claimName');
});
