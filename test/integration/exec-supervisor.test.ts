// `minipod exec` is a request to the pod's supervisor over RUN_DIR/control.sock
// (native/shim/control.c): the supervisor joins the container by the pidfd it holds and
// spawns the command as its own child. These tests attack that path from inside a root
// container and from a client: a terminal multiplexer the container replaced, a request to
// run something outside the container, and a client that goes away mid-command.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadNative } from '../../src/native/load.ts';
import { busyboxRootfs, cliPath, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

describe('exec through the supervisor', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('exec-sup');
    Object.assign(h.env, { MINIPOD_BRIDGE: 'mpt-execsup', MINIPOD_SUBNET: '10.234.0.0/24' });
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
    const file = h.manifest('target.json', pod('target', {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'c', image: 'busybox', command: ['sleep', '1000'] },
        // Privileged: it can unmount its /dev/pts and put something else there.
        { name: 'priv', image: 'busybox', command: ['sleep', '1000'], securityContext: { privileged: true } },
      ],
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'target']);
    await h.cli(['network', 'rm']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  const sh = (container: string, script: string) => h.cli(['exec', 'target', '-c', container, '--', 'sh', '-c', script]);

  test('the control socket is root-only: 0600 in the pod\'s 0700 run directory', () => {
    const run = path.join(h.root, 'run', 'pods', 'target');
    assert.equal(statSync(run).mode & 0o777, 0o700);
    const sock = statSync(path.join(run, 'control.sock'));
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o600);
  });

  test('exec -t from a container whose /dev/pts/ptmx is a symlink: refused, nothing opened through it, the pod runs on', async () => {
    const plant = await sh('priv', 'umount /dev/pts && mount -t tmpfs none /dev/pts && ln -s /dev/null /dev/pts/ptmx && ls -l /dev/pts/ptmx');
    assert.equal(plant.code, 0, plant.stderr);
    const r = await h.cli(['exec', '-t', 'target', '-c', 'priv', '--', 'tty']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /exec: open \/dev\/pts\/ptmx in the container: Too many levels of symbolic links/);
    assert.equal((await sh('c', 'echo alive')).stdout, 'alive\n', 'the supervisor still serves the pod');
  });

  test('exec -t from a container whose /dev/pts/ptmx is a FIFO on a tmpfs: refused as not a devpts multiplexer', async () => {
    const plant = await sh('priv', 'rm -f /dev/pts/ptmx && mkfifo /dev/pts/ptmx');
    assert.equal(plant.code, 0, plant.stderr);
    const r = await h.cli(['exec', '-t', 'target', '-c', 'priv', '--', 'tty']);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /the container's \/dev\/pts\/ptmx is not a devpts terminal multiplexer/);
    // The other container's terminal is its own devpts, untouched.
    const ok = await h.cli(['exec', '-t', 'target', '-c', 'c', '--', 'tty']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\/dev\/pts\/\d+/);
  });

  test('a request to run anything but a join of the named container is refused, and nothing runs', () => {
    const native = loadNative();
    const run = path.join(h.root, 'run', 'pods', 'target');
    const marker = path.join(h.root, 'escaped');
    const base = {
      pod: 'target', container: 'c', loopbackUp: false, user: { uid: 0, gid: 0, groups: [] }, capabilities: null,
      noNewPrivileges: false, cwd: '/', argv: ['/bin/sh', '-c', `touch ${marker}`], env: ['PATH=/bin'],
    };
    const asks = [
      // New namespaces of its own, in the host's filesystem: outside every container.
      { ...base, namespaces: [{ type: 'mnt', action: 'create' }], mounts: [] },
      // Pause's namespaces, not the container's.
      { ...base, namespaces: [{ type: 'net', action: 'join', path: '@pause/net' }], mounts: [] },
      // Another container's namespaces under this one's name.
      { ...base, namespaces: [{ type: 'mnt', action: 'join', path: '@container:priv/mnt' }], mounts: [] },
      // The container's namespaces, plus a mount of the host's root.
      { ...base, namespaces: [{ type: 'mnt', action: 'join', path: '@container:c/mnt' }], mounts: [{ op: 'bind', source: '/', dst: '/host', readOnly: false, recursive: true }] },
    ];
    for (const process of asks) {
      const r = native.control(run, JSON.stringify({ op: 'exec', container: 'c', tty: false, process }), [0, 1, 2]);
      native.close(r.fd);
      assert.match(r.reply, /^error (the process may only join the named container's namespaces|the process must join|an exec'd process mounts nothing)/, JSON.stringify(process.namespaces));
    }
    assert.ok(!existsSync(marker), 'nothing ran');
  });

  test('a client that goes away mid-command takes the command with it', async () => {
    const child = spawn(process.execPath, [cliPath, 'exec', 'target', '-c', 'c', '--', 'sleep', '4242'], { env: h.env, stdio: 'ignore' });
    const running = () => sh('c', 'ps -o args | grep -c "^sleep 4242"').then((r) => Number(r.stdout.trim()));
    await waitFor(async () => ((await running()) === 1 ? true : undefined), 'the command to run');
    child.kill('SIGKILL');
    await waitFor(async () => ((await running()) === 0 ? true : undefined), 'the command to be killed with its client');
  });
});
