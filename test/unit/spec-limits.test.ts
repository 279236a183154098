// Input that could reach the kernel wrong is refused at the manifest, with its position:
// ids out of Kubernetes' range (a -1 or 2^32 must never become root), NUL bytes, YAML 1.1
// base-60 numbers, oversized annotations and manifests, durations timers cannot hold, and
// image paths that would name the host's root or split into other directories.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { resolveContainerImages } from '../../src/runtime/images.ts';
import { ManifestError, parseManifests } from '../../src/spec/index.ts';
import type { Pod } from '../../src/spec/types.ts';

function errorsOf(text: string): string[] {
  try {
    parseManifests(text, 'pod.yaml');
  } catch (e) {
    assert.ok(e instanceof ManifestError, String(e));
    return e.message.split('\n');
  }
  assert.fail('expected a ManifestError');
}

const podWith = (spec: string, container = '') => `apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
${spec}  containers:
  - name: c
    image: busybox
${container}`;

test('pod-level ids out of range are refused with their position', () => {
  for (const [field, value] of [['runAsUser', '-1'], ['runAsUser', '4294967296'], ['runAsGroup', '2147483648'], ['fsGroup', '-5']]) {
    const errs = errorsOf(podWith(`  securityContext:\n    runAsNonRoot: true\n    ${field}: ${value}\n`));
    assert.deepEqual(errs, [`pod.yaml:8:5 spec.securityContext.${field}: ${value} is out of range (0 to 2147483647)`], field);
  }
  const groups = errorsOf(podWith('  securityContext:\n    supplementalGroups: [1, -1]\n'));
  assert.deepEqual(groups, ['pod.yaml:7:29 spec.securityContext.supplementalGroups[1]: -1 is out of range (0 to 2147483647)']);
});

test('container-level ids out of range are refused with their position', () => {
  const errs = errorsOf(podWith('', '    securityContext:\n      runAsUser: 4294967296\n      runAsGroup: -1\n'));
  assert.deepEqual(errs, [
    'pod.yaml:10:7 spec.containers[0].securityContext.runAsUser: 4294967296 is out of range (0 to 2147483647)',
    'pod.yaml:11:7 spec.containers[0].securityContext.runAsGroup: -1 is out of range (0 to 2147483647)',
  ]);
});

test('a NUL byte in argv, env or a path is refused', () => {
  const errs = errorsOf(podWith('', '    command: ["sh\\0-c"]\n    env:\n    - {name: "A\\0B", value: "x"}\n    - {name: C, value: "1\\x002"}\n'));
  assert.deepEqual(errs, [
    'pod.yaml:9:15 spec.containers[0].command[0]: must not contain a NUL byte',
    'pod.yaml:11:8 spec.containers[0].env[0].name: must not contain a NUL byte',
    'pod.yaml:12:17 spec.containers[0].env[1].value: must not contain a NUL byte',
  ]);
});

test('YAML 1.1 base-60 numbers are refused, quoted they are strings', () => {
  const errs = errorsOf(podWith('', '    ports:\n    - containerPort: 1:20\n'));
  assert.deepEqual(errs, ['pod.yaml:10:22 "1:20" is a YAML 1.1 base-60 number (80); Kubernetes does not read it so: write the number, or quote it for a string']);
  const ok = parseManifests(podWith('', '    env:\n    - {name: T, value: "1:20"}\n'), 'pod.yaml');
  assert.equal(ok.pods[0].value.spec.containers[0].env?.[0].value, '1:20');
});

test('annotations over 256 KiB in all, and manifests over 3 MiB, are refused', () => {
  const big = 'x'.repeat(200 * 1024);
  const errs = errorsOf(`apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    a: "${big}"\n    b: "${big}"\nspec:\n  containers:\n  - {name: c, image: busybox}\n`);
  assert.equal(errs.length, 1);
  assert.match(errs[0], /^pod\.yaml:5:3 metadata\.annotations: the annotations take 409602 bytes; Kubernetes allows at most 262144/);
  assert.throws(() => parseManifests(`# ${'y'.repeat(3 * 1024 * 1024)}\n`, 'huge.yaml'), /huge\.yaml: the manifest is \d+ bytes; at most 3145728/);
});

test('durations longer than the timers hold are refused, not wrapped', () => {
  const errs = errorsOf(podWith('  terminationGracePeriodSeconds: 3000000\n', '    readinessProbe:\n      exec: {command: ["true"]}\n      periodSeconds: 99999999\n'));
  assert.deepEqual(errs, [
    'pod.yaml:6:3 spec.terminationGracePeriodSeconds: 3000000 is longer than minipod can time (at most 2147483 s, about 24 days)',
    'pod.yaml:12:7 spec.containers[0].readinessProbe.periodSeconds: 99999999 is longer than minipod can time (at most 2147483 s, about 24 days)',
  ]);
});

test("image: /path may not be the host's /, hold minipod's state, or contain ':'", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-image-path-'));
  try {
    const roots = { lib: path.join(dir, 'state', 'lib'), run: path.join(dir, 'state', 'run') };
    mkdirSync(roots.lib, { recursive: true });
    mkdirSync(path.join(dir, 'tree'));
    mkdirSync(path.join(dir, 'a:b'));
    symlinkSync('/', path.join(dir, 'root-link'));
    const podOf = (image: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image }] } }) as Pod;
    assert.equal(resolveContainerImages(roots, podOf(path.join(dir, 'tree'))).get('c')?.rootfs, path.join(dir, 'tree'));
    assert.throws(() => resolveContainerImages(roots, podOf('/')), /is the host's root directory/);
    assert.throws(() => resolveContainerImages(roots, podOf(path.join(dir, 'root-link'))), /is the host's root directory/);
    assert.throws(() => resolveContainerImages(roots, podOf(path.join(dir, 'a:b'))), /must not contain ':'/);
    assert.throws(() => resolveContainerImages(roots, podOf(path.join(dir, 'state'))), /minipod's own state/);
    assert.throws(() => resolveContainerImages(roots, podOf(roots.lib)), /minipod's own state/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
