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
    await h.cli(['rm', '-f', 'owned', 'orphan', 'survivor']);
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
    const pod = await runPod(webPod('owned'), { root: h.root, onWarning: (w) => assert.fail(w) });
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
      await assert.rejects(pod.exec('nope', ['true']), /container "nope" not found in pod "owned"/);
    } finally {
      await pod.remove();
    }
    assert.deepEqual(h.podDirs(), []);
  });

  test('bad manifests are rejected before anything is created', async () => {
    await assert.rejects(runPod({ ...webPod('Bad_Name') }, { root: h.root }), /metadata\.name: "Bad_Name" is not a DNS-1123 label/);
    assert.deepEqual(h.podDirs(), []);
  });

  // A child process owns a pod; what happens to the pod when the child goes.
  async function childOwner(name: string, outlive: boolean, end: 'exit' | 'SIGKILL'): Promise<void> {
    const script = path.join(h.root, `${name}.mjs`);
    writeFileSync(
      script,
      `import { runPod } from ${JSON.stringify(path.join(repo, 'dist', 'api.js'))};
       const pod = await runPod(${JSON.stringify(webPod(name))}, { root: ${JSON.stringify(h.root)}, outlive: ${outlive} });
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
    assert.deepEqual(pidsMatching(run), []);
    assert.deepEqual(h.mounts().filter((m) => m.includes('/orphan')), []);
  });

  test('outlive: the pod stays after its owner exits', async () => {
    await childOwner('survivor', true, 'exit');
    const ps = await h.cli(['ps']);
    assert.match(ps.stdout, /^survivor\s+1\/1\s+Running/m);
    const rm = await h.cli(['rm', '-f', 'survivor']);
    assert.equal(rm.code, 0, rm.stderr);
  });
});
