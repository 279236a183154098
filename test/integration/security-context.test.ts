// The pod security context on real namespaces. sysctls: set inside the pod (every container sees
// them), never on the host; an unsafe one only when allowed; refusals leave nothing behind.
// hostPID and hostIPC: the host's namespaces, and the pod still torn down through its cgroups.
// seccomp: the filter in the kernel's own words (/proc/PID/status), and the calls it refuses.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { attackTools } from './attack.ts';
import { busyboxRootfs, needsRoot, pidsMatching, pod, TestHost } from './helpers.ts';

describe('sysctls', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('sysctls');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
  });
  after(() => h.finish(['tuned', 'unsafe']));
  const manifest = (name: string, sysctls: object[]) =>
    h.manifest(`${name}.json`, pod(name, { terminationGracePeriodSeconds: 1, securityContext: { sysctls }, containers: [{ name: 'a', image: 'busybox', command: ['sleep', '1000'] }, { name: 'b', image: 'busybox', command: ['sleep', '1000'] }] }));
  const sh = (name: string, c: string, script: string) => h.cli(['exec', name, '-c', c, '--', 'sh', '-c', script]);

  test('safe sysctls are set in the pod\'s network and IPC namespaces, for every container, and not on the host', async () => {
    const hostPorts = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8');
    const hostShm = readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8');
    const r = await h.cli(['run', '-d', manifest('tuned', [{ name: 'net.ipv4.ip_local_port_range', value: '31000 32000' }, { name: 'kernel.shm_rmid_forced', value: hostShm.trim() === '1' ? '0' : '1' }])]);
    assert.equal(r.code, 0, r.stderr);
    for (const c of ['a', 'b']) {
      const v = await sh('tuned', c, 'cat /proc/sys/net/ipv4/ip_local_port_range /proc/sys/kernel/shm_rmid_forced');
      assert.equal(v.stdout.replace(/\s+/g, ' ').trim(), `31000 32000 ${hostShm.trim() === '1' ? '0' : '1'}`, c);
    }
    assert.equal(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'), hostPorts, 'the host\'s port range is untouched');
    assert.equal(readFileSync('/proc/sys/kernel/shm_rmid_forced', 'utf8'), hostShm, 'the host\'s IPC sysctl is untouched');
    const plan = await h.cli(['plan', h.manifest('plan.json', pod('planned', { securityContext: { sysctls: [{ name: 'net.ipv4.tcp_syncookies', value: '1' }] }, containers: [{ name: 'a', image: 'busybox', command: ['true'] }] }))]);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /\[pod net\] sysctl net\.ipv4\.tcp_syncookies=1/, 'minipod plan prints it');
    assert.equal((await h.cli(['rm', '-f', 'tuned'])).code, 0);
  });

  test('an unsafe sysctl is refused without --allow-unsafe-sysctls, with the field named, leaving nothing; allowed, it is set', async () => {
    const file = manifest('unsafe', [{ name: 'net.core.somaxconn', value: '1234' }]);
    const refused = await h.cli(['run', '-d', file]);
    assert.equal(refused.code, 125, refused.stderr);
    assert.match(refused.stderr, /unsafe\.json:\d+:\d+ spec\.securityContext\.sysctls\[0\]\.name: net\.core\.somaxconn is not in Kubernetes' safe set/);
    assert.deepEqual({ dirs: h.podDirs(), cgroups: h.podCgroups() }, { dirs: [], cgroups: [] });
    const ok = await h.cli(['run', '-d', '--allow-unsafe-sysctls', 'net.core.*', file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((await sh('unsafe', 'a', 'cat /proc/sys/net/core/somaxconn')).stdout.trim(), '1234');
    assert.notEqual(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim(), '1234', 'not on the host');
    await h.cli(['rm', '-f', 'unsafe']);
  });

  test('a sysctl that is not namespaced is refused even when allowed: it would change the host', async () => {
    const before = readFileSync('/proc/sys/vm/swappiness', 'utf8');
    const r = await h.cli(['run', '-d', '--allow-unsafe-sysctls', 'vm.*', manifest('host', [{ name: 'vm.swappiness', value: '7' }])]);
    assert.equal(r.code, 125, r.stderr);
    assert.match(r.stderr, /vm\.swappiness is not namespaced: setting it would change the host/);
    assert.equal(readFileSync('/proc/sys/vm/swappiness', 'utf8'), before);
    assert.deepEqual(h.podDirs(), []);
  });
});

describe('host namespaces', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('hostns');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
  });
  after(() => h.finish(['hpid', 'hipc']));

  test('hostPID: the container sees the host\'s processes (this test\'s among them), and goes away with the pod', async () => {
    const file = h.manifest('hpid.json', pod('hpid', { hostPID: true, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '4244'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const r = await h.cli(['exec', 'hpid', '--', 'sh', '-c', `test -d /proc/${process.pid} && echo sees-the-test; readlink /proc/self/ns/pid`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], 'sees-the-test');
    assert.equal(r.stdout.split('\n')[1], readlinkSync('/proc/self/ns/pid'), 'the host\'s pid namespace');
    assert.equal((await h.cli(['rm', 'hpid'])).code, 0);
    assert.deepEqual(pidsMatching('sleep 4244'), [], 'killed through its cgroup');
  });

  test('hostIPC: the pod is in the host\'s IPC namespace; the pod is still torn down through its cgroups', async () => {
    const file = h.manifest('hipc.json', pod('hipc', { hostIPC: true, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['sleep', '4245'] }] }));
    assert.equal((await h.cli(['run', '-d', file])).code, 0);
    const r = await h.cli(['exec', 'hipc', '--', 'readlink', '/proc/self/ns/ipc']);
    assert.equal(r.stdout.trim(), readlinkSync('/proc/self/ns/ipc'));
    assert.equal((await h.cli(['rm', '-f', 'hipc'])).code, 0);
    assert.deepEqual(pidsMatching('sleep 4245'), []);
  });

  test('hostPID with shareProcessNamespace, or with cgroups disabled, is refused with the field named', async () => {
    const both = await h.cli(['run', '-d', h.manifest('both.json', pod('both', { hostPID: true, shareProcessNamespace: true, containers: [{ name: 'c', image: 'busybox', command: ['true'] }] }))]);
    assert.equal(both.code, 125);
    assert.match(both.stderr, /spec\.shareProcessNamespace: cannot be set together with hostPID/);
    const nocg = await h.cli(['run', '-d', '--cgroups', 'disabled', h.manifest('nocg.json', pod('nocg', { hostIPC: true, containers: [{ name: 'c', image: 'busybox', command: ['true'] }] }))]);
    assert.equal(nocg.code, 125);
    assert.match(nocg.stderr, /spec\.hostIPC: needs the pod's cgroups/);
    assert.deepEqual(h.podDirs(), []);
  });
});

describe('seccomp', { skip: needsRoot }, () => {
  let h: TestHost;
  let tools: string;
  before(async () => {
    h = new TestHost('seccomp');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
    tools = attackTools('syscalls');
  });
  after(() => h.finish(['rd', 'lh', 'dflt', 'unc']));
  const spec = (extra: object, container: object = {}) => ({
    terminationGracePeriodSeconds: 1,
    volumes: [{ name: 'tools', hostPath: { path: tools, type: 'Directory' } }],
    containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], volumeMounts: [{ name: 'tools', mountPath: '/tools', readOnly: true }], ...container }],
    ...extra,
  });
  const run = async (name: string, s: object, args: string[] = []) => {
    const r = await h.cli(['run', '-d', ...args, h.manifest(`${name}.json`, pod(name, s))]);
    assert.equal(r.code, 0, r.stderr);
  };
  const seccompMode = async (name: string) => {
    const v = JSON.parse((await h.cli(['inspect', name])).stdout) as { status: { containerStatuses: { pid: number }[] } };
    return /^Seccomp:\s+(\d)/m.exec(readFileSync(`/proc/${v.status.containerStatuses[0].pid}/status`, 'utf8'))![1];
  };
  const tryCalls = async (name: string, ...calls: string[]) => {
    const r = await h.cli(['exec', name, '--', '/tools/syscalls', ...calls]);
    return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]));
  };

  test('RuntimeDefault: the container is in seccomp mode 2; keyctl, ptrace, a user namespace, clone of a mount namespace and an odd personality fail with EPERM; ordinary work runs', async () => {
    await run('rd', spec({ securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }, { command: ['sh', '-c', 'mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www'] }));
    assert.equal(await seccompMode('rd'), '2');
    const got = await tryCalls('rd', 'keyctl', 'ptrace', 'unshare-user', 'clone-newns', 'personality', 'mkdir');
    assert.deepEqual(got, { keyctl: 'Operation not permitted', ptrace: 'Operation not permitted', 'unshare-user': 'Operation not permitted', 'clone-newns': 'Operation not permitted', personality: 'Operation not permitted', mkdir: 'ok' });
    const web = await h.cli(['exec', 'rd', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
    assert.equal(web.stdout, 'hi\n', 'sh, httpd and wget work under the filter');
    const ex = await h.cli(['exec', 'rd', '--', 'grep', '^Seccomp:', '/proc/self/status']);
    assert.match(ex.stdout, /Seccomp:\s+2/, 'an exec\'d process gets the same filter');
    await h.cli(['rm', '-f', 'rd']);
  });

  test('a Localhost profile (OCI JSON) that denies mkdir makes mkdir fail; others run', async () => {
    const dir = path.join(h.root, 'lib', 'seccomp');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'no-mkdir.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }));
    await run('lh', spec({}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'no-mkdir.json' } } }));
    const got = await tryCalls('lh', 'mkdir', 'keyctl');
    assert.equal(got.mkdir, 'Operation not permitted');
    assert.notEqual(got.keyctl, 'Operation not permitted', `keyctl reaches the kernel (${got.keyctl})`);
    await h.cli(['rm', '-f', 'lh']);
    const bad = await h.cli(['run', '-d', h.manifest('lhbad.json', pod('lhbad', spec({}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '../escape.json' } } })))]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /spec\.containers\[0\]\.securityContext\.seccompProfile\.localhostProfile: a Localhost profile needs a path relative to/);
  });

  test('no profile is Unconfined, as in Kubernetes; --seccomp-default makes it RuntimeDefault; Unconfined stays unconfined', async () => {
    await run('unc', spec({}));
    assert.equal(await seccompMode('unc'), '0');
    await run('dflt', spec({}), ['--seccomp-default']);
    assert.equal(await seccompMode('dflt'), '2');
    await h.cli(['rm', '-f', 'unc', 'dflt']);
    await run('unc', spec({ securityContext: { seccompProfile: { type: 'Unconfined' } } }), ['--seccomp-default']);
    assert.equal(await seccompMode('unc'), '0');
    await h.cli(['rm', '-f', 'unc']);
  });
});
