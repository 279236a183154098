// The supervisor's state machine (native/shim/pod.c) with a fake clock, without root: a C
// driver (test/native/pod-machine.c) compiles pod.c as it is, replaces the clock and what
// pod.c calls outside itself, and plays scenarios (restarts and their backoff, restart
// policies, init containers, sidecars; then, with the real probes.c, probe thresholds) in
// microseconds instead of the tens of seconds an integration test would wait.
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

const machine = [
  'backoff doubles to its cap and resets after a long run',
  'OnFailure does not restart a success; the pod succeeds',
  'OnFailure restarts a failure',
  'Never leaves a failure; the pod fails',
  'a killed container reports its signal and 137',
  'init containers run one at a time, before the apps',
  'a failing init container is retried in place; the apps wait',
  'an init container failing under Never fails the pod',
  'a sidecar keeps running, is restarted, and does not decide the phase',
  'an OOM kill ends the container OOMKilled with 137, and OnFailure restarts it',
  'a Job pod retries within its backoffLimit, then succeeds',
  'a Job pod fails past its backoffLimit (BackoffLimitExceeded)',
  'a Job pod runs its completions in turn, all of its containers each time',
  'activeDeadlineSeconds fails the pod (DeadlineExceeded)',
];
// With the real probes.c (its handlers replaced: each run is given its result): probe
// thresholds and lifecycle hooks.
const probes = [
  'liveness kills after failureThreshold failures and the container restarts',
  'a liveness kill under Never is not restarted',
  'readiness follows its thresholds and never kills',
  'a startup probe holds liveness back until it succeeds',
  'a probe run still going is not doubled up',
  'postStart holds the next container back until it ends',
  'a failing postStart kills the container (FailedPostStartHook) for a restart',
  'preStop runs before the stop signal, and the grace period counts from it',
  "the stop signal follows preStop's end",
];

describe('the supervisor state machine (C, fake clock)', { skip: haveCc ? false : 'needs a C compiler (cc)' }, () => {
  let dir: string;
  const out: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-pod-machine-'));
    const src = (f: string) => path.join(repo, f);
    for (const [variant, extra] of [['machine', []], ['probes', ['-DMP_REAL_PROBES', src('native/shim/probes.c'), src('native/exec/json.c')]]] as const) {
      const bin = path.join(dir, variant);
      const cc = spawnSync('cc', ['-std=gnu11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Wno-format-truncation', '-Werror', '-g', ...(asan ? ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'] : []), `-I${src('native/exec')}`, '-o', bin, src('test/native/pod-machine.c'), src('native/shim/pod.c'), src('native/exec/describe.c'), ...extra], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const r = spawnSync(bin, [], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' } });
      out[variant] = `${r.stdout}\n${r.stderr}`;
    }
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  for (const [variant, list] of [['machine', machine], ['probes', probes]] as const) {
    for (const s of list) {
      test(s, () => {
        assert.ok(out[variant].split('\n').includes(`ok ${s}`), out[variant]);
      });
    }
  }
});
