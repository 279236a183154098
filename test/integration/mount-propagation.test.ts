// volumeMounts[].mountPropagation on real mounts: a hostPath mounted HostToContainer sees
// what the host mounts under it later; Bidirectional (privileged only) also gives the host
// what the container mounts there; None (the default) neither. The host's side is made a
// shared mount here, as the kubelet requires of a node, inside the suite's own mount
// namespace; and none of the pod's other mounts (rootfs, proc, /dev, volumes) reaches it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, TestHost, waitFor, type CliResult } from './helpers.ts';

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

const hostMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((l) => l.split(' ')[4]);
const sh = (c: string) => assert.equal(spawnSync('sh', ['-c', c]).status, 0, c);

test('mountPropagation: HostToContainer receives the host\'s mounts, Bidirectional gives the host the container\'s, None neither', { skip: needsRoot }, async () => {
  const h = new TestHost('propagation');
  h.env.MINIPOD_BRIDGE = 'mpprop0';
  h.env.MINIPOD_SUBNET = '10.232.0.0/24';
  const base = path.join(h.root, 'host');
  const dirs = { bi: path.join(base, 'bi'), h2c: path.join(base, 'h2c'), none: path.join(base, 'none') };
  for (const d of Object.values(dirs)) {
    mkdirSync(path.join(d, 'from-ctr'), { recursive: true });
    mkdirSync(path.join(d, 'from-host'), { recursive: true });
    sh(`mount --bind ${d} ${d} && mount --make-shared ${d}`);
  }
  const before = hostMounts();
  try {
    const exec = (script: string) => h.cli(['exec', 'prop', '-c', 'app', '--', 'sh', '-c', script]);
    const file = h.manifest('prop.json', pod('prop', {
      terminationGracePeriodSeconds: 1,
      volumes: Object.entries(dirs).map(([name, p]) => ({ name, hostPath: { path: p, type: 'Directory' } })),
      containers: [{
        name: 'app',
        image: busyboxRootfs(),
        command: ['sleep', '1000'],
        securityContext: { privileged: true },
        volumeMounts: [
          { name: 'bi', mountPath: '/bi', mountPropagation: 'Bidirectional' },
          { name: 'h2c', mountPath: '/h2c', mountPropagation: 'HostToContainer' },
          { name: 'none', mountPath: '/none' },
        ],
      }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    assert.deepEqual(hostMounts().filter((m) => !before.includes(m) && m.startsWith(base)), [], 'starting the pod mounted nothing under the host\'s shared directories');
    ok(await exec('for d in bi h2c none; do mount -t tmpfs ctr /$d/from-ctr; done'), 'the container mounts');
    const fromCtr = (d: string) => hostMounts().includes(path.join(d, 'from-ctr'));
    assert.deepEqual([fromCtr(dirs.bi), fromCtr(dirs.h2c), fromCtr(dirs.none)], [true, false, false], 'only Bidirectional gives the host the container\'s mount');
    for (const d of Object.values(dirs)) sh(`mount -t tmpfs host ${d}/from-host`);
    const seen = await waitFor(async () => {
      const r = await exec("for d in bi h2c none; do grep -c \" /$d/from-host \" /proc/self/mountinfo; done");
      return r.stdout.trim().split('\n').length === 3 ? r.stdout.trim().split('\n') : undefined;
    }, 'the container looked');
    assert.deepEqual(seen, ['1', '1', '0'], 'HostToContainer and Bidirectional see the host\'s mount; None does not');
    ok(await h.cli(['rm', '-f', 'prop']), 'rm');
  } finally {
    await h.cli(['rm', '-f', 'prop']);
    // What the container propagated to the host stays there after it (as with the kubelet): ours to unmount.
    for (const m of hostMounts().filter((x) => x.startsWith(base)).reverse()) spawnSync('umount', ['-l', m]);
  }
  await h.finish([]);
});
