// Correctness fixes that users meet: exit codes that match the README's table (and podman),
// an API that holds one exit listener however many pods it starts, and a start that fails
// after the supervisor is up letting its caller go at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { runPod, type Pod } from '../../src/api.ts';
import { nativeDir } from '../../src/native/load.ts';
import { busyboxRootfs, needsRoot, pod, TestHost } from './helpers.ts';

describe('fixes', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  before(() => {
    h = new TestHost('fixes');
    image = busyboxRootfs();
  });
  after(async () => {
    await h.cli(['rm', '-f', 'codes']);
    await h.cli(['gc', '--all']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  test('exit codes: exec of a missing command 127, of a file that cannot run 126, image rm of a missing image 1', async () => {
    const file = h.manifest('codes.json', pod('codes', { containers: [{ name: 'c', image, command: ['sh', '-c', 'echo x > /tmp/noexec; exec sleep 1000'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const missing = await h.cli(['exec', 'codes', '--', 'no-such-command']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /exec "no-such-command": executable file not found in \$PATH \(ENOENT\)/);
    const noexec = await h.cli(['exec', 'codes', '--', '/tmp/noexec']);
    assert.equal(noexec.code, 126, noexec.stderr);
    const own = await h.cli(['exec', 'codes', '--', 'sh', '-c', 'exit 7']);
    assert.equal(own.code, 7, 'the command\'s own code');
    const img = await h.cli(['image', 'rm', 'no-such-image:1']);
    assert.equal(img.code, 1, img.stderr);
    assert.match(img.stderr, /no such image/);
    assert.equal((await h.cli(['rm', '-f', 'codes'])).code, 0);
  });

  test('the API keeps one exit listener however many pods it starts', async () => {
    const before = process.listenerCount('exit');
    for (let i = 0; i < 12; i++) {
      const p = await runPod(pod(`api-${i}`, { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image, command: ['sleep', '1000'] }] }) as Pod, { root: h.root, cgroupParent: h.cgroupParent });
      if (i % 2) await p.remove(); // some removed, some left to the exit hook
      else await p.stop();
    }
    assert.ok(process.listenerCount('exit') <= before + 1, `exit listeners: ${before} -> ${process.listenerCount('exit')}`);
    await h.cli(['rm', '-f', ...Array.from({ length: 12 }, (_, i) => `api-${i}`)]);
  });

  test('a start that fails after the supervisor is up leaves no timer holding the caller', async () => {
    // A pause that cannot be executed: the supervisor reports it, the start fails.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-badpause-'));
    const saved = process.env.MINIPOD_NATIVE_DIR;
    try {
      for (const f of ['minipod.node', 'minipod-shim']) symlinkSync(path.join(nativeDir(), f), path.join(dir, f));
      writeFileSync(path.join(dir, 'minipod-pause'), 'not a program\n', { mode: 0o644 });
      process.env.MINIPOD_NATIVE_DIR = dir;
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      await assert.rejects(runPod(pod('badpause', { containers: [{ name: 'c', image, command: ['sleep', '1'] }] }) as Pod, { root: h.root, cgroupParent: h.cgroupParent }), /pause/);
      assert.equal(timers(), before, 'no timer left behind by the failed start');
      assert.deepEqual(h.podDirs().filter((d) => d.endsWith('badpause')), [], 'nothing of it left');
    } finally {
      if (saved === undefined) delete process.env.MINIPOD_NATIVE_DIR;
      else process.env.MINIPOD_NATIVE_DIR = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
