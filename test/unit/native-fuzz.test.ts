// The decoders that read plans from disk as root, fuzzed under AddressSanitizer and
// UndefinedBehaviorSanitizer: a deterministic mutation loop (test/native/fuzz-decoders.c)
// over valid plans, a plan.json and host operations, the same on every machine. For a long
// run: FUZZ_ITERATIONS=2000000 npm test -- test/unit/native-fuzz.test.ts, or libFuzzer
// with clang (see the file's header).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { runtimeDefault } from '../../src/plan/seccomp.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const asan = spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | cc -fsanitize=address,undefined -x c - -o /dev/null'], { encoding: 'utf8' }).status === 0;

let dir: string;
let bin: string;
const seeds: string[] = [];
before(() => {
  if (!asan) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-fuzz-'));
  bin = path.join(dir, 'fuzz-decoders');
  const src = (d: string, f: string) => path.join(repo, 'native', d, f);
  const cc = spawnSync('cc', ['-O1', '-g', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-Wall', '-Wextra', '-Werror', `-I${path.join(repo, 'native', 'exec')}`, '-o', bin, path.join(repo, 'test/native/fuzz-decoders.c'), src('exec', 'json.c'), src('exec', 'plan.c'), src('exec', 'describe.c'), src('net', 'hostops.c'), src('net', 'nl.c'), src('net', 'ct.c'), src('shim', 'journal.c'), src('shim', 'jw.c'), src('exec', 'seccomp.c'), '-lseccomp'], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  const proc = {
    pod: 'p', container: 'c',
    namespaces: [{ type: 'mnt', action: 'create' }, { type: 'net', action: 'join', path: '@pause/net' }, { type: 'pid', action: 'create' }],
    loopbackUp: false,
    mounts: [
      { op: 'propagation', mode: 'rprivate' },
      { op: 'rootfs', kind: 'overlay', lower: ['/l/a', '/l/b'], upper: '/u', work: '/w', target: '/t', readOnly: false, flags: ['nodev'] },
      { op: 'mount', fstype: 'proc', source: 'proc', dst: '/proc', flags: ['nosuid', 'nodev', 'noexec'] },
      { op: 'bind', source: '/s', dst: '/d', readOnly: true, recursive: false },
      { op: 'mknod', dst: '/dev/null', kind: 'c', major: 1, minor: 3, mode: 438 },
      { op: 'symlink', target: '/proc/self/fd', dst: '/dev/fd' },
      { op: 'mkdir', dst: '/work', mode: 493 },
      { op: 'mask', dst: '/proc/kcore' },
      { op: 'readonly', dst: '/proc/sys' },
      { op: 'pivot' },
    ],
    user: { uid: 1000, gid: 1000, groups: [5, 6] },
    capabilities: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'],
    noNewPrivileges: true, cwd: '/', argv: ['/bin/sh', '-c', 'echo é'], env: ['PATH=/bin', 'A=\u0001'], parentDeathSignal: 'SIGKILL',
  };
  const hostOps = [
    { op: 'veth', name: 'mpabc', peer: 'eth0', peerNetns: 'pod' },
    { op: 'link', netns: 'host', name: 'mpabc', master: 'minipod0', up: true },
    { op: 'addr', netns: 'pod', dev: 'eth0', address: '10.90.0.2', prefix: 16 },
    { op: 'route', netns: 'pod', dev: 'eth0', gateway: '10.90.0.1' },
  ];
  const journal = [
    { op: 'lease', file: '/run/minipod/net/minipod0/leases/10.90.0.2', uid: 'u-1' },
    { op: 'umount', path: '/run/minipod/pods/p/shm' },
    { op: 'link', name: 'mpabc' },
    { op: 'nft', what: 'DNAT of hostPort 8080/TCP', script: 'delete element ip minipod-minipod0 hostport_any { tcp . 8080 }\n' },
  ];
  const inputs = {
    'proc.json': proc,
    'hostops.json': hostOps,
    'plan.json': { pod: { pause: proc, hostOps, containers: [] }, supervisor: { stateFile: '/s' } },
    'state.json': { version: 2, host: { pod: 'p', uid: 'u-1' }, journal, torndown: false },
    // A small profile with every kind of rule (the full RuntimeDefault compiles slowly enough
    // to dominate the loop): allow, errno, kill, argument comparisons.
    'seccomp.json': { seccomp: { ...runtimeDefault(['CAP_CHOWN']), rules: [...runtimeDefault(['CAP_CHOWN']).rules.slice(1), { names: ['read', 'write'], action: { action: 'allow' } }, { names: ['kexec_load'], action: { action: 'kill' } }] } },
  };
  for (const [name, v] of Object.entries(inputs)) {
    const f = path.join(dir, name);
    writeFileSync(f, JSON.stringify(v));
    seeds.push(f);
  }
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('the plan, host operation and journal decoders survive mutated input under ASan and UBSan', { skip: asan ? false : 'needs a C compiler with AddressSanitizer' }, () => {
  const iterations = process.env.FUZZ_ITERATIONS ?? '30000';
  const r = spawnSync(bin, ['20261201', iterations, ...seeds], { encoding: 'utf8', env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1' } });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr.slice(0, 4000)}`);
  assert.equal(r.stdout.trim(), `ok ${iterations} inputs`);
});
