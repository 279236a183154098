// Static checks of volumes, mounts and env references: each problem names its field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { Container, Pod, Volume } from '../../src/spec/types.ts';
import { validateVolumes } from '../../src/volumes/validate.ts';

function podOf(volumes: unknown[], containers: Partial<Container>[] = [{}]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo' },
    spec: { volumes: volumes as Volume[], containers: containers.map((c, i) => ({ name: `c${i}`, image: 'busybox', ...c })) },
  };
}

/** "field: message" of every problem. */
const problems = (pod: Pod) => validateVolumes(pod).map((p) => `${p.field}: ${p.message}`);

function expectOne(pod: Pod, field: string, message: RegExp): void {
  const found = validateVolumes(pod);
  assert.equal(found.length, 1, `expected one problem, got: ${problems(pod).join(' | ') || 'none'}`);
  assert.equal(found[0].field, field);
  assert.match(found[0].message, message);
}

test('a valid pod with every kind has no problem', () => {
  const pod = podOf(
    [
      { name: 'a', emptyDir: {} },
      { name: 'b', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'c', hostPath: { path: '/srv', type: 'Directory' } },
      { name: 'd', configMap: { name: 'cm', defaultMode: 0o644, items: [{ key: 'k', path: 'dir/file', mode: 0o600 }] } },
      { name: 'e', secret: { secretName: 's', optional: true } },
      { name: 'f', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c0', resource: 'limits.memory', divisor: '1Mi' } }] } },
    ],
    [
      {
        volumeMounts: [
          { name: 'a', mountPath: '/a' },
          { name: 'a', mountPath: '/b', subPath: 'x/y' },
          { name: 'c', mountPath: '/c', subPathExpr: '$(POD)' },
        ],
        env: [{ name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
      },
    ],
  );
  assert.deepEqual(problems(pod), []);
});

test('a mount of an undeclared volume', () => {
  expectOne(podOf([], [{ volumeMounts: [{ name: 'data', mountPath: '/data' }] }]), 'spec.containers[0].volumeMounts[0].name', /no volume named "data"/);
});

test('two volumes with one name, and names that are not DNS labels', () => {
  expectOne(podOf([{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }]), 'spec.volumes[1].name', /declared twice \(also spec.volumes\[0\]\)/);
  expectOne(podOf([{ name: '../etc', emptyDir: {} }]), 'spec.volumes[0].name', /not a DNS-1123 label/);
});

test('exactly one source per volume, and only supported ones', () => {
  expectOne(podOf([{ name: 'v' }]), 'spec.volumes[0]', /needs a source/);
  expectOne(podOf([{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }]), 'spec.volumes[0].hostPath', /exactly one source; "v" has emptyDir and hostPath/);
  expectOne(podOf([{ name: 'v', nfs: { server: 'x' } }]), 'spec.volumes[0].nfs', /volume source "nfs" is not supported/);
});

test('modes are 0..0777; a decimal that looks octal gets a hint', () => {
  expectOne(podOf([{ name: 'v', configMap: { name: 'cm', defaultMode: 644 } }]), 'spec.volumes[0].configMap.defaultMode', /between 0 and 0777.*did you mean 0644 octal\? write it as 0o644 or 420/);
  expectOne(podOf([{ name: 'v', secret: { secretName: 's', items: [{ key: 'k', path: 'p', mode: -1 }] } }]), 'spec.volumes[0].secret.items[0].mode', /between 0 and 0777/);
  expectOne(podOf([{ name: 'v', downwardAPI: { defaultMode: 0o1777 } }]), 'spec.volumes[0].downwardAPI.defaultMode', /between 0 and 0777/);
});

test('item keys and paths must be valid file names inside the volume', () => {
  const item = (key: string, p: string) => podOf([{ name: 'v', configMap: { name: 'cm', items: [{ key, path: p }] } }]);
  expectOne(item('a/b', 'x'), 'spec.volumes[0].configMap.items[0].key', /not valid/);
  expectOne(item('k', '/etc/passwd'), 'spec.volumes[0].configMap.items[0].path', /must be a relative path/);
  expectOne(item('k', 'a/../../x'), 'spec.volumes[0].configMap.items[0].path', /must not contain '\.\.'/);
  expectOne(item('k', '..data'), 'spec.volumes[0].configMap.items[0].path', /must not start with '\.\.'/);
  expectOne(item('k', 'x'.repeat(256)), 'spec.volumes[0].configMap.items[0].path', /longer than 255/);
  expectOne(podOf([{ name: 'v', configMap: { name: 'cm', items: [{ key: 'a', path: 'p' }, { key: 'b', path: './p' }] } }]), 'spec.volumes[0].configMap.items[1].path', /used twice/);
});

test('subPath: relative without ..; mountPath absolute and unique per container', () => {
  const mount = (vm: object) => podOf([{ name: 'v', emptyDir: {} }], [{ volumeMounts: [{ name: 'v', mountPath: '/m', ...vm }] }]);
  expectOne(mount({ subPath: '/etc' }), 'spec.containers[0].volumeMounts[0].subPath', /relative/);
  expectOne(mount({ subPath: 'a/../../b' }), 'spec.containers[0].volumeMounts[0].subPath', /'\.\.'/);
  expectOne(mount({ subPathExpr: '/$(X)' }), 'spec.containers[0].volumeMounts[0].subPathExpr', /relative/);
  expectOne(mount({ subPath: 'a', subPathExpr: 'b' }), 'spec.containers[0].volumeMounts[0].subPathExpr', /mutually exclusive/);
  expectOne(mount({ mountPath: 'data' }), 'spec.containers[0].volumeMounts[0].mountPath', /absolute/);
  expectOne(
    podOf([{ name: 'v', emptyDir: {} }], [{ volumeMounts: [{ name: 'v', mountPath: '/m' }, { name: 'v', mountPath: '/m/' }] }]),
    'spec.containers[0].volumeMounts[1].mountPath',
    /already mounted by volumeMounts\[0\]/,
  );
  // The same path in two containers is fine.
  assert.deepEqual(problems(podOf([{ name: 'v', emptyDir: {} }], [{ volumeMounts: [{ name: 'v', mountPath: '/m' }] }, { volumeMounts: [{ name: 'v', mountPath: '/m' }] }])), []);
});

test('hostPath: absolute path, known type; emptyDir medium and sizeLimit', () => {
  expectOne(podOf([{ name: 'v', hostPath: { path: 'srv' } }]), 'spec.volumes[0].hostPath.path', /absolute/);
  expectOne(podOf([{ name: 'v', hostPath: { path: '/srv/../etc' } }]), 'spec.volumes[0].hostPath.path', /'\.\.'/);
  expectOne(podOf([{ name: 'v', hostPath: { path: '/srv', type: 'Dir' } }]), 'spec.volumes[0].hostPath.type', /unknown hostPath type "Dir"/);
  expectOne(podOf([{ name: 'v', emptyDir: { medium: 'HugePages' } }]), 'spec.volumes[0].emptyDir.medium', /not supported/);
  expectOne(podOf([{ name: 'v', emptyDir: { sizeLimit: 'lots' } }]), 'spec.volumes[0].emptyDir.sizeLimit', /not a quantity/);
});

test('downwardAPI items: one source, supported fields, containerName for resources', () => {
  const dw = (item: object) => podOf([{ name: 'v', downwardAPI: { items: [{ path: 'f', ...item }] } }]);
  expectOne(dw({}), 'spec.volumes[0].downwardAPI.items[0]', /exactly one of fieldRef and resourceFieldRef/);
  expectOne(dw({ fieldRef: { fieldPath: 'status.podIP' } }), 'spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath', /not supported/);
  expectOne(dw({ resourceFieldRef: { resource: 'limits.cpu' } }), 'spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName', /needs containerName/);
  expectOne(dw({ resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } }), 'spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName', /no container named "nope"/);
  expectOne(dw({ resourceFieldRef: { containerName: 'c0', resource: 'limits.cpu', divisor: '1Mi' } }), 'spec.volumes[0].downwardAPI.items[0].resourceFieldRef', /divisor "1Mi" is not valid for limits.cpu/);
});

test('env references: one source, known fields and resources', () => {
  const env = (e: object) => podOf([], [{ env: [{ name: 'X', ...e }] }]);
  expectOne(env({ value: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }), 'spec.containers[0].env[0].valueFrom', /together with value/);
  expectOne(env({ valueFrom: {} }), 'spec.containers[0].env[0].valueFrom', /exactly one/);
  expectOne(env({ valueFrom: { fieldRef: { fieldPath: 'metadata.labels' } } }), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', /env needs one key/);
  expectOne(env({ valueFrom: { fieldRef: { fieldPath: 'spec.hostname' } } }), 'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath', /not supported/);
  expectOne(env({ valueFrom: { resourceFieldRef: { resource: 'limits.gpu' } } }), 'spec.containers[0].env[0].valueFrom.resourceFieldRef', /resource "limits.gpu" is not supported/);
  expectOne(env({ valueFrom: { configMapKeyRef: { name: 'cm', key: '../x' } } }), 'spec.containers[0].env[0].valueFrom.configMapKeyRef.key', /not valid/);
  expectOne(podOf([], [{ envFrom: [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }] }]), 'spec.containers[0].envFrom[0]', /exactly one/);
  expectOne(podOf([], [{ envFrom: [{ configMapRef: { name: 'a' }, prefix: '1-' }] }]), 'spec.containers[0].envFrom[0].prefix', /not a valid environment variable name/);
});

test('init containers are checked too, with their own field paths', () => {
  const pod = podOf([]);
  pod.spec.initContainers = [{ name: 'i', image: 'busybox', volumeMounts: [{ name: 'x', mountPath: '/x' }] }];
  expectOne(pod, 'spec.initContainers[0].volumeMounts[0].name', /no volume named "x"/);
});

test('mountPropagation: HostToContainer on a whole hostPath, Bidirectional only privileged; anything else is refused by name', () => {
  const vols = [{ name: 'h', hostPath: { path: '/srv' } }, { name: 'e', emptyDir: {} }];
  const mount = (vm: Record<string, unknown>, privileged = false) => podOf(vols, [{ volumeMounts: [{ name: 'h', mountPath: '/h', ...vm }] as Container['volumeMounts'], ...(privileged ? { securityContext: { privileged: true } } : {}) }]);
  assert.deepEqual(problems(mount({ mountPropagation: 'HostToContainer' })), []);
  assert.deepEqual(problems(mount({ mountPropagation: 'Bidirectional' }, true)), []);
  const f = 'spec.containers[0].volumeMounts[0].mountPropagation';
  expectOne(mount({ mountPropagation: 'Bidirectional' }), f, /only to privileged containers/);
  expectOne(mount({ mountPropagation: 'Sideways' }), f, /"Sideways" is not one of None, HostToContainer, Bidirectional/);
  expectOne(mount({ mountPropagation: 'HostToContainer', subPath: 'x' }), f, /with a subPath is not supported/);
  expectOne(podOf(vols, [{ volumeMounts: [{ name: 'e', mountPath: '/e', mountPropagation: 'HostToContainer' }] }]), f, /needs a hostPath volume/);
});
