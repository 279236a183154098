// The native minipod-oci's state logic (native/oci/state.c, hooks.c) against state files in
// a temporary directory, without root: test/native/oci-state-check.c, built with ASan and
// UBSan. The verbs themselves run for real in test/integration/oci*.test.ts.
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
  'signals by name or number; ids that could name a path are refused',
  'a missing state does not exist; a malformed or hostile one is an error',
  'running with the init\'s start time, created while the gate exists, stopped for a reused pid',
  'paused from v1 freezer.state and v2 cgroup.events',
  'the state JSON escapes the state file\'s strings and says pid 0 once stopped',
  'a hook gets the state on stdin and only its env; the first failure stops, its stderr the message',
  'a hook past its timeout is killed',
];

describe('the native minipod-oci state (C, fake state files)', { skip: haveCc ? false : 'needs a C compiler (cc)' }, () => {
  let dir: string;
  let out = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-oci-check-'));
    const bin = path.join(dir, 'oci-state-check');
    const src = (f: string) => path.join(repo, f);
    const cc = spawnSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-format-truncation', '-Werror', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-o', bin, src('test/native/oci-state-check.c'), src('native/oci/state.c'), src('native/oci/hooks.c'), src('native/shim/jw.c'), src('native/exec/json.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const r = spawnSync(bin, [], { encoding: 'utf8', env: { ...process.env, TMPDIR: dir } });
    out = `${r.stdout}\n${r.stderr}`;
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));
  for (const c of checks) test(c, () => assert.ok(out.split('\n').includes(`ok ${c}`), out));
});
