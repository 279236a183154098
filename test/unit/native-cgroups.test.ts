// The supervisor's cgroup code (native/shim/cgroups.c) against fake cgroupfs trees, without
// root: test/native/cgroup-check.c. The v2 parts cannot run for real on a v1/v2 hybrid host;
// this is where they are checked, together with test/unit/cgroups-plan.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const haveCc = spawnSync('cc', ['--version']).status === 0;
const checks = [
  'the cgroup ops are decoded fail-closed',
  'v2: settings written in order, the pod dir journaled and made fresh, an existing one refused',
  'OOM kills are counted from v2 memory.events and v1 memory.oom_control',
  'a v2 kill writes cgroup.kill, and a cgroup that does not empty is reported',
];

describe('cgroups in the supervisor (C, fake cgroupfs)', { skip: haveCc ? false : 'needs a C compiler (cc)' }, () => {
  let dir: string;
  let out = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-cgroup-check-'));
    const bin = path.join(dir, 'cgroup-check');
    const src = (f: string) => path.join(repo, f);
    const cc = spawnSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-format-truncation', '-Werror', '-g', `-I${src('native/exec')}`, '-o', bin, src('test/native/cgroup-check.c'), src('native/shim/cgroups.c'), src('native/shim/devices.c'), src('native/shim/readfile.c'), src('native/exec/json.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const r = spawnSync(bin, [], { encoding: 'utf8' });
    out = `${r.stdout}\n${r.stderr}`;
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  for (const c of checks) test(c, () => assert.ok(out.split('\n').includes(`ok ${c}`), out));
});
