// Env resolution without root: envFrom, valueFrom references, the downward API and $(VAR)
// expansion, checked through the list the hook hands the planner.
import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { expandEnvList } from '../../src/plan/expand.ts';
import type { ConfigMap, Container, Pod, Secret } from '../../src/spec/types.ts';
import { resolveEnv } from '../../src/volumes/env.ts';
import { goQuote, formatMap } from '../../src/volumes/fieldref.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function podWith(c: Partial<Container>, meta: Partial<Pod['metadata']> = {}, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'demo', namespace: 'team', labels: { app: 'web' }, annotations: { note: 'hi' }, ...meta },
    spec: { containers: [{ name: 'app', image: 'busybox', ...c }], ...spec },
  };
}

const cm: ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { MODE: 'fast', 'bad key': 'x', 'log.level': 'debug', REF: '$(MODE)' } };
const secret: Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, data: { PASSWORD: b64('s3cret') }, stringData: { USER: 'admin' } };

function envOf(pod: Pod, facts: Record<string, string> = {}, objects: { configMaps?: ConfigMap[]; secrets?: Secret[] } = {}) {
  const input = { pod, uid: 'uid-1', facts, configMaps: objects.configMaps ?? [cm], secrets: objects.secrets ?? [secret] };
  return resolveEnv(input, pod.spec.containers[0], 'spec.containers[0]');
}

const final = (pod: Pod, facts: Record<string, string> = {}) => Object.fromEntries(expandEnvList(envOf(pod, facts)));

test('envFrom takes every valid key with the prefix, in key order, unexpanded; invalid names are skipped', () => {
  const pod = podWith({ envFrom: [{ configMapRef: { name: 'cfg' }, prefix: 'CFG_' }, { secretRef: { name: 'creds' } }] });
  assert.deepEqual(envOf(pod), [
    { name: 'CFG_MODE', value: 'fast', expand: false },
    { name: 'CFG_REF', value: '$(MODE)', expand: false },
    { name: 'CFG_log.level', value: 'debug', expand: false },
    { name: 'PASSWORD', value: 's3cret', expand: false },
    { name: 'USER', value: 'admin', expand: false },
  ]);
});

test('env after envFrom overrides it, and a value can refer to envFrom variables', () => {
  const pod = podWith({
    envFrom: [{ configMapRef: { name: 'cfg' } }],
    env: [
      { name: 'MODE', value: 'slow-$(MODE)' },
      { name: 'ALSO', value: '$(REF)' },
    ],
  });
  const env = final(pod);
  assert.equal(env.MODE, 'slow-fast');
  // REF's value came from a ConfigMap: taken literally, and ALSO expands to that literal text.
  assert.equal(env.ALSO, '$(MODE)');
});

test('valueFrom configMapKeyRef and secretKeyRef; values from references are not expanded', () => {
  const pod = podWith({
    env: [
      { name: 'A', value: 'one' },
      { name: 'LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'log.level' } } },
      { name: 'REF', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'REF' } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'PASSWORD' } } },
      { name: 'U', valueFrom: { secretKeyRef: { name: 'creds', key: 'USER' } } },
      { name: 'ALL', value: '$(A):$(LEVEL):$(PW):$(U):$(MISSING):$$(A):$$$(A)' },
    ],
  });
  const env = final(pod);
  assert.equal(env.LEVEL, 'debug');
  assert.equal(env.REF, '$(MODE)');
  assert.equal(env.PW, 's3cret');
  assert.equal(env.U, 'admin');
  assert.equal(env.ALL, 'one:debug:s3cret:admin:$(MISSING):$(A):$one');
});

test('a value refers only to variables defined before it', () => {
  const pod = podWith({ env: [{ name: 'X', value: '$(Y)' }, { name: 'Y', value: 'y' }, { name: 'Z', value: '$(Y)' }] });
  const env = final(pod);
  assert.equal(env.X, '$(Y)');
  assert.equal(env.Z, 'y');
});

test('fieldRef: metadata, labels and annotations by key, addresses, node and service account', () => {
  const pod = podWith(
    {
      env: [
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NONE', valueFrom: { fieldRef: { fieldPath: "metadata.labels['nope']" } } },
        { name: 'NOTE', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'IPS', valueFrom: { fieldRef: { fieldPath: 'status.podIPs' } } },
        { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'URL', value: 'http://$(IP):80/$(NAME)' },
      ],
    },
    {},
    { serviceAccountName: 'robot' },
  );
  const env = final(pod, { podIP: '10.88.0.5', hostIP: '192.0.2.1' });
  assert.deepEqual(
    { ...env },
    {
      NAME: 'demo',
      NS: 'team',
      UID: 'uid-1',
      APP: 'web',
      NONE: '',
      NOTE: 'hi',
      IP: '10.88.0.5',
      IPS: '10.88.0.5',
      HOST_IP: '192.0.2.1',
      NODE: os.hostname(),
      SA: 'robot',
      URL: 'http://10.88.0.5:80/demo',
    },
  );
  // While planning no address is known yet: empty, not an error.
  assert.equal(final(pod).IP, '');
});

test('defaults: namespace "default", service account "default"', () => {
  const pod = podWith({ env: [{ name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } }] }, { namespace: undefined });
  assert.deepEqual({ ...final(pod) }, { NS: 'default', SA: 'default' });
});

test('resourceFieldRef: limits and requests with divisors, rounded up; unset limits are the node capacity', () => {
  const pod = podWith({
    resources: { limits: { cpu: '1500m', memory: '128Mi' }, requests: { cpu: '250m' } },
    env: [
      { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'CPU_M', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
      { name: 'REQ_CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } },
      { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'MEM_M', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1M' } } },
      // requests default to limits when only a limit is set
      { name: 'REQ_MEM', valueFrom: { resourceFieldRef: { resource: 'requests.memory', divisor: '1Mi' } } },
    ],
  });
  const env = final(pod);
  assert.deepEqual({ ...env }, { CPU: '2', CPU_M: '1500', REQ_CPU: '250', MEM: String(128 * 2 ** 20), MEM_MI: '128', MEM_M: '135', REQ_MEM: '128' });
  const bare = podWith({ env: [{ name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }, { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory' } } }, { name: 'REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } }] });
  assert.deepEqual({ ...final(bare) }, { CPU: String(os.availableParallelism()), MEM: String(os.totalmem()), REQ: '0' });
});

test('resourceFieldRef.containerName reads another container', () => {
  const pod = podWith({ env: [{ name: 'SIDE', valueFrom: { resourceFieldRef: { containerName: 'side', resource: 'limits.memory', divisor: '1Ki' } } }] }, {}, {});
  pod.spec.containers.push({ name: 'side', image: 'busybox', resources: { limits: { memory: '1Mi' } } });
  assert.equal(final(pod).SIDE, '1024');
});

test('missing ConfigMap, Secret or key fail naming the field, unless optional (then the variable is not set)', () => {
  const missingCm = podWith({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] });
  assert.throws(() => envOf(missingCm), (e: FieldError) => e.field === 'spec.containers[0].env[0].valueFrom.configMapKeyRef.name' && /ConfigMap "nope" not found in namespace "team"/.test(e.message));
  const missingKey = podWith({ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }] });
  assert.throws(() => envOf(missingKey), (e: FieldError) => e.field === 'spec.containers[0].env[0].valueFrom.secretKeyRef.key' && /Secret "creds" has no key "nope"/.test(e.message));
  const missingFrom = podWith({ envFrom: [{ secretRef: { name: 'gone' } }] });
  assert.throws(() => envOf(missingFrom), (e: FieldError) => e.field === 'spec.containers[0].envFrom[0].secretRef.name');
  const optional = podWith({
    envFrom: [{ configMapRef: { name: 'nope', optional: true } }],
    env: [
      { name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } },
      { name: 'Y', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nope', optional: true } } },
      { name: 'Z', value: 'z' },
    ],
  });
  assert.deepEqual(envOf(optional), [{ name: 'Z', value: 'z' }]);
});

test('objects are looked up in the pod namespace', () => {
  const other: ConfigMap = { ...cm, metadata: { name: 'cfg', namespace: 'elsewhere' } };
  const pod = podWith({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'MODE' } } }] });
  assert.throws(() => envOf(pod, {}, { configMaps: [other] }), /not found in namespace "team"/);
  const same: ConfigMap = { ...cm, metadata: { name: 'cfg', namespace: 'team' } };
  assert.deepEqual(envOf(pod, {}, { configMaps: [other, same] }), [{ name: 'X', value: 'fast', expand: false }]);
});

test('label maps are written as the kubelet writes them: sorted, Go-quoted, no final newline', () => {
  assert.equal(formatMap({ b: '2', a: 'say "hi"\n', c: 'tab\there' }), 'a="say \\"hi\\"\\n"\nb="2"\nc="tab\\there"');
  assert.equal(formatMap(undefined), '');
  assert.equal(goQuote('é\u0001\u00a0\\'), '"é\\x01\\u00a0\\\\"');
});
