// The supervisor's state machine (native/shim/pod.c) with a fake clock, without root: a C
// driver (test/native/pod-machine.c) compiles pod.c as it is, replaces the clock and what
// pod.c calls outside itself, and plays scenarios (restarts and their backoff, restart
// policies, init containers, sidecars) in microseconds instead of the tens of seconds an
// integration test would wait for a real backoff.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const haveCc = spawnSync('cc', ['--version']).status === 0;
const asan = haveCc && spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | cc -fsanitize=address,undefined -x c - -o /dev/null']).status === 0;

const scenarios = [
  'backoff doubles to its cap and resets after a long run',
  'OnFailure does not restart a success; the pod succeeds',
  'OnFailure restarts a failure',
  'Never leaves a failure; the pod fails',
  'a killed container reports its signal and 137',
  'init containers run one at a time, before the apps',
  'a failing init container is retried in place; the apps wait',
  'an init container failing under Never fails the pod',
  'a sidecar keeps running, is restarted, and does not decide the phase',
];

describe('the supervisor state machine (C, fake clock)', { skip: haveCc ? false : 'needs a C compiler (cc)' }, () => {
  let dir: string;
  let out = '';
  let err = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-pod-machine-'));
    const bin = path.join(dir, 'pod-machine');
    const cc = spawnSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror', '-g', ...(asan ? ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'] : []), `-I${path.join(repo, 'native', 'exec')}`, '-o', bin, path.join(repo, 'test/native/pod-machine.c'), path.join(repo, 'native/shim/pod.c'), path.join(repo, 'native/exec/describe.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const r = spawnSync(bin, [], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
    out = r.stdout;
    err = r.stderr;
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const s of scenarios) {
    test(s, () => {
      assert.ok(out.split('\n').includes(`ok ${s}`), `${out}\n${err}`);
    });
  }
});
