// `minipod plan` runs without root and without touching the system, and prints the plan
// that `run` would execute.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import type { PodPlan } from '../../src/plan/types.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-plan-'));
const rootfs = path.join(dir, 'rootfs');
mkdirSync(rootfs);
after(() => rmSync(dir, { recursive: true, force: true }));

function plan(manifest: string, ...args: string[]) {
  const file = path.join(dir, 'pod.yaml');
  writeFileSync(file, manifest);
  const env: NodeJS.ProcessEnv = { ...process.env, MINIPOD_ROOT: path.join(dir, 'state') };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(repo, 'src/cli/main.ts'), 'plan', ...args, file], { encoding: 'utf8', env });
}

const manifest = `apiVersion: v1
kind: Pod
metadata: {name: demo}
spec:
  hostname: box
  containers:
  - name: web
    image: ${rootfs}
    command: [httpd, -f]
    env: [{name: WHO, value: world}, {name: GREETING, value: "hi $(WHO) $$(WHO) $(HOSTNAME)"}]
`;

test('plan -o json: pause creates the namespaces, the container joins them and pivots last', () => {
  const r = plan(manifest, '-o', 'json');
  assert.equal(r.status, 0, r.stderr);
  const p = JSON.parse(r.stdout) as PodPlan;
  assert.deepEqual(p.pause.namespaces.map((n) => `${n.action} ${n.type}`), ['create net', 'create uts', 'create ipc', 'create pid', 'create mnt']);
  assert.equal(p.pause.hostname, 'box');
  const c = p.containers[0].process;
  assert.deepEqual(c.namespaces.map((n) => `${n.action} ${n.type}`), ['join ipc', 'join uts', 'join net', 'create pid', 'create mnt', 'create cgroup']);
  assert.equal(c.mounts[0].op, 'propagation');
  assert.equal(c.mounts[1].op, 'rootfs');
  assert.equal(c.mounts.at(-1)?.op, 'pivot');
  assert.deepEqual(c.argv, ['httpd', '-f']);
  // Kubernetes: $(VAR) expands variables defined before it in the container's env, $$
  // escapes, and anything else (HOSTNAME is the runtime's) stays as written.
  assert.ok(c.env.includes('GREETING=hi world $(WHO) $(HOSTNAME)'), c.env.join(' '));
  // Nothing was created: no state root.
  assert.equal(spawnSync('ls', [path.join(dir, 'state')]).status, 2);
});

test('plan (text) names every step; a bad manifest fails with its position', () => {
  const r = plan(manifest);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /pivot_root into the rootfs/);
  const bad = plan(manifest.replace('name: web', 'name: Web'));
  assert.equal(bad.status, 125);
  assert.match(bad.stderr, /pod\.yaml:7:5 spec\.containers\[0\]\.name: "Web" is not a DNS-1123 label/);
});
