// The pod's network is wired by its supervisor over rtnetlink (the plan's host
// operations), and the bridge by the CLI through the addon: no `ip` or `nsenter` process
// runs in a pod's life, and no second Node process (the supervisor undoes the pod itself). Checked by putting an `ip` and an `nsenter` first in PATH that
// record that they ran and fail: the pod must come up, serve on its hostPort, be reached
// from another pod, and go away without either of them running.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, repo, TestHost, waitFor } from './helpers.ts';

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('host operations', { skip: needsRoot }, () => {
  let h: TestHost;
  let tools: string;
  let log: string;
  before(async () => {
    h = new TestHost('host-ops');
    Object.assign(h.env, { MINIPOD_BRIDGE: 'mpt-hostops', MINIPOD_SUBNET: '10.233.0.0/24' });
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
    tools = mkdtempSync(path.join(os.tmpdir(), 'minipod-tools-'));
    log = path.join(tools, 'ran.log');
    for (const t of ['ip', 'nsenter']) {
      writeFileSync(path.join(tools, t), `#!/bin/sh\necho "${t} $*" >> ${log}\nexit 1\n`);
      chmodSync(path.join(tools, t), 0o755);
    }
  });
  after(async () => {
    await h.cli(['rm', '-f', 'netlinked', 'peer', 'misled', 'traced']);
    await h.cli(['network', 'rm']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    rmSync(tools, { recursive: true, force: true });
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  test('a whole pod life under strace -f: no ip, nsenter, conntrack or second Node; one nft to apply, one to undo', { skip: spawnSync('strace', ['-V']).status !== 0 && 'strace is not installed' }, async () => {
    // A detached pod that publishes a port and ends by itself after a moment: strace -f
    // follows the CLI, the supervisor it starts, pause, the container and the supervisor's
    // own teardown, and returns when the last of them has exited.
    const file = h.manifest('traced.json', pod('traced', {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'sleep 0.5'], ports: [{ containerPort: 80, hostPort: 18432 }] }],
    }));
    const trace = path.join(tools, 'execve.log');
    const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', trace, process.execPath, path.join(repo, 'dist', 'minipod.js'), 'run', '-d', file], {
      env: h.env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const execs = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /execve\(/.test(l) && !/= -1 /.test(l))
      .map((l) => path.basename(/execve\("([^"]+)"/.exec(l)![1]));
    const count = (name: string) => execs.filter((e) => e === name).length;
    assert.equal(count(path.basename(process.execPath)), 1, `one Node process in the pod's life: ${execs.join(' ')}`);
    for (const tool of ['ip', 'nsenter', 'conntrack', 'minipod.js']) assert.equal(count(tool), 0, `${tool} ran: ${execs.join(' ')}`);
    assert.equal(count('minipod-shim'), 1, execs.join(' '));
    assert.equal(count('minipod-pause'), 1, execs.join(' '));
    assert.equal(count('nft'), 2, `one nft transaction to program the port, one to take it back: ${execs.join(' ')}`);
    // And the supervisor did undo it: the pod ended, its state is kept, its host side is gone.
    const ps = await h.cli(['ps', '-a']);
    assert.match(ps.stdout, /traced\s+0\/1\s+Completed/);
    const rules = spawnSync('nft', ['list', 'table', 'ip', 'minipod-mpt-hostops'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(rules, /18432/);
    assert.equal((await h.cli(['rm', 'traced'])).code, 0);
  });

  test('a pod on a new bridge comes up, serves its hostPort and is removed without any ip or nsenter process', async () => {
    const env = { PATH: `${tools}:${process.env.PATH}` };
    const web = h.manifest('netlinked.json', pod('netlinked', {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'web', image: 'busybox', command: ['sh', '-c', 'mkdir -p /www && echo wired > /www/index.html && exec httpd -f -p 80 -h /www'], ports: [{ containerPort: 80, hostPort: 18431 }] }],
    }));
    const r = await h.cli(['run', '-d', web], { env });
    assert.equal(r.code, 0, r.stderr);
    const ip = r.stdout.trim().split(' ')[1];
    assert.match(ip, /^10\.233\.0\.\d+$/);
    assert.equal(await waitFor(() => get('http://127.0.0.1:18431/').catch(() => undefined), 'the hostPort'), 'wired\n');
    // Another pod reaches it over the bridge, at the address the host operations gave it.
    const peer = h.manifest('peer.json', pod('peer', { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['wget', '-qO-', `http://${ip}/`] }] }));
    const p = await h.cli(['run', peer], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout + p.stderr, /\[c\] wired/);
    const routes = await h.cli(['exec', 'netlinked', '-c', 'web', '--', 'cat', '/proc/net/route'], { env });
    assert.match(routes.stdout, /^eth0\s+00000000\s+0100E90A/m, 'the default route via the gateway 10.233.0.1');
    assert.equal((await h.cli(['rm', 'netlinked'], { env })).code, 0);
    assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'no ip or nsenter ran');
    assert.deepEqual(readdirSync('/sys/class/net/mpt-hostops/brif'), [], 'no veth left on the bridge');
  });

  test('exec goes through the supervisor, which joins by the pidfd it holds: a state.json that names another process changes nothing', async () => {
    const file = h.manifest('misled.json', pod('misled', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    // A process of the host (of the test's sandbox), and state.json rewritten to name it:
    // what a pid that was reused would look like.
    const bystander = spawn('sleep', ['1000'], { stdio: 'ignore' });
    try {
      const stateFile = path.join(h.root, 'run', 'pods', 'misled', 'state.json');
      const state = JSON.parse(readFileSync(stateFile, 'utf8'));
      state.containers[0].pid = bystander.pid;
      state.pause.ipcNs = 1;
      writeFileSync(stateFile, JSON.stringify(state));
      const r = await h.cli(['exec', 'misled', '--', 'sh', '-c', 'touch /tmp/ran-in-the-wrong-place; cat /proc/1/cmdline | tr "\\0" " "']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stdout.trim(), 'sleep 1000', 'it ran in the container: its PID 1 is the container\'s sleep');
      assert.ok(!existsSync('/tmp/ran-in-the-wrong-place'), 'nothing ran in the host process\'s namespaces');
    } finally {
      bystander.kill('SIGKILL');
      rmSync('/tmp/ran-in-the-wrong-place', { force: true });
    }
  });

  test('a host operation that fails is reported as {step, syscall, errno, path}: the executor\'s own walk', () => {
    // The executor's own walk, in a network namespace of its own (unshare -n).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-hostops-run-'));
    try {
      const bin = path.join(dir, 'plan-check');
      const exec = path.join(repo, 'native', 'exec');
      const cc = spawnSync('cc', ['-Wall', '-Wextra', '-Werror', `-I${exec}`, '-o', bin, path.join(repo, 'test/native/plan-check.c'), ...['json.c', 'plan.c', 'describe.c'].map((f) => path.join(exec, f)), ...['hostops.c', 'nl.c', 'ct.c'].map((f) => path.join(repo, 'native', 'net', f))], { encoding: 'utf8' });
      assert.equal(cc.status, 0, cc.stderr);
      const ops = [
        { op: 'link', netns: 'host', name: 'lo', up: true },
        { op: 'addr', netns: 'host', dev: 'nosuch0', address: '10.9.9.9', prefix: 24 },
        { op: 'veth', name: 'mpnever', peer: 'mpnever1', peerNetns: 'pod' },
      ];
      const r = spawnSync('unshare', ['-n', bin, 'hostops-run'], { input: JSON.stringify(ops), encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^failed: .*nosuch0.*ENODEV.*\[step hostOps\[1\]:addr, RTM_NEWADDR\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
