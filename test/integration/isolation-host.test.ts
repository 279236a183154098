// Escapes that go through the host's side of a pod, each attempted for real: a pod reaching
// a host service bound to 127.0.0.1 (CVE-2020-8558), gc killing processes that are not the
// pod's (a reused namespace inode), a restart reusing a layer a survivor still changes.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { attackTools, inspect, rootOverlayOptions, statusOf } from './attack.ts';
import { busyboxRootfs, needsRoot, nsInode, pod, TestHost, waitFor } from './helpers.ts';

const ok = (r: { code: number | null; stderr: string }, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}`);

function alive(pid: number): boolean {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(st);
  } catch {
    return false;
  }
}

/** Every process whose IPC namespace is the link given (ipc:[N]). */
function inIpcNamespace(link: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return nsInode(pid, 'ipc') === link;
      } catch {
        return false;
      }
    });
}

describe('isolation: the host side of a pod', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  before(() => {
    h = new TestHost('isolation-host');
    image = busyboxRootfs();
  });
  after(async () => {
    await h.cli(['rm', '-f', 'raw', 'crash-pinned', 'crash-unpinned', 'survivor', 'lone', 'holder', ...Array.from({ length: 8 }, (_, k) => `many-${k}`)]);
    await h.cli(['gc', '--all']);
    await h.cli(['network', 'rm']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] }, 'nothing of any pod is left');
  });

  test('a raw SYN from a pod to 127.0.0.1 gets no answer from a host service bound there; 127.0.0.1:hostPort still reaches a pod', async () => {
    const tools = attackTools('rawsyn');
    const server = net.createServer((s) => s.end('host secret\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const file = h.manifest('raw.json', pod('raw', {
        volumes: [{ name: 'tools', hostPath: { path: tools, type: 'Directory' } }],
        containers: [
          { name: 'attacker', image, command: ['sleep', '1000'], securityContext: { capabilities: { add: ['NET_RAW'] } }, volumeMounts: [{ name: 'tools', mountPath: '/tools', readOnly: true }] },
          { name: 'web', image, command: ['sh', '-c', 'echo pod > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'], ports: [{ containerPort: 8080, hostPort: 18931 }] },
        ],
      }));
      ok(await h.cli(['run', '-d', '--wait', file]), 'run');
      const ip = (await inspect(h, 'raw')).status.podIP!;
      const bridge = h.env.MINIPOD_BRIDGE!;
      const mac = readFileSync(`/sys/class/net/${bridge}/address`, 'utf8').trim();
      const syn = () => h.cli(['exec', 'raw', '-c', 'attacker', '--', '/tools/rawsyn', 'eth0', mac, ip, String(port)]);
      const blocked = await syn();
      assert.deepEqual([blocked.code, blocked.stdout], [0, 'NOANSWER\n'], blocked.stderr);
      // 127.0.0.1:hostPort from the host is DNATed to the pod, and answers.
      const got = await waitFor(async () => {
        const r = await fetch('http://127.0.0.1:18931/');
        return r.ok ? r.text() : undefined;
      }, '127.0.0.1:hostPort to answer');
      assert.equal(got, 'pod\n');
      // Control: without minipod's drop rule the same packet does reach the host service
      // (route_localnet is on for hostPorts), so the check above can fail.
      execFileSync('nft', ['flush', 'chain', 'ip', `minipod-${bridge}`, 'input']);
      const open = await syn();
      assert.equal(open.stdout, 'SYNACK\n', 'without the rule the attack works (the test is real)');
      ok(await h.cli(['rm', '-f', 'raw']), 'rm');
    } finally {
      server.close();
    }
  });

  for (const pinned of [true, false]) {
    const name = pinned ? 'crash-pinned' : 'crash-unpinned';
    test(`${name}: after a crash, gc removes the pod and kills no bystander in a fresh IPC namespace`, async (t) => {
      const file = h.manifest(`${name}.json`, pod(name, { containers: [{ name: 'a', image, command: ['sleep', '1000'] }, { name: 'b', image, command: ['sleep', '1000'] }] }));
      ok(await h.cli(['run', '-d', file]), 'run');
      const i = await inspect(h, name);
      const link = nsInode(i.minipod.pausePid!, 'ipc');
      const procs = [i.minipod.supervisorPid!, ...inIpcNamespace(link)];
      for (const pid of procs) process.kill(pid, 'SIGKILL');
      await waitFor(() => procs.every((p) => !alive(p)), 'the whole pod to die');
      const pin = path.join(h.root, 'run', 'pods', name, 'ipc.ns');
      if (!pinned) execFileSync('umount', [pin]); // as if it crashed before the pin was made
      // Fresh IPC namespaces, one of which may be handed the pod's old inode once it is free.
      const bystanders: ChildProcess[] = [];
      for (let k = 0; k < 20; k++) bystanders.push(spawn('unshare', ['--ipc', 'sleep', '1000'], { stdio: 'ignore' }));
      try {
        await waitFor(() => bystanders.every((b) => b.pid && alive(b.pid) && nsInode(b.pid, 'ipc') !== nsInode(process.pid, 'ipc')), 'the bystanders to start');
        const reused = bystanders.filter((b) => nsInode(b.pid!, 'ipc') === link).length;
        t.diagnostic(`the pod's IPC inode ${link} was ${reused ? `reused by ${reused} bystander(s)` : 'not reused'}${pinned ? ' (pinned: it cannot be)' : ''}`);
        if (pinned) assert.equal(reused, 0, 'a pinned namespace keeps its inode');
        const gc = await h.cli(['gc']);
        ok(gc, 'gc');
        assert.match(gc.stdout, new RegExp(`pod ${name}: supervisor gone`));
        const dead = bystanders.filter((b) => !alive(b.pid!));
        assert.equal(dead.length, 0, `gc killed ${dead.length} bystander(s)`);
        assert.deepEqual(h.podDirs().filter((d) => d.endsWith(name)), [], 'the pod is gone');
      } finally {
        for (const b of bystanders) b.kill('SIGKILL');
      }
    });
  }

  test('pause dies with its supervisor, and pods started at once (some refused) leave no pause that no pod names', async () => {
    const pauses = () =>
      readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map(Number)
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === '/minipod-pause\0';
          } catch {
            return false;
          }
        });
    const ppid = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    const orphans = () => pauses().filter((p) => ppid(p) === 1 || !readFileSync(`/proc/${ppid(p)}/cmdline`, 'utf8').includes('minipod-shim'));

    const sleeper = (name: string, hostPort?: number) => h.manifest(`${name}.json`, pod(name, { containers: [{ name: 'c', image, command: ['sleep', '1000'], ...(hostPort ? { ports: [{ containerPort: 80, hostPort }] } : {}) }] }));
    ok(await h.cli(['run', '-d', sleeper('lone')]), 'run');
    const i = await inspect(h, 'lone');
    process.kill(i.minipod.supervisorPid!, 'SIGKILL');
    await waitFor(() => !alive(i.minipod.pausePid!), 'pause to die with its supervisor (its parent-death signal)');
    ok(await h.cli(['gc']), 'gc');

    ok(await h.cli(['run', '-d', sleeper('holder', 18941)]), 'holder');
    const names = Array.from({ length: 8 }, (_, k) => `many-${k}`);
    const runs = await Promise.all(names.map((n, k) => h.cli(['run', '-d', sleeper(n, k % 2 ? undefined : 18941)])));
    runs.forEach((r, k) => assert.equal(r.code, k % 2 ? 0 : 125, `${names[k]}: ${r.stderr}`));
    assert.deepEqual(orphans(), [], 'every pause has its supervisor');
    ok(await h.cli(['rm', '-f', 'holder', ...names.filter((_, k) => k % 2)]), 'rm');
    assert.deepEqual(orphans(), [], 'still none after the removals');
  });

  test('restart with a survivor: the old layer is not reused, the survivor is killed, nothing outside the layer is removed', async () => {
    // A host directory the survivor points a symlink at from inside its layer.
    const victim = mkdtempSync(path.join(os.tmpdir(), 'minipod-victim-'));
    writeFileSync(path.join(victim, 'precious'), 'keep me\n');
    try {
      const script = [
        'echo "run $(cat /run-count 2>/dev/null || echo first)"',
        'echo again > /run-count',
        'mkdir -p /d/sub && touch /d/sub/f',
        // The survivor outlives this run (PID 1 is pause), swaps /d for a link to the host.
        `(sleep 0.3; rm -rf /d; ln -s ${victim} /d; exec sleep 1000) &`,
        'sleep 3; exit 1',
      ].join('\n');
      const file = h.manifest('survivor.json', pod('survivor', {
        shareProcessNamespace: true,
        restartPolicy: 'OnFailure',
        containers: [{ name: 'c', image, command: ['sh', '-c', script] }],
      }));
      ok(await h.cli(['run', '-d', file]), 'run');
      const layer = path.join(h.root, 'lib', 'pods', 'survivor', 'containers', 'c');
      // The second run: its own layer, a fresh root (the first run's file is not there).
      const second = await waitFor(async () => {
        const s = statusOf(await inspect(h, 'survivor'), 'c');
        return s && s.restartCount >= 1 && s.state.running && s.pid ? s : undefined;
      }, 'the container to restart', 20_000).catch((e) => {
        throw new Error(`${e.message}\n${readFileSync(path.join(h.root, 'run', 'pods', 'survivor', 'supervisor.log'), 'utf8')}`);
      });
      assert.match(rootOverlayOptions(second.pid!), new RegExp(`upperdir=${layer}/upper-${second.restartCount}`));
      const logs = await h.cli(['logs', 'survivor', '-p']);
      assert.match(logs.stdout, /run first/);
      const now = await h.cli(['logs', 'survivor']);
      assert.doesNotMatch(now.stdout, /run again/, 'the first run\'s files are not in the second run\'s root');
      // The first run's survivor was killed when that run ended: at most this run's is left.
      const sleeps = (await h.cli(['exec', 'survivor', '--', 'sh', '-c', 'ps -o args | grep -c "^sleep 1000"'])).stdout.trim();
      assert.ok(Number(sleeps) <= 1, `survivors alive: ${sleeps}`);
      // The first run's layer goes once its namespace is empty; the host dir stays whole.
      await waitFor(() => !existsSync(path.join(layer, 'upper-0')), 'the first layer to be removed', 20_000);
      assert.equal(readFileSync(path.join(victim, 'precious'), 'utf8'), 'keep me\n');
      ok(await h.cli(['rm', '-f', 'survivor']), 'rm');
      assert.equal(readFileSync(path.join(victim, 'precious'), 'utf8'), 'keep me\n', 'teardown did not follow the link either');
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  });
});
