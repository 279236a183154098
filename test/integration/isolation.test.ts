// Escapes from a root container to the host, each attempted for real from inside a pod and
// asserted to fail: the join path (exec, probes, hooks), pause as PID 1, capabilities,
// setuid files for host users, device nodes, a FIFO planted for the supervisor.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { attackTools, capsOf, inspect, statusOf } from './attack.ts';
import { busyboxRootfs, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

const ok = (r: { code: number | null; stderr: string }, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}`);

describe('isolation: a root container cannot reach the host', { skip: needsRoot }, () => {
  let h: TestHost;
  let image: string;
  let tools: string;
  let marker: string;
  before(() => {
    h = new TestHost('isolation');
    image = busyboxRootfs();
    tools = attackTools('procscan');
    // A file that exists on the host only: seen through any /proc/N/root, the host leaked.
    marker = mkdtempSync(path.join(os.tmpdir(), 'minipod-host-marker-'));
    writeFileSync(path.join(marker, 'here'), 'host\n');
  });
  after(async () => {
    await h.cli(['rm', '-f', 'scan-shared', 'scan-solo', 'caps', 'suid', 'devs', 'fifo']);
    await h.cli(['gc', '--all']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    rmSync(marker, { recursive: true, force: true });
    assert.deepEqual(left, { mounts: [], dirs: [] }, 'nothing of any pod is left');
  });

  // The window the attack aims at: a process that joins the container's namespaces and
  // searches a long PATH before its execve. A long PATH widens it.
  const longPath = [...Array.from({ length: 300 }, (_, i) => `/nonexistent/${i}`), '/bin'].join(':');

  for (const share of [true, false]) {
    const name = share ? 'scan-shared' : 'scan-solo';
    test(`${name}: while exec, exec probes and exec hooks enter the pod, /proc gives nothing of the host`, async (t) => {
      const seconds = 20;
      const probe = { exec: { command: ['true'] }, periodSeconds: 1, timeoutSeconds: 5 };
      const containers: object[] = [
        {
          name: 'attacker',
          image,
          command: ['/tools/procscan', String(seconds), '/bin/busybox', `${marker}/here`],
          env: [{ name: 'PATH', value: longPath }],
          volumeMounts: [{ name: 'tools', mountPath: '/tools', readOnly: true }],
          readinessProbe: probe,
          livenessProbe: { ...probe, failureThreshold: 1000 },
          lifecycle: { postStart: { exec: { command: ['true'] } } },
        },
      ];
      // Exec hooks that run again and again: a container that keeps crashing, with a
      // postStart hook (its processes are visible to the attacker in a shared pid namespace).
      if (share) {
        containers.push({
          name: 'hooked',
          image,
          command: ['sh', '-c', 'sleep 0.3; exit 1'],
          env: [{ name: 'PATH', value: longPath }],
          lifecycle: { postStart: { exec: { command: ['true'] } } },
        });
      }
      const file = h.manifest(`${name}.json`, pod(name, {
        shareProcessNamespace: share,
        restartPolicy: 'OnFailure',
        volumes: [{ name: 'tools', hostPath: { path: tools, type: 'Directory' } }],
        containers,
      }));
      ok(await h.cli(['run', '-d', file]), 'run');
      let execs = 0;
      const started = Date.now();
      while (Date.now() - started < (seconds - 4) * 1000 && execs < 60) {
        const r = await h.cli(['exec', name, '-c', 'attacker', '--', 'true']);
        if (r.code === 0) execs++;
        else if (statusOf(await inspect(h, name), 'attacker')?.state.terminated) break;
      }
      assert.ok(execs >= 30, `30 or more execs ran during the scan (${execs})`);
      const done = await waitFor(async () => {
        const s = statusOf(await inspect(h, name), 'attacker');
        return s?.state.terminated ? s : undefined;
      }, 'the attacker to finish its scan', (seconds + 20) * 1000);
      assert.equal(done.state.terminated.exitCode, 0);
      const logs = await h.cli(['logs', name, '-c', 'attacker']);
      const summary = logs.stdout.match(/SCANS (\d+) SEEN (\d+) VANISHED (\d+) HITS (\d+)/);
      assert.ok(summary, `the scan reported: ${logs.stdout}`);
      const [scans, seen, vanished, hits] = summary.slice(1).map(Number);
      t.diagnostic(`${scans} rounds; reached the memory or fds of ${seen} processes of the pod (${vanished} gone before their maps were read); ${execs} execs`);
      assert.ok(scans > 100, `the scan ran (${scans} rounds)`);
      assert.equal(hits, 0, `nothing of the host was reachable:\n${logs.stdout}`);
      ok(await h.cli(['rm', '-f', name]), 'rm');
    });
  }

  test('pause, PID 1 of a shared pid namespace, shows containers an empty root and no capabilities', async () => {
    const file = h.manifest('caps.json', pod('caps', {
      shareProcessNamespace: true,
      containers: [{ name: 'c', image, command: ['sleep', '1000'] }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const read = await h.cli(['exec', 'caps', '--', 'sh', '-c', 'ls /proc/1/root/; cat /proc/1/environ; readlink /proc/1/exe; grep Cap /proc/1/status']);
    assert.match(read.stderr, /Permission denied/, 'pause is not dumpable: its root, environ and exe are refused');
    assert.doesNotMatch(read.stdout, /etc|usr|bin/, read.stdout);
    const caps = capsOf(read.stdout);
    assert.deepEqual([caps.CapInh, caps.CapPrm, caps.CapEff, caps.CapBnd, caps.CapAmb], [0n, 0n, 0n, 0n, 0n], 'pause holds no capability');
    const i = await inspect(h, 'caps');
    // From the host: pause's root is an empty read-only tmpfs with only its binary.
    const root = readdirOf(`/proc/${i.minipod.pausePid}/root`);
    assert.deepEqual(root, ['minipod-pause']);
    assert.match(execFileSync('findmnt', ['-N', String(i.minipod.pausePid), '-no', 'FSTYPE,OPTIONS', '/'], { encoding: 'utf8' }), /^tmpfs\s+ro,/);
    ok(await h.cli(['rm', '-f', 'caps']), 'rm');
  });

  test('the inheritable set is empty in a container and in exec; the bounding set is the documented default', async () => {
    const file = h.manifest('caps.json', pod('caps', { containers: [{ name: 'c', image, command: ['sh', '-c', 'grep Cap /proc/self/status; sleep 1000'] }] }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const own = await waitFor(async () => {
      const l = (await h.cli(['logs', 'caps'])).stdout;
      return l.includes('CapAmb') ? l : undefined;
    }, 'the container to print its capabilities');
    const exec = await h.cli(['exec', 'caps', '--', 'grep', 'Cap', '/proc/self/status']);
    ok(exec, 'exec');
    // podman 4's default: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    // NET_BIND_SERVICE SYS_CHROOT SETFCAP; no MKNOD, NET_RAW, AUDIT_WRITE.
    const dflt = 0x800405fbn;
    for (const [what, text] of [['container', own], ['exec', exec.stdout]] as const) {
      const c = capsOf(text);
      assert.deepEqual([c.CapInh, c.CapPrm, c.CapEff, c.CapBnd, c.CapAmb], [0n, dflt, dflt, dflt, 0n], `${what}: ${text}`);
    }
    ok(await h.cli(['rm', '-f', 'caps']), 'rm');
  });

  test('a setuid-root file a container writes into its emptyDir or its root cannot be run by a host user', async () => {
    const file = h.manifest('suid.json', pod('suid', {
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [{
        name: 'c',
        image,
        command: ['sh', '-c', 'cp /bin/busybox /data/rootme && chmod 4755 /data/rootme && cp /bin/busybox /rootme && chmod 4755 /rootme && echo planted && sleep 1000'],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    await waitFor(async () => (await h.cli(['logs', 'suid'])).stdout.includes('planted'), 'the files to be planted');
    const planted = execFileSync('find', [h.root, '-name', 'rootme', '-perm', '-4000', '-user', 'root'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    assert.equal(planted.length, 2, `both setuid-root files exist on the host: ${planted.join(', ')}`);
    for (const f of planted) {
      // Through a shell: setpriv itself keeps root's capabilities until its own execve.
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '/bin/sh', '-c', `exec ${f} id -u`], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, `${f} ran for nobody: ${r.stdout}`);
      assert.match(r.stderr, /Permission denied/, f);
    }
    for (const d of ['lib', 'run']) assert.equal(statSync(path.join(h.root, d)).mode & 0o777, 0o700, `${d} is root-only`);
    ok(await h.cli(['rm', '-f', 'suid']), 'rm');
  });

  test('device nodes: mknod is refused by default; with CAP_MKNOD added, a node made anywhere writable does not open', async () => {
    const attempt = 'mknod /tmp/loop0 b 7 0 && echo made; head -c1 /tmp/loop0 >/dev/null && echo OPENED';
    const file = h.manifest('devs.json', pod('devs', {
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [
        { name: 'plain', image, command: ['sleep', '1000'] },
        { name: 'mknod', image, command: ['sleep', '1000'], securityContext: { capabilities: { add: ['MKNOD'] } }, volumeMounts: [{ name: 'data', mountPath: '/data' }] },
      ],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const plain = await h.cli(['exec', 'devs', '-c', 'plain', '--', 'sh', '-c', attempt]);
    assert.doesNotMatch(plain.stdout, /made|OPENED/);
    assert.match(plain.stderr, /Operation not permitted/);
    for (const dir of ['/tmp', '/dev', '/data', '/dev/shm']) {
      const r = await h.cli(['exec', 'devs', '-c', 'mknod', '--', 'sh', '-c', `mknod ${dir}/n1 c 1 3 && echo made; echo x > ${dir}/n1 && echo OPENED; mknod ${dir}/n2 b 7 0; head -c1 ${dir}/n2 >/dev/null && echo OPENED`]);
      assert.doesNotMatch(r.stdout, /OPENED/, `${dir}: ${r.stdout}${r.stderr}`);
      if (r.stdout.includes('made')) assert.match(r.stderr, /Permission denied/, `${dir}: nodev`);
    }
    const good = await h.cli(['exec', 'devs', '-c', 'plain', '--', 'sh', '-c', 'echo x > /dev/null && head -c4 /dev/zero | wc -c && head -c4 /dev/urandom | wc -c']);
    assert.deepEqual([good.code, good.stdout], [0, '4\n4\n'], 'the default nodes still work');
    ok(await h.cli(['rm', '-f', 'devs']), 'rm');
  });

  test('a FIFO planted where a later mount goes cannot block the supervisor', async () => {
    const file = h.manifest('fifo.json', [
      pod('fifo', {
        restartPolicy: 'Never',
        volumes: [{ name: 'shared', emptyDir: {} }, { name: 'conf', configMap: { name: 'fifo-conf' } }],
        initContainers: [{ name: 'plant', image, command: ['sh', '-c', 'mkdir -p /shared/sub && mkfifo /shared/sub/file'], volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }],
        containers: [{
          name: 'victim',
          image,
          command: ['sleep', '1000'],
          volumeMounts: [{ name: 'shared', mountPath: '/data' }, { name: 'conf', mountPath: '/data/sub/file', subPath: 'key' }],
        }],
      }),
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fifo-conf' }, data: { key: 'value' } },
    ].map((d) => JSON.stringify(d)).join('\n---\n'));
    const r = await h.cli(['run', '-d', file], { timeoutMs: 20_000 });
    // Either the bind lands on the FIFO or the start fails; the supervisor answers anyway.
    const st = await waitFor(async () => {
      const s = statusOf(await inspect(h, 'fifo'), 'victim');
      return s?.state.running || s?.state.terminated ? s : undefined;
    }, `the victim to start or fail (${r.stderr})`);
    if (st.state.running) {
      const cat = await h.cli(['exec', 'fifo', '--', 'cat', '/data/sub/file']);
      assert.deepEqual([cat.code, cat.stdout], [0, 'value']);
    }
    ok(await h.cli(['rm', '-f', 'fifo'], { timeoutMs: 20_000 }), 'rm');
  });
});

function readdirOf(dir: string): string[] {
  return existsSync(dir) ? execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).split('\n').filter(Boolean) : [];
}
