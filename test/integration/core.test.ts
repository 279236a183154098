// The seed scenarios on real namespaces: containers of one pod share pause's network, IPC
// and UTS namespaces (and, with shareProcessNamespace, its PID namespace); each has its own
// mount namespace over its own root. What we check is what the kernel says.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { inspect, type Inspected } from './attack.ts';
import { busyboxRootfs, needsRoot, nsInode, pidsMatching, pod, TestHost, waitFor } from './helpers.ts';

function pidOf(i: Inspected, container: string): number {
  const pid = i.status.containerStatuses.find((c) => c.name === container)?.pid;
  assert.ok(pid, `container ${container} has a pid`);
  return pid;
}

describe('core runtime', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  before(() => {
    h = new TestHost('core');
    image = busyboxRootfs();
  });
  after(async () => {
    await h.cli(['rm', '-f', 'share', 'solo', 'ports', 'broken']);
    await h.cli(['gc', '--all']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] }, 'nothing of any pod is left');
  });

  test('containers share net, ipc, uts with pause; pid only with shareProcessNamespace; mnt is their own', async () => {
    for (const [name, share] of [['share', true], ['solo', false]] as const) {
      const file = h.manifest(`${name}.json`, pod(name, {
        shareProcessNamespace: share,
        hostname: `${name}-host`,
        containers: [
          { name: 'a', image, command: ['sleep', '1000'] },
          { name: 'b', image, command: ['sleep', '1000'] },
        ],
      }));
      const r = await h.cli(['run', '-d', file]);
      assert.equal(r.code, 0, r.stderr);
      const i = await inspect(h, name);
      const pause = i.minipod.pausePid;
      assert.ok(pause);
      const [a, b] = [pidOf(i, 'a'), pidOf(i, 'b')];
      for (const ns of ['net', 'ipc', 'uts']) {
        assert.equal(nsInode(a, ns), nsInode(pause, ns), `${name}: a shares pause's ${ns}`);
        assert.equal(nsInode(b, ns), nsInode(pause, ns), `${name}: b shares pause's ${ns}`);
        assert.notEqual(nsInode(pause, ns), nsInode(process.pid, ns), `${name}: pause's ${ns} is not the host's`);
      }
      assert.notEqual(nsInode(a, 'mnt'), nsInode(b, 'mnt'));
      assert.notEqual(nsInode(a, 'mnt'), nsInode(process.pid, 'mnt'));
      if (share) {
        assert.equal(nsInode(a, 'pid'), nsInode(pause, 'pid'));
        assert.equal(nsInode(b, 'pid'), nsInode(pause, 'pid'));
      } else {
        assert.notEqual(nsInode(a, 'pid'), nsInode(b, 'pid'));
        assert.notEqual(nsInode(a, 'pid'), nsInode(pause, 'pid'));
      }
      // The hostname is the pod's, set once in the UTS namespace every container joins.
      const hn = await h.cli(['exec', name, '-c', 'b', '--', 'hostname']);
      assert.equal(hn.stdout.trim(), `${name}-host`);
      // Each container is pivoted into its own root: its / is not the host's.
      assert.equal(readFileSync(`/proc/${a}/mounts`, 'utf8').split('\n').find((l) => l.split(' ')[1] === '/')?.split(' ')[2], 'overlay');
    }
    // With a shared PID namespace, pause is PID 1 and every container sees the others.
    const ps = await h.cli(['exec', 'share', '-c', 'a', '--', 'ps', '-o', 'pid,comm']);
    const lines = ps.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(lines[0], ['1', 'minipod-pause']);
    assert.equal(lines.filter((l) => l[1] === 'sleep').length, 2);
    const solo = await h.cli(['exec', 'solo', '-c', 'a', '--', 'ps', '-o', 'pid,comm']);
    assert.deepEqual(solo.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[1]), ['sleep', 'ps']);
  });

  test('localhost TCP, POSIX and SysV shared memory cross containers; each pod has its own', async () => {
    const file = h.manifest('ports.json', pod('ports', {
      restartPolicy: 'Never',
      containers: [
        { name: 'web', image, command: ['httpd', '-f', '-p', '8080', '-h', '/dev/shm'], ports: [{ containerPort: 8080 }] },
        { name: 'twin', image, command: ['httpd', '-f', '-p', '8080'], ports: [{ containerPort: 8080 }] },
        { name: 'client', image, command: ['sleep', '1000'] },
      ],
    }));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /8080\/TCP is also declared by spec\.containers\[0\]\.ports\[0\]/, 'the port clash is warned about');
    // The second bind of 8080 in the shared network namespace fails.
    const twin = await waitFor(async () => (await inspect(h, 'ports')).status.containerStatuses.find((c) => c.name === 'twin' && c.state.terminated), 'twin to exit');
    assert.equal(twin.state.terminated.exitCode, 1);
    const logs = await h.cli(['logs', 'ports', '-c', 'twin']);
    assert.match(logs.stdout, /Address (already )?in use/);
    // POSIX shm: /dev/shm is one tmpfs per pod.
    assert.equal((await h.cli(['exec', 'ports', '-c', 'client', '--', 'sh', '-c', 'echo shared > /dev/shm/note'])).code, 0);
    const got = await waitFor(async () => {
      const w = await h.cli(['exec', 'ports', '-c', 'client', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/note']);
      return w.code === 0 && w.stdout;
    }, 'the web container to serve /dev/shm/note over localhost');
    assert.equal(got, 'shared\n');
    // SysV shm: a segment made in one container's IPC namespace is seen by another.
    const i = await inspect(h, 'ports');
    const web = pidOf(i, 'web');
    // Without spec.hostname, the hostname is the pod's name.
    assert.equal((await h.cli(['exec', 'ports', '-c', 'client', '--', 'hostname'])).stdout, 'ports\n');
    // Pod names are unique on the host.
    const again = await h.cli(['run', '-d', file]);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /pod "ports" already exists/);
    const id = execFileSync('nsenter', ['-t', String(web), '--ipc', 'python3', '-c', 'import ctypes; print(ctypes.CDLL(None).shmget(0x4d50, 4096, 0o1644))'], { encoding: 'utf8' }).trim();
    assert.ok(Number(id) >= 0, `shmget gave ${id}`);
    // /proc/sysvipc/shm lists the reader's IPC namespace; the key 0x4d50 is 19792.
    const ipcs = await h.cli(['exec', 'ports', '-c', 'client', '--', 'cat', '/proc/sysvipc/shm']);
    assert.match(ipcs.stdout, /^\s*19792\s/m);
    assert.doesNotMatch(readFileSync('/proc/sysvipc/shm', 'utf8'), /^\s*19792\s/m, "the host's IPC namespace does not see it");
  });

  test('a command that does not exist is a StartError naming the container, with exit code 128', async () => {
    const file = h.manifest('broken.json', pod('broken', {
      restartPolicy: 'Never',
      containers: [{ name: 'nope', image, command: ['no-such-binary'] }],
    }));
    const r = await h.cli(['run', file]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /\[nope\] failed to start: exec "no-such-binary": executable file not found in \$PATH/);
    // run -d says so too, as podman run -d: 127 for a command not found; the pod stays.
    const d = await h.cli(['run', '-d', file]);
    assert.equal(d.code, 127, d.stderr);
    assert.match(d.stderr, /pod "broken" container "nope" failed to start: exec "no-such-binary": executable file not found in \$PATH \(ENOENT\)/);
    const term = await waitFor(async () => (await inspect(h, 'broken')).status.containerStatuses[0].state.terminated, 'nope to be terminated');
    assert.equal(term.exitCode, 128);
    assert.equal(term.reason, 'StartError');
    assert.match(term.message ?? '', /no-such-binary/);
  });

  test('a foreground run streams output, exits with the containers code and removes everything', async () => {
    const file = h.manifest('fg.json', pod('fg', {
      restartPolicy: 'Never',
      containers: [{ name: 'only', image, command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] }],
    }));
    const r = await h.cli(['run', file]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout + r.stderr, /\[only\] out/);
    assert.match(r.stdout + r.stderr, /\[only\] err/);
    assert.deepEqual(h.podDirs().filter((d) => d.endsWith('/fg')), []);
    assert.deepEqual(pidsMatching(`${h.root}/run/pods/fg`), []);
  });

  test('SIGINT to a foreground run stops the pod (SIGKILL after the grace period) and removes it', async () => {
    const file = h.manifest('sig.json', pod('sig', {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'polite', image, command: ['sh', '-c', 'trap "echo bye; exit 0" TERM; echo ready; while true; do sleep 0.1; done'] },
        { name: 'stubborn', image, command: ['sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done'] },
      ],
    }));
    const { child, out, done } = h.spawnCli(['run', file]);
    await waitFor(() => (out.stdout + out.stderr).match(/\[(polite|stubborn)\] ready/g)?.length === 2, 'both containers to start', 15_000);
    const t0 = Date.now();
    child.kill('SIGINT');
    const r = await done;
    const took = Date.now() - t0;
    assert.ok(took >= 900, `the stubborn container got its grace period (${took} ms)`);
    assert.match(r.stdout + r.stderr, /\[polite\] bye/);
    assert.match(r.stderr, /\[stubborn\] killed by signal 9/);
    assert.notEqual(r.code, 0);
    assert.deepEqual(h.podDirs().filter((d) => d.endsWith('/sig')), []);
    assert.deepEqual(pidsMatching(`${h.root}/run/pods/sig`), []);
  });

  test('bad input: a clear message with file, line and field, exit 125, nothing created', async () => {
    const cases: [string, string, RegExp][] = [
      ['dup.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: dup}\nspec:\n  containers:\n  - {name: web, image: busybox}\n  - {name: web, image: busybox}\n', /dup\.yaml:7:6 spec\.containers\[1\]\.name: "web" is used twice/],
      ['syntax.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [oops\n', /syntax\.yaml:\d+:\d+ /],
      ['noimage.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: noimage}\nspec:\n  containers:\n  - {name: web, image: nosuchimage}\n', /noimage\.yaml:6:\d+ spec\.containers\[0\]\.image: .*"nosuchimage"/],
      ['unsupported.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: {name: strict}\nspec:\n  os: {name: linux}\n  containers:\n  - {name: web, image: busybox}\n', /unsupported\.yaml:5:3 spec\.os: not supported yet/],
    ];
    for (const [name, text, re] of cases) {
      const r = await h.cli(['run', '--strict', '-d', h.manifest(name, text)]);
      assert.equal(r.code, 125, `${name}: ${r.stderr}`);
      assert.match(r.stderr, re, name);
    }
    const rejected = ['dup', 'noimage', 'strict'];
    assert.deepEqual(h.podDirs().filter((d) => rejected.includes(d.split('/').pop() ?? '')), [], 'no state for a rejected pod');
    const missing = await h.cli(['run', '/nonexistent/pod.yaml']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /\/nonexistent\/pod\.yaml: ENOENT/);
  });
});
