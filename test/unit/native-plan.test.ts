// The executor's plan decoder fails closed, tested without root through a small C driver
// (test/native/plan-check.c) built here from the same sources the addon and the supervisor
// use. Also: the one failure formatter, and the supervisor refusing an unknown policy.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { describeFailure } from '../../src/errors.ts';
import { PLAN_VERSION } from '../../src/runtime/start.ts';
import { STATE_VERSION } from '../../src/state/host.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const exec = path.join(repo, 'native', 'exec');
const haveCc = spawnSync('cc', ['--version']).status === 0;

/** A plan that decodes; each case breaks one thing of it. */
function base(): Record<string, unknown> {
  return {
    pod: 'p',
    container: 'c',
    namespaces: [{ type: 'mnt', action: 'create' }, { type: 'net', action: 'join', path: '@pause/net' }],
    loopbackUp: false,
    mounts: [{ op: 'propagation', mode: 'rprivate' }],
    user: { uid: 1000, gid: 1000, groups: [5] },
    capabilities: ['CAP_CHOWN'],
    noNewPrivileges: true,
    cwd: '/',
    argv: ['/bin/true'],
    env: ['PATH=/bin'],
  };
}

describe('the plan decoder (C)', { skip: haveCc ? false : 'needs a C compiler (cc)' }, () => {
  let dir: string;
  let bin: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-plan-check-'));
    bin = path.join(dir, 'plan-check');
    const cc = spawnSync('cc', ['-Wall', '-Wextra', '-Werror', `-I${exec}`, '-o', bin, path.join(repo, 'test/native/plan-check.c'), ...['json.c', 'plan.c', 'describe.c'].map((f) => path.join(exec, f)), ...['hostops.c', 'nl.c', 'ct.c'].map((f) => path.join(repo, 'native', 'net', f))], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const decode = (plan: unknown) => {
    const r = spawnSync(bin, ['decode'], { input: JSON.stringify(plan), encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim() };
  };

  test('a complete plan decodes', () => {
    assert.deepEqual(decode(base()), { code: 0, out: 'ok uid=1000 gid=1000 caps=1 keepall=0' });
  });

  test('overlay lower dirs are joined top first', () => {
    const p = { ...base(), mounts: [{ op: 'rootfs', kind: 'overlay', lower: ['/l/top', '/l/mid', '/l/bottom'], upper: '/u', work: '/w', target: '/t' }] };
    assert.deepEqual(decode(p), { code: 0, out: 'ok uid=1000 gid=1000 caps=1 keepall=0 lower=/l/top:/l/mid:/l/bottom' });
  });

  const refused: [string, (p: Record<string, unknown>) => void, RegExp][] = [
    ['no namespaces list', (p) => delete p.namespaces, /"namespaces" must be an array/],
    ['no mounts list', (p) => delete p.mounts, /"mounts" must be an array/],
    ['mount steps without a mount namespace of its own', (p) => (p.namespaces = []), /mount steps need a "mnt" namespace/],
    ['a reference to another type of namespace', (p) => ((p.namespaces as Record<string, unknown>[])[1].path = '@pause/mnt'), /"@pause\/mnt" is not a net namespace/],
    ['a reference to a process that is not running', (p) => ((p.namespaces as Record<string, unknown>[])[1].path = '@container:gone/net'), /container:gone is not running/],
    ['no user', (p) => delete p.user, /"user" must be an object/],
    ['no uid', (p) => delete (p.user as Record<string, unknown>).uid, /needs an integer "uid"/],
    ['uid -1', (p) => ((p.user as Record<string, unknown>).uid = -1), /"uid" must be an integer in range/],
    ['uid 2^32 (wraps to root)', (p) => ((p.user as Record<string, unknown>).uid = 4294967296), /"uid" must be an integer in range/],
    ['uid 2^31', (p) => ((p.user as Record<string, unknown>).uid = 2147483648), /"uid" must be an integer in range/],
    ['uid 1.5', (p) => ((p.user as Record<string, unknown>).uid = 1.5), /"uid" must be an integer in range/],
    ['uid as a string', (p) => ((p.user as Record<string, unknown>).uid = '0'), /"uid" must be an integer in range/],
    ['gid -1', (p) => ((p.user as Record<string, unknown>).gid = -1), /"gid" must be an integer in range/],
    ['a group -1', (p) => ((p.user as Record<string, unknown>).groups = [-1]), /groups entries must be integers in range/],
    ['groups missing', (p) => delete (p.user as Record<string, unknown>).groups, /user.groups must be an array/],
    ['an unknown user field', (p) => ((p.user as Record<string, unknown>).uidd = 0), /user has an unknown field "uidd"/],
    ['no capabilities (would keep all)', (p) => delete p.capabilities, /"capabilities" must be an array or null/],
    ['an unknown capability', (p) => (p.capabilities = ['CAP_EVERYTHING']), /unknown capability "CAP_EVERYTHING"/],
    ['no noNewPrivileges', (p) => delete p.noNewPrivileges, /"noNewPrivileges" must be true or false/],
    ['no cwd', (p) => delete p.cwd, /needs a string "cwd"/],
    ['a relative cwd', (p) => (p.cwd = 'tmp'), /must be an absolute path/],
    ['an unknown top-level field', (p) => (p.privileged = true), /the process plan has an unknown field "privileged"/],
    ['an unknown mount op field', (p) => (p.mounts = [{ op: 'bind', source: '/a', dst: '/b', readOnly: true, recursive: false, propagate: 'shared' }]), /bind has an unknown field "propagate"/],
    ['a misspelt mount flag field', (p) => (p.mounts = [{ op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dst: '/t', flag: ['ro'] }]), /mount has an unknown field "flag"/],
    ['an unknown mount flag', (p) => (p.mounts = [{ op: 'mount', fstype: 'tmpfs', source: 'tmpfs', dst: '/t', flags: ['suid'] }]), /unknown mount flag "suid"/],
    ['readOnly as a string', (p) => (p.mounts = [{ op: 'bind', source: '/a', dst: '/b', readOnly: 'yes', recursive: false }]), /"readOnly" must be true or false/],
    ['an unknown mount op', (p) => (p.mounts = [{ op: 'chmod', dst: '/x' }]), /unknown mount op "chmod"/],
    ['a bind propagation that is not shared or slave', (p) => (p.mounts = [{ op: 'bind', source: '/a', dst: '/b', readOnly: false, recursive: true, propagation: 'private' }]), /bind propagation "private" is not shared, slave, rshared or rslave/],
    ['a shared bind resolved beneath a volume (subPath)', (p) => (p.mounts = [{ op: 'bind', source: 'x', sourceRoot: '/v', dst: '/b', readOnly: false, recursive: true, propagation: 'rshared' }]), /bind propagation needs a plain source/],
    ['a mknod major out of range', (p) => (p.mounts = [{ op: 'mknod', dst: '/dev/x', kind: 'c', major: -1, minor: 3, mode: 438 }]), /"major" must be an integer in range/],
    ['an overlay lower dir with ":"', (p) => (p.mounts = [{ op: 'rootfs', kind: 'overlay', lower: ['/a:/etc'], upper: '/u', work: '/w', target: '/t' }]), /has ':', ',' or/],
    ["a rootfs bind of the host's /", (p) => (p.mounts = [{ op: 'rootfs', kind: 'bind', source: '/', target: '/t' }]), /rootfs bind of the host's \/ is refused/],
    ['an unknown namespace action', (p) => (p.namespaces = [{ type: 'mnt', action: 'share' }]), /namespace action must be create or join/],
    ['a namespace named twice', (p) => (p.namespaces = [{ type: 'mnt', action: 'create' }, { type: 'mnt', action: 'create' }]), /named twice/],
    ['a join of a process that is not running', (p) => (p.namespaces = [{ type: 'mnt', action: 'join', path: '@container:web/mnt' }]), /is not running/],
    ['a user namespace created (it would have no mapping)', (p) => (p.namespaces = [{ type: 'mnt', action: 'create' }, { type: 'user', action: 'create' }]), /a user namespace is joined, not created/],
    ['a mount namespace after the mounts', (p) => (p.namespaces = [{ type: 'mnt', action: 'create', after: 'mounts' }]), /"mnt" cannot come after the mounts/],
    ['a namespace step after something else', (p) => (p.namespaces = [{ type: 'mnt', action: 'create' }, { type: 'net', action: 'create', after: 'pivot' }]), /after must be "mounts"/],
    ['an idmapped bind without a user namespace', (p) => (p.mounts = [{ op: 'propagation', mode: 'rprivate' }, { op: 'bind', source: '/a', dst: '/b', readOnly: true, recursive: false, idmap: true }]), /needs a user namespace to join/],
    ['an idmap of a host path before the mounts are private (it would reach the host)', (p) => {
      p.namespaces = [{ type: 'mnt', action: 'create' }, { type: 'user', action: 'join', path: '/proc/self/ns/user', after: 'mounts' }];
      p.mounts = [{ op: 'idmap', path: '/var/lib/minipod/images' }];
    }, /needs a propagation step before it/],
    ['an idmap of /', (p) => (p.mounts = [{ op: 'idmap', path: '/' }]), /must be an absolute directory other than \//],
    ['an unknown parent-death signal', (p) => (p.parentDeathSignal = 'SIGHUP'), /parentDeathSignal must be/],
    ['an empty argv', (p) => (p.argv = []), /argv must not be empty/],
    ['a NUL in argv', (p) => (p.argv = ['/bin/sh\u0000-c']), /NUL in string/],
    ['a chroot step that is not the last', (p) => (p.mounts = [{ op: 'chroot' }, { op: 'propagation', mode: 'rprivate' }]), /a chroot step comes last/],
    ['a chroot step in a mount namespace the plan joins (it would be left for the spawner\'s)', (p) => (p.namespaces = [{ type: 'mnt', action: 'join', path: '/proc/1/ns/mnt' }], p.mounts = [{ op: 'chroot' }]), /a chroot step comes last, in a mount namespace the plan creates/],
    ['a start hook with a relative path (it would be looked up from the cwd)', (p) => (p.startHooks = [{ path: 'bin/hook', args: ['hook'], env: [] }]), /startHooks: path "bin\/hook" must be absolute/],
    ['a start hook without argv', (p) => (p.startHooks = [{ path: '/bin/hook', args: [], env: [] }]), /args of "\/bin\/hook" must not be empty/],
    ['a start hook timeout of half a second', (p) => (p.startHooks = [{ path: '/bin/hook', args: ['hook'], env: [], timeout: 0.5 }]), /timeout must be whole seconds/],
  ];
  for (const [what, change, message] of refused) {
    test(`refused: ${what}`, () => {
      const p = base();
      change(p);
      const r = decode(p);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, message);
    });
  }

  test('the supervisor and TypeScript describe a failure in the same words', () => {
    const cases = [
      { step: 'mounts[17]:bind', syscall: 'open_tree', errno: 2, path: '/var/lib/minipod/pods/demo/volumes/x', dest: '/www', detail: '' },
      { step: 'namespaces[2]:join', syscall: 'setns', errno: 22, path: '/proc/1/ns/net', dest: 'net', detail: '' },
      { step: 'exec', syscall: 'execve', errno: 2, path: 'nginx', dest: '', detail: 'executable file not found in $PATH' },
      { step: 'user', syscall: 'setresuid', errno: 1, path: '', dest: '', detail: '' },
      { step: 'mounts[3]:mount', syscall: 'fsconfig create', errno: 22, path: 'overlay', dest: '/x', detail: 'overlay: bad lowerdir' },
    ];
    for (const c of cases) {
      const r = spawnSync(bin, ['describe', c.step, c.syscall, String(c.errno), c.path, c.dest, c.detail], { encoding: 'utf8' });
      const ts = describeFailure({ ...c, path: c.path || undefined, dest: c.dest || undefined, detail: c.detail || undefined });
      assert.equal(r.stdout.trim(), ts, c.step);
    }
  });
  const hostops = (ops: unknown) => {
    const r = spawnSync(bin, ['hostops'], { input: JSON.stringify(ops), encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim() };
  };
  const wiring = () => [
    { op: 'veth', name: 'mpabc', peer: 'eth0', peerNetns: 'pod' },
    { op: 'link', netns: 'host', name: 'mpabc', master: 'minipod0' },
    { op: 'link', netns: 'host', name: 'mpabc', up: true },
    { op: 'addr', netns: 'pod', dev: 'eth0', address: '10.90.0.2', prefix: 16 },
    { op: 'link', netns: 'pod', name: 'eth0', up: true },
    { op: 'route', netns: 'pod', dev: 'eth0', gateway: '10.90.0.1' },
  ];

  test('host operations: the network wiring decodes', () => {
    assert.deepEqual(hostops(wiring()), { code: 0, out: 'ok 6' });
  });

  const badOps: [string, (o: Record<string, unknown>[]) => unknown, RegExp][] = [
    ['not a list', () => ({ op: 'veth' }), /hostOps must be an array/],
    ['an unknown op', (o) => [...o, { op: 'exec', argv: ['sh'] }], /hostOps\[6\]: unknown op exec/],
    ['an unknown field', (o) => ((o[1].pid = 1234), o), /hostOps\[1\]: link: unknown field pid/],
    ['a conntrack flush of anything but a UDP port', (o) => [...o, { op: 'conntrack', protocol: 'tcp', port: 80 }], /hostOps\[6\]: conntrack: needs protocol "udp" and a port 1\.\.65535/],
    ['a sysctl outside the namespaced trees', (o) => [...o, { op: 'sysctl', ns: 'ipc', key: 'vm/swappiness', value: '1' }], /hostOps\[6\]: sysctl: needs a key in net\//],
    ['a sysctl key that climbs out of /proc/sys', (o) => [...o, { op: 'sysctl', ns: 'net', key: 'net/../../etc/passwd', value: '1' }], /hostOps\[6\]: sysctl: needs a key/],
    ['a sysctl value of two lines', (o) => [...o, { op: 'sysctl', ns: 'net', key: 'net/core/somaxconn', value: '1\n2' }], /hostOps\[6\]: sysctl: needs a key/],
    ['a netns named by anything else', (o) => ((o[3].netns = '/proc/1/ns/net'), o), /netns must be "host" or "pod"/],
    ['a veth peer outside the pod', (o) => ((o[0].peerNetns = 'host'), o), /peerNetns must be "pod"/],
    ['an interface name too long', (o) => ((o[1].name = 'x'.repeat(16)), o), /needs an interface name/],
    ['an interface name with a slash', (o) => ((o[2].name = '../eth0'), o), /needs an interface name/],
    ['an address that is not IPv4', (o) => ((o[3].address = '10.90.0.256'), o), /"address" must be an IPv4 address/],
    ['a prefix of 33', (o) => ((o[3].prefix = 33), o), /"prefix" must be an integer 0..32/],
    ['a gateway that is not IPv4', (o) => ((o[5].gateway = 'gw'), o), /"gateway" must be an IPv4 address/],
    ['a link op that changes nothing', (o) => [{ op: 'link', netns: 'host', name: 'x' }], /changes nothing/],
    ['up as a string', (o) => ((o[2].up = 'yes'), o), /"up" must be true or false/],
  ];
  for (const [what, change, message] of badOps) {
    test(`host operations refused before any runs: ${what}`, () => {
      const r = hostops(change(wiring()));
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, message);
    });
  }

});

describe('the supervisor fails closed on its own plan', () => {
  const shim = path.join(repo, 'build', 'Release', 'minipod-shim');
  test('an unknown restartPolicy is an error, not Always', { skip: existsSync(shim) ? false : 'the supervisor is not built (npm run build)' }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-shim-plan-'));
    try {
      mkdirSync(path.join(dir, 'logs'));
      const process = { ...base(), namespaces: [], mounts: [] };
      writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({
        version: PLAN_VERSION,
        pod: { pod: 'p', uid: 'u', pause: process, initContainers: [], containers: [{ name: 'c', process, restartPolicy: 'Sometimes', logDir: path.join(dir, 'logs'), layerDir: dir }] },
        supervisor: { stateFile: path.join(dir, 'state.json'), atExit: 'none' },
      }));
      const r = spawnSync(shim, [dir], { encoding: 'utf8', timeout: 5000 });
      assert.match(r.stderr, /restartPolicy must be Always, OnFailure or Never/);
      assert.equal(r.status, 1);
      assert.equal(existsSync(path.join(dir, 'state.json')), false, 'nothing ran');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a plan of another format version is refused before anything runs', { skip: existsSync(shim) ? false : 'the supervisor is not built (npm run build)' }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-shim-plan-'));
    try {
      const process = { ...base(), namespaces: [], mounts: [] };
      for (const version of [PLAN_VERSION + 1, PLAN_VERSION - 1, undefined, String(PLAN_VERSION)]) {
        writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ version, pod: { pod: 'p', uid: 'u', pause: process, initContainers: [], containers: [] }, supervisor: { stateFile: path.join(dir, 'state.json') } }));
        const r = spawnSync(shim, [dir], { encoding: 'utf8', timeout: 5000 });
        assert.equal(r.status, 1, String(version));
        assert.match(r.stderr, new RegExp(`plan format version (other|missing), this supervisor reads version ${PLAN_VERSION}`));
        assert.equal(existsSync(path.join(dir, 'state.json')), false, 'nothing ran');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a state.json of another format, or with a journal entry it does not know, is refused before anything runs', { skip: existsSync(shim) ? false : 'the supervisor is not built (npm run build)' }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-shim-state-'));
    try {
      const process = { ...base(), namespaces: [], mounts: [] };
      const stateFile = path.join(dir, 'state.json');
      writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ version: PLAN_VERSION, pod: { pod: 'p', uid: 'u', pause: process, initContainers: [], containers: [] }, supervisor: { stateFile, atExit: 'none' } }));
      const cases: [unknown, RegExp][] = [
        [{ version: STATE_VERSION - 1, host: {} }, new RegExp(`state format version other, this minipod reads version ${STATE_VERSION}`)],
        [{ host: {} }, /state format version missing/],
        [{ version: STATE_VERSION, journal: [{ op: 'umount', path: '/a' }, { op: 'exec', argv: ['sh'] }] }, /journal\[1\]: unknown op/],
        [{ version: STATE_VERSION, journal: [{ op: 'umount', path: '/a/../../etc' }] }, /journal\[0\]: umount needs an absolute "path"/],
        [{ version: STATE_VERSION, journal: [{ op: 'lease', file: '/run/x' }] }, /journal\[0\]: lease needs an absolute "file" and a "uid"/],
        [{ version: STATE_VERSION, journal: { op: 'link' } }, /journal must be an array/],
      ];
      for (const [state, want] of cases) {
        const text = JSON.stringify(state);
        writeFileSync(stateFile, text);
        const r = spawnSync(shim, [dir], { encoding: 'utf8', timeout: 5000 });
        assert.match(r.stderr, want);
        assert.equal(r.status, 1, text);
        assert.equal(readFileSync(stateFile, 'utf8'), text, 'the file is untouched: nothing ran');
        // The unwinder refuses it the same way, and leaves the pod's directories alone.
        const u = spawnSync(shim, ['--unwind', 'remove', dir, path.join(dir, 'lib', path.basename(dir))], { encoding: 'utf8', timeout: 5000 });
        assert.equal(u.status, 1, u.stderr);
        assert.match(u.stderr, /the pod's host side is left as it is/);
        assert.ok(existsSync(stateFile));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
