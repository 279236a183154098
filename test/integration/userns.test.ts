// hostUsers: false on real namespaces: the pod's root is an unprivileged host user of a block
// no other pod has; image files and minipod's volumes read as the container's own through
// idmapped mounts; host files (hostPath) keep their host owners, so a host-root-only file
// stays unreadable, and nothing the container writes there is host root's. Each attack runs
// as the container's root and must fail.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { attackTools, inspect, statusOf } from './attack.ts';
import { busyboxRootfs, needsRoot, pod, TestHost } from './helpers.ts';

const BASE = 2 ** 31; // the default range's first block (no minipod entry in /etc/subuid here)

describe('user namespaces (hostUsers: false)', { skip: needsRoot }, () => {
  let h: TestHost;
  let hostDir: string;
  before(async () => {
    h = new TestHost('userns');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
    // A hostPath the pods see: a file only host root may read, a host-root set-uid program
    // that tries to read it, and a directory anyone may write.
    hostDir = path.join(h.root, 'host');
    mkdirSync(path.join(hostDir, 'open'), { recursive: true });
    chmodSync(h.root, 0o755);
    chmodSync(hostDir, 0o755);
    chmodSync(path.join(hostDir, 'open'), 0o777);
    writeFileSync(path.join(hostDir, 'secret'), 'host root only\n', { mode: 0o600 });
    copyFileSync(path.join(attackTools('suidread'), 'suidread'), path.join(hostDir, 'suidread'));
    chownSync(path.join(hostDir, 'suidread'), 0, 0);
    chmodSync(path.join(hostDir, 'suidread'), 0o4755);
  });
  after(() => h.finish(['u1', 'u2', 'uadmin', 'uprobe', 'uunmasked']));

  const spec = (extra: object = {}, container: object = {}) => ({
    hostUsers: false,
    terminationGracePeriodSeconds: 1,
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'host', hostPath: { path: hostDir } }],
    containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'host', mountPath: '/host' }], ...container }],
    ...extra,
  });
  const sh = (name: string, script: string) => h.cli(['exec', name, '--', 'sh', '-c', script]);
  const start = async (name: string, s: object) => {
    const r = await h.cli(['run', '-d', h.manifest(`${name}.json`, pod(name, s))]);
    assert.equal(r.code, 0, r.stderr);
  };

  test('the pod\'s root is host id 2^31 (a block of 65536 of its own), and a second pod gets the next block', async () => {
    await start('u1', spec());
    await start('u2', spec());
    for (const [name, base] of [['u1', BASE], ['u2', BASE + 65536]] as const) {
      const r = await sh(name, 'cat /proc/self/uid_map /proc/self/gid_map; id -u');
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.trim().split(/\s+/), ['0', String(base), '65536', '0', String(base), '65536', '0'], name);
    }
    const leases = readdirSync(path.join(h.root, 'run', 'userns')).sort();
    assert.deepEqual(leases, [String(BASE), String(BASE + 65536)]);
    const ps = readFileSync(`/proc/${statusOf(await inspect(h, 'u1'), 'c')!.pid}/status`, 'utf8');
    assert.match(ps, new RegExp(`^Uid:\\s+${BASE}\\s+${BASE}\\s+${BASE}\\s+${BASE}$`, 'm'), 'on the host, the container\'s root is that unprivileged id');
  });

  test('image files and emptyDir read as the container\'s root, and its writes land as host root\'s only in its own root-only directories', async () => {
    const r = await sh('u1', 'stat -c "%u:%g %n" /bin/busybox /etc/hosts /data / && echo x > /data/made && touch /made && stat -c "%u %n" /data/made /made');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0 /bin/busybox', '0:0 /etc/hosts', '0:0 /data', '0:0 /', '0 /data/made', '0 /made']);
    const lib = path.join(h.root, 'lib', 'pods', 'u1');
    assert.equal(statSync(path.join(lib, 'volumes', 'data', 'made')).uid, 0, 'through the idmapped volume, on-disk id 0');
    assert.equal(statSync(path.join(lib, 'containers', 'c', 'upper-0', 'made')).uid, BASE, 'the writable layer holds the host id');
  });

  test('attack: the container\'s root reads a host-root-only file through a hostPath — refused', async () => {
    const r = await sh('u1', 'stat -c "%u %a" /host/secret; cat /host/secret; echo "rc=$?"');
    assert.match(r.stdout, /^65534 600\n/, 'the host\'s root is nobody inside');
    assert.match(r.stderr, /Permission denied/);
    assert.match(r.stdout, /rc=1/);
  });

  test('attack: a host set-uid-root program on a hostPath does not make the container\'s root the host\'s', async () => {
    const r = await sh('u1', '/host/suidread /host/secret');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'euid 0 read /host/secret: Permission denied');
  });

  test('attack: a set-uid root program the container writes to a hostPath is not host root\'s', async () => {
    const r = await sh('u1', 'cp /bin/busybox /host/open/planted && chmod 4755 /host/open/planted && stat -c "%u %a" /host/open/planted');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0 4755', 'root\'s inside');
    const st = statSync(path.join(hostDir, 'open', 'planted'));
    assert.equal(st.uid, BASE, 'an unprivileged host user\'s on the host');
  });

  test('attack: with CAP_SYS_ADMIN added, the container still cannot mount or unmount anything in its mount namespace', async () => {
    await start('uadmin', spec({}, { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }));
    const r = await sh('uadmin', 'grep CapEff /proc/self/status; mount -t tmpfs none /mnt; echo "mount=$?"; umount /etc/hosts; echo "umount=$?"; mount -o remount,rw /sys; echo "remount=$?"');
    assert.match(r.stdout, /CapEff:\s+0*[0-9a-f]*[2367abef][0-9a-f]{5}\n/, 'SYS_ADMIN (bit 21) is in its effective set');
    assert.match(r.stdout, /mount=[1-9]/);
    assert.match(r.stdout, /umount=[1-9]/);
    assert.match(r.stdout, /remount=[1-9]/);
    assert.ok(!/tmpfs \/mnt/.test((await sh('uadmin', 'cat /proc/mounts')).stdout));
  });

  test('exec and exec probes enter the container\'s user namespace, never as host root', async () => {
    await start('uprobe', spec({}, { readinessProbe: { exec: { command: ['sh', '-c', 'cat /proc/self/uid_map > /data/probe'] }, periodSeconds: 1 } }));
    const own = (await sh('uprobe', 'readlink /proc/1/ns/user; readlink /proc/self/ns/user')).stdout.trim().split('\n');
    assert.equal(own[0], own[1], 'exec: the same user namespace as the container');
    const probe = path.join(h.root, 'lib', 'pods', 'uprobe', 'volumes', 'data', 'probe');
    for (const deadline = Date.now() + 10_000; !existsSync(probe) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    assert.match(readFileSync(probe, 'utf8'), /^\s*0\s+2147\d+\s+65536\s*$/, 'the probe ran mapped');
  });

  test('procMount: Unmasked is allowed with hostUsers: false, and leaves /proc unmasked', async () => {
    await start('uunmasked', spec({}, { securityContext: { procMount: 'Unmasked' } }));
    const r = await sh('uunmasked', 'grep -c " /proc/kcore \\| /proc/sys " /proc/self/mountinfo');
    assert.equal(r.stdout.trim(), '0');
  });

  test('removing a pod releases its ids; hostNetwork with hostUsers: false is refused with the field named', async () => {
    assert.equal((await h.cli(['rm', '-f', 'u2'])).code, 0);
    assert.ok(!readdirSync(path.join(h.root, 'run', 'userns')).includes(String(BASE + 65536)));
    const r = await h.cli(['run', '-d', h.manifest('hn.json', pod('hn', { ...spec(), hostNetwork: true }))]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /spec\.hostNetwork: cannot be set together with hostUsers: false/);
  });
});
