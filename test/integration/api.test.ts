// The typed API as an integration test uses it: start a pod, wait until ready, talk to it,
// remove it — and the guarantee that a pod never outlives the process that owns it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { runPod, type Pod } from '../../src/api.ts';
import { busyboxRootfs, needsRoot, pidsMatching, repo, TestHost, waitFor } from './helpers.ts';

describe('API', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  before(() => {
    h = new TestHost('api');
    image = busyboxRootfs();
  });
  after(async () => {
    await h.cli(['rm', '-f', 'owned', 'orphan', 'survivor', 'stubborn', 'stubborn2']);
    await h.cli(['network', 'rm', '--bridge', 'mpt-apiopt']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  const webPod = (name: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [{ name: 'web', image, command: ['sh', '-c', 'echo ok > /tmp/index.html && echo started && exec httpd -f -p 8080 -h /tmp'] }],
    },
  });

  test('runPod → waitReady → exec, logs, status → remove', async () => {
    const pod = await runPod(webPod('owned'), { root: h.root, cgroupParent: h.cgroupParent, onWarning: (w) => assert.fail(w) });
    try {
      await pod.waitReady({ timeout: 10_000 });
      const r = await waitFor(async () => {
        const x = await pod.exec('web', ['wget', '-qO-', 'http://127.0.0.1:8080/']);
        return x.exitCode === 0 && x;
      }, 'httpd to answer');
      assert.equal(r.stdout, 'ok\n');
      const fail = await pod.exec('web', ['sh', '-c', 'echo oops >&2; exit 5']);
      assert.deepEqual(fail, { exitCode: 5, stdout: '', stderr: 'oops\n' });
      const echo = await pod.exec('web', ['cat'], { input: 'from stdin' });
      assert.equal(echo.stdout, 'from stdin');
      assert.equal(await pod.logs('web'), 'started\n');
      const s = pod.status();
      assert.equal(s.phase, 'Running');
      assert.equal(s.containerStatuses[0].ready, true);
      const st = await pod.stats({ windowMs: 50 });
      assert.ok(st.memoryWorkingSetBytes > 0 && st.containers.map((c) => c.name).includes('web'), JSON.stringify(st));
      await assert.rejects(pod.exec('nope', ['true']), /container "nope" not found in pod "owned"/);
    } finally {
      await pod.remove();
    }
    assert.deepEqual(h.podDirs(), []);
  });

  test('bad manifests are rejected before anything is created', async () => {
    await assert.rejects(runPod({ ...webPod('Bad_Name') }, { root: h.root, cgroupParent: h.cgroupParent }), /metadata\.name: "Bad_Name" is not a DNS-1123 label/);
    assert.deepEqual(h.podDirs(), []);
  });

  // A child process owns a pod; what happens to the pod when the child goes.
  async function childOwner(name: string, outlive: boolean, end: 'exit' | 'SIGKILL'): Promise<void> {
    const script = path.join(h.root, `${name}.mjs`);
    writeFileSync(
      script,
      `import { runPod } from ${JSON.stringify(path.join(repo, 'dist', 'api.js'))};
       const pod = await runPod(${JSON.stringify(webPod(name))}, { root: ${JSON.stringify(h.root)}, cgroupParent: ${JSON.stringify(h.cgroupParent)}, outlive: ${outlive} });
       console.log('up ' + pod.name);
       ${end === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}`,
    );
    const child = spawn(process.execPath, [script], { env: h.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await waitFor(() => out.includes(`up ${name}`), `the child to start ${name}`, 20_000);
    if (end === 'SIGKILL') child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once('exit', r)));
  }

  test('a pod is removed when its owner dies, even by SIGKILL', async () => {
    await childOwner('orphan', false, 'SIGKILL');
    const run = path.join(h.root, 'run', 'pods', 'orphan');
    await waitFor(() => !existsSync(run), 'the orphaned pod to be removed', 15_000);
    // Its supervisor removed the directory as its last step, and exits right after.
    await waitFor(() => pidsMatching(run).length === 0, 'the supervisor to have exited', 5000);
    assert.deepEqual(h.mounts().filter((m) => m.includes('/orphan')), []);
  });

  test('outlive: the pod stays after its owner exits', async () => {
    await childOwner('survivor', true, 'exit');
    const ps = await h.cli(['ps']);
    assert.match(ps.stdout, /^survivor\s+1\/1\s+Running/m);
    const rm = await h.cli(['rm', '-f', 'survivor']);
    assert.equal(rm.code, 0, rm.stderr);
  });

  // A container that ignores SIGTERM, with a grace period far longer than any test waits.
  const stubborn = (name: string): Pod => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { terminationGracePeriodSeconds: 600, containers: [{ name: 'c', image, command: ['sh', '-c', 'trap "" TERM; echo up; while :; do sleep 1; done'] }] },
  });

  test('bridge and subnet are values of RunPodOptions; stop({gracePeriodSeconds: 0}) does not wait the pod\'s 600 s', async () => {
    const pod = await runPod(stubborn('stubborn'), { root: h.root, cgroupParent: h.cgroupParent, bridge: 'mpt-apiopt', subnet: '10.234.0.0/24' });
    try {
      assert.match(pod.ip ?? '', /^10\.234\.0\.\d+$/);
      assert.ok(existsSync('/sys/class/net/mpt-apiopt'), 'the bridge the options named');
      await waitFor(async () => (await pod.logs('c')).includes('up'), 'the container to start');
      const t0 = Date.now();
      await pod.stop({ gracePeriodSeconds: 0 });
      assert.ok(Date.now() - t0 < 60_000, 'stopped without the 600 s grace period');
      assert.notEqual(pod.status().phase, 'Running', 'the pod has ended');
    } finally {
      await pod.remove({ force: true });
    }
  });

  test('remove({force: true}) kills at once instead of waiting the grace period', async () => {
    const pod = await runPod(stubborn('stubborn2'), { root: h.root, cgroupParent: h.cgroupParent });
    await waitFor(async () => (await pod.logs('c')).includes('up'), 'the container to start');
    const t0 = Date.now();
    await pod.remove({ force: true });
    assert.ok(Date.now() - t0 < 60_000, 'removed without the 600 s grace period');
    assert.ok(!existsSync(path.join(h.root, 'run', 'pods', 'stubborn2')), 'nothing of the pod is left');
  });
});
