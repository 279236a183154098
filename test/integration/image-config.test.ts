// An image's config applied for real: a pod with no command runs the image's Entrypoint and
// Cmd, as the user its User names (resolved through the image's /etc/passwd and
// /etc/group), in its WorkingDir (made when missing), and is stopped with its StopSignal.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

describe('image config', { skip: needsRoot }, () => {
  let h: TestHost;
  let tree: string;
  before(async () => {
    h = new TestHost('image-config');
    tree = path.join(mkdtempSync(path.join(os.tmpdir(), 'minipod-image-config-')), 'rootfs');
    cpSync(busyboxRootfs(), tree, { recursive: true, verbatimSymlinks: true });
    appendFileSync(path.join(tree, 'etc/passwd'), 'app:x:1000:1000::/srv:/bin/sh\n');
    appendFileSync(path.join(tree, 'etc/group'), 'app:x:1000:\nstaff:x:50:app\n');
    const script = 'trap "echo got QUIT; exit 0" QUIT; echo "args: $*"; id; pwd; while :; do sleep 0.1; done';
    const r = await h.cli([
      'image', 'import',
      '--entrypoint', JSON.stringify(['/bin/sh', '-c', script, 'entry']),
      '--cmd', JSON.stringify(['from-cmd']),
      '--user', 'app',
      '--workdir', '/srv/data',
      '--stop-signal', 'QUIT',
      'cfg:1', tree,
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'cfg']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    rmSync(path.dirname(tree), { recursive: true, force: true });
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  test('no command: Entrypoint and Cmd, the named user with its groups, WorkingDir made, StopSignal used', async () => {
    const file = h.manifest('cfg.json', pod('cfg', {
      terminationGracePeriodSeconds: 20,
      securityContext: { supplementalGroups: [4000] },
      containers: [{ name: 'c', image: 'cfg:1' }],
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    const out = await waitFor(async () => {
      const l = (await h.cli(['logs', 'cfg'])).stdout;
      return l.includes('/srv/data') ? l : undefined;
    }, 'the container to report');
    assert.match(out, /^args: from-cmd$/m);
    // The kernel keeps supplementary groups sorted.
    assert.match(out, /^uid=1000\(app\) gid=1000\(app\) groups=50\(staff\),1000\(app\),4000$/m);
    assert.match(out, /^\/srv\/data$/m);
    // Stopped with SIGQUIT (its handler answers at once), not SIGTERM (ignored by PID 1).
    const stop = await h.cli(['stop', 'cfg']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match((await h.cli(['logs', 'cfg'])).stdout, /got QUIT/);
    const plan = await h.cli(['plan', file]);
    assert.match(plan.stdout, /from: argv Entrypoint from the image, Cmd from the image; user image \(User "app"\), app; cwd image; stop signal SIGQUIT \(image\)/);
  });
});
