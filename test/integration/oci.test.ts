// minipod-oci, the runc command line, on real namespaces: bundles made here (a busybox
// rootfs and a config.json per case), driven as containerd's runc v2 shim drives a runtime:
// create (the init waits at its gate, in its cgroup, the pid file without a newline), start,
// state, kill, delete, exec (with and without a terminal through the console socket),
// hooks, the --log JSON lines and the error words the shim matches.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { attackTools } from './attack.ts';
import { busyboxRootfs, cgroupDirsOf, needsRoot, ownCgroup, repo, waitFor } from './helpers.ts';

const oci = path.join(repo, 'bin', 'minipod-oci');

describe('minipod-oci: the runc command line', { skip: needsRoot }, () => {
  let dir: string;
  let root: string;
  let cgParent: string;
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-test-oci-'));
    root = path.join(dir, 'run', 'state'); // its parent does not exist yet: create makes both (containerd passes ROOT/NAMESPACE)
    cgParent = path.posix.join(ownCgroup(), `minipod-test-oci-${process.pid}`);
  });
  after(() => {
    for (const id of ['a', 'b', 'c', 'uts', 'prop', 'userns', 'v2dev', 'frozen', 'hooked', 'starthook', 'hookfail', 'hookhost', 'nomnt', 'escape', 'sig', 'tty', 'cwd', 'link', 'err']) run(['delete', '--force', id]);
    const left = existsSync(root) ? spawnSync('ls', [root], { encoding: 'utf8' }).stdout.trim() : '';
    for (const d of cgroupDirsOf(cgParent)) spawnSync('sh', ['-c', `find ${d} -depth -type d -exec rmdir {} + 2>/dev/null`]);
    const cgLeft = cgroupDirsOf(cgParent).filter((d) => existsSync(d));
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual({ left, cgLeft }, { left: '', cgLeft: [] }, 'no container state or cgroup is left');
  });

  /**
   * One call, its stdout and stderr in files: the container inherits them (as it inherits
   * the shim's pipes), and a pipe would keep spawnSync waiting until the container ends.
   */
  let calls = 0;
  const run = (args: string[]) => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const base = path.join(dir, `call-${++calls}`);
    const out = openSync(`${base}.out`, 'w');
    const err = openSync(`${base}.err`, 'w');
    try {
      const r = spawnSync(oci, ['--root', root, '--log', path.join(dir, 'log.json'), '--log-format', 'json', ...args], { env, timeout: 30_000, stdio: ['ignore', out, err] });
      // errFile: where the init of a create goes on writing its stderr (it inherits it)
      return { status: r.status, stdout: readFileSync(`${base}.out`, 'utf8'), stderr: readFileSync(`${base}.err`, 'utf8'), errFile: `${base}.err` };
    } finally {
      closeSync(out);
      closeSync(err);
    }
  };

  /** A bundle: a copy of the busybox tree as rootfs, and this config. */
  const bundle = (name: string, proc: object, extra: Record<string, unknown> = {}, linux: Record<string, unknown> = {}) => {
    const b = path.join(dir, name);
    mkdirSync(b, { recursive: true });
    if (!existsSync(path.join(b, 'rootfs'))) cpSync(busyboxRootfs(), path.join(b, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    const config = {
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin:/sbin:/usr/bin'], capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] }, ...proc },
      root: { path: 'rootfs', readonly: true },
      hostname: name,
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
        { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] },
      ],
      linux: { namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }], cgroupsPath: `${cgParent}/${name}`, resources: { pids: { limit: 50 } }, maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'], ...linux },
      ...extra,
    };
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    return b;
  };
  const state = (id: string) => JSON.parse(run(['state', id]).stdout) as { status: string; pid: number; id: string; bundle: string };

  test('create leaves the init waiting in its cgroup with the pid file written (no newline); start runs it; kill stops it; delete removes it', async () => {
    const b = bundle('a', { args: ['sh', '-c', 'echo started > /tmp/x; cat /tmp/x; hostname; sleep 1000'] });
    const pidFile = path.join(dir, 'a.pid');
    const c = run(['create', '--bundle', b, '--pid-file', pidFile, 'a']);
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout, '', 'nothing on stdout: it would go to the container log');
    assert.equal(statSync(root).mode & 0o777, 0o700, 'the state root is root-only');
    const pidText = readFileSync(pidFile, 'utf8');
    assert.match(pidText, /^\d+$/, 'digits only, no trailing newline');
    const s = state('a');
    assert.deepEqual([s.status, s.pid, s.bundle], ['created', Number(pidText), b]);
    assert.match(readFileSync(`/proc/${s.pid}/cgroup`, 'utf8'), new RegExp(`${cgParent}/a$`, 'm'), 'in its final cgroup before start');
    assert.match(run(['delete', 'a']).stderr, /not stopped: created/, 'a created container is deleted only with --force (runtime spec)');
    assert.equal(run(['start', 'a']).status, 0);
    assert.equal(state('a').status, 'running');
    assert.deepEqual(JSON.parse(run(['ps', '--format', 'json', 'a']).stdout), [s.pid]);
    assert.match(readFileSync(`/proc/${s.pid}/status`, 'utf8'), /^CapEff:\s+0+20$/m, 'exactly CAP_KILL (bit 5)');
    assert.notEqual(spawnSync('readlink', [`/proc/${s.pid}/ns/net`], { encoding: 'utf8' }).stdout, spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout, 'a network namespace of its own');
    const second = run(['start', 'a']);
    assert.notEqual(second.status, 0, 'start only from created');
    const busy = run(['delete', 'a']);
    assert.notEqual(busy.status, 0, 'no delete of a running container without --force');
    assert.match(busy.stderr, /not stopped: running/);
    assert.equal(run(['kill', 'a', '9']).status, 0);
    await waitFor(() => state('a').status === 'stopped', 'the init is gone');
    const k = run(['kill', 'a', '15']);
    assert.notEqual(k.status, 0);
    assert.match(k.stderr, /container not running/, 'the words containerd matches');
    assert.equal(run(['delete', 'a']).status, 0);
    assert.ok(!existsSync(path.join(root, 'a')));
    assert.ok(cgroupDirsOf(`${cgParent}/a`).every((d) => !existsSync(d)), 'its cgroup is removed');
    const gone = run(['state', 'a']);
    assert.notEqual(gone.status, 0);
    assert.match(gone.stderr, /does not exist/);
    const log = readFileSync(path.join(dir, 'log.json'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(log.every((e) => e.level && e.msg && !Number.isNaN(Date.parse(e.time))), 'every --log line is JSON with level, msg and an RFC 3339 time');
    assert.ok(log.some((e) => e.level === 'error' && /does not exist/.test(e.msg)));
  });

  test('hostname and domainname are set in the container\'s own uts namespace; the host\'s stay as they were', async () => {
    const out = path.join(dir, 'uts-out');
    mkdirSync(out, { recursive: true });
    const b = bundle('uts', { args: ['sh', '-c', 'hostname > /out/h; cat /proc/sys/kernel/domainname > /out/d'] }, { domainname: 'pods.example' });
    const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    const hostDomain = readFileSync('/proc/sys/kernel/domainname', 'utf8');
    assert.equal(run(['create', '--bundle', b, 'uts']).status, 0);
    assert.equal(run(['start', 'uts']).status, 0);
    await waitFor(() => existsSync(path.join(out, 'd')) && readFileSync(path.join(out, 'd'), 'utf8').length > 0, 'the container wrote its names');
    assert.equal(readFileSync(path.join(out, 'h'), 'utf8').trim(), 'uts');
    assert.equal(readFileSync(path.join(out, 'd'), 'utf8').trim(), 'pods.example');
    assert.equal(readFileSync('/proc/sys/kernel/domainname', 'utf8'), hostDomain);
    await waitFor(() => state('uts').status === 'stopped', 'ended');
    assert.equal(run(['delete', 'uts']).status, 0);
  });

  test('the container\'s output goes to the runtime\'s own stdio, unchanged, and its exit is seen by whoever waits for it', () => {
    const b = bundle('b', { args: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
    assert.equal(run(['create', '--bundle', b, 'b']).status, 0);
    const pid = state('b').pid;
    // The shim reaps the init as its subreaper; here, the test only waits for it to go.
    const r = run(['start', 'b']);
    assert.equal(r.status, 0);
    return waitFor(() => !existsSync(`/proc/${pid}/stat`) || /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')), 'the init ends').then(() => {
      assert.equal(state('b').status, 'stopped');
      assert.equal(run(['delete', 'b']).status, 0);
    });
  });

  test('exec --process joins every namespace and the cgroup of the init; its exit code is exec\'s; --detach writes its pid file', async () => {
    const b = bundle('c', { args: ['sleep', '1000'] });
    assert.equal(run(['create', '--bundle', b, 'c']).status, 0);
    assert.equal(run(['start', 'c']).status, 0);
    const init = state('c').pid;
    assert.match(readFileSync(`/proc/${init}/cgroup`, 'utf8'), new RegExp(`${cgParent}/c$`, 'm'), 'the init in its cgroup');
    const proc = path.join(dir, 'process.json');
    writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin'], args: ['sh', '-c', 'readlink /proc/self/ns/net; readlink /proc/self/ns/mnt; cat /proc/self/cgroup | grep -c /c$; hostname; exit 7'] }));
    const r = run(['exec', '--process', proc, 'c']);
    assert.equal(r.status, 7, r.stderr);
    assert.match(readFileSync(`/proc/${init}/cgroup`, 'utf8'), new RegExp(`${cgParent}/c$`, 'm'), 'the init still in its cgroup after an exec');
    const ns = (t: string) => spawnSync('readlink', [`/proc/${init}/ns/${t}`], { encoding: 'utf8' }).stdout.trim();
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual([lines[0], lines[1], lines[3]], [ns('net'), ns('mnt'), 'c'], 'its namespaces, its hostname');
    assert.ok(Number(lines[2]) >= 1, 'in the container\'s cgroup');
    writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, cwd: '/', args: ['sleep', '1000'] }));
    const pidFile = path.join(dir, 'exec.pid');
    // Detached, its process outlives the runtime: under a subreaper that reaps it, as the shim is.
    const reaper = spawn(path.join(attackTools('reaper'), 'reaper'), [oci, '--root', root, 'exec', '--process', proc, '--detach', '--pid-file', pidFile, 'c'], { stdio: 'ignore' });
    const reaped = new Promise((resolve) => reaper.on('exit', resolve));
    await waitFor(() => existsSync(pidFile), 'the exec\'s pid file');
    const epid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(JSON.parse(run(['ps', '--format', 'json', 'c']).stdout).includes(epid), 'the exec\'d process is in the container\'s cgroup');
    const k = run(['kill', '--all', 'c', '9']);
    assert.equal(k.status, 0, k.stderr);
    assert.equal(await reaped, 0, 'the detached exec ran, and its process was reaped once killed');
    await waitFor(() => state('c').status === 'stopped', 'stopped');
    assert.equal(run(['delete', 'c']).status, 0);
    const stopped = run(['exec', '--process', proc, 'c']);
    assert.notEqual(stopped.status, 0, 'exec into a removed container fails');
  });

  test('exec without --detach stands for its process: a signal sent to it is forwarded, and the exit is the process\'s', async () => {
    const b = bundle('sig', { args: ['sleep', '1000'] });
    assert.equal(run(['create', '--bundle', b, 'sig']).status, 0);
    assert.equal(run(['start', 'sig']).status, 0);
    const proc = path.join(dir, 'sig-process.json');
    writeFileSync(proc, JSON.stringify({ terminal: false, user: { uid: 0, gid: 0 }, cwd: '/', env: ['PATH=/bin'], args: ['sh', '-c', 'trap "exit 42" TERM; echo ready; while :; do sleep 0.05; done'] }));
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const ex = spawn(oci, ['--root', root, 'exec', '--process', proc, 'sig'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let said = '';
    ex.stdout.on('data', (d: Buffer) => (said += d.toString()));
    const exited = new Promise<number | null>((resolve) => ex.on('exit', (code) => resolve(code)));
    await waitFor(() => said.includes('ready'), 'the exec\'d shell has set its trap');
    ex.kill('SIGTERM');
    assert.equal(await exited, 42, 'the shell got SIGTERM (its trap ran) and exec exited with its code');
    assert.equal(state('sig').status, 'running', 'the init was not signalled');
    assert.equal(run(['delete', '--force', 'sig']).status, 0);
  });

  test('with terminal and --console-socket: the pty master is handed over before create returns, and the container writes to it', async () => {
    const tools = attackTools('console-recv');
    const sock = path.join(dir, 'console.sock');
    const recv = spawn(path.join(tools, 'console-recv'), [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
    let got = '';
    recv.stdout.on('data', (d) => (got += d));
    await waitFor(() => got.includes('listening'), 'the console socket listens');
    const b = bundle('tty', { terminal: true, args: ['sh', '-c', 'tty -s && echo on-a-tty'] });
    const c = run(['create', '--bundle', b, '--console-socket', sock, 'tty']);
    assert.equal(c.status, 0, c.stderr);
    await waitFor(() => got.includes('name /dev/ptmx'), 'the master came with runc\'s name');
    assert.equal(run(['start', 'tty']).status, 0);
    await waitFor(() => got.includes('on-a-tty'), 'output through the pty');
    recv.kill();
    await waitFor(() => state('tty').status === 'stopped', 'ended');
    assert.equal(run(['delete', 'tty']).status, 0);
  });

  test('hooks: prestart gets the state on stdin before start; poststart and poststop run at start and delete, and a failing one is a warning', () => {
    const out = path.join(dir, 'hook-out');
    const b = bundle('hooked', { args: ['sleep', '1000'] }, {
      hooks: {
        prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}.prestart`] }],
        poststart: [{ path: '/bin/false' }, { path: '/bin/sh', args: ['sh', '-c', `cat > ${out}.poststart`] }],
        poststop: [{ path: '/bin/false' }, { path: '/bin/sh', args: ['sh', '-c', `cat > ${out}.poststop`] }],
      },
    });
    assert.equal(run(['create', '--bundle', b, 'hooked']).status, 0);
    const pre = JSON.parse(readFileSync(`${out}.prestart`, 'utf8'));
    assert.deepEqual([pre.id, pre.status, pre.pid > 0], ['hooked', 'created', true]);
    const st = run(['start', 'hooked']);
    assert.equal(st.status, 0, 'a failing poststart hook does not fail start');
    assert.match(st.stderr, /warning: poststart hook \/bin\/false failed/);
    assert.equal(JSON.parse(readFileSync(`${out}.poststart`, 'utf8')).status, 'running', 'the hook after the failing one ran');
    assert.equal(state('hooked').status, 'running');
    const d = run(['delete', '--force', 'hooked']);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /warning: poststop hook \/bin\/false failed/);
    assert.equal(JSON.parse(readFileSync(`${out}.poststop`, 'utf8')).id, 'hooked', 'the hook after the failing one ran');
  });

  /** A directory of the host bound at /out in the container, writable by any user. */
  const withOut = (b: string, name: string) => {
    const out = path.join(dir, `${name}-out`);
    mkdirSync(out, { recursive: true, mode: 0o777 });
    chmodSync(out, 0o777);
    const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    return out;
  };

  test('startContainer hooks run at start inside the container, before its command: its mount namespace, hostname, user and capabilities, the state on stdin', async () => {
    const hook = 'cat > /tmp/state; { hostname; id -u; grep CapEff /proc/self/status; } > /tmp/hook';
    const b = bundle('starthook', { args: ['sh', '-c', 'cp /tmp/state /out/state; cp /tmp/hook /out/seen'], user: { uid: 1000, gid: 1000 } }, { hooks: { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', hook] }] } });
    const out = withOut(b, 'starthook');
    chmodSync(path.join(b, 'rootfs'), 0o755); // the test tree is made 0700: uid 1000 could not enter its own /
    assert.equal(run(['create', '--bundle', b, 'starthook']).status, 0);
    assert.ok(!existsSync(path.join(b, 'rootfs', 'tmp', 'hook')), 'its /tmp is the container\'s tmpfs');
    const pid = state('starthook').pid;
    assert.equal(run(['start', 'starthook']).status, 0);
    await waitFor(() => existsSync(path.join(out, 'seen')) && readFileSync(path.join(out, 'seen'), 'utf8').includes('CapEff'), 'the command read what the hook wrote in the container\'s /tmp');
    const [host, uid, capEff] = readFileSync(path.join(out, 'seen'), 'utf8').trim().split('\n');
    const st = JSON.parse(readFileSync(path.join(out, 'state'), 'utf8'));
    assert.deepEqual([st.id, st.status, st.pid], ['starthook', 'created', pid]);
    assert.deepEqual([host, uid], ['starthook', '1000'], 'the container\'s hostname, its user');
    assert.match(capEff, /^CapEff:\s+0+$/, 'a uid 1000 process keeps no effective capability');
    await waitFor(() => state('starthook').status === 'stopped', 'ended');
    assert.equal(run(['delete', 'starthook']).status, 0);
  });

  test('a failing startContainer hook stops the container before its command, the reason on its stderr', async () => {
    const b = bundle('hookfail', { args: ['sh', '-c', 'touch /out/ran'] }, { hooks: { startContainer: [{ path: '/bin/false' }, { path: '/bin/touch', args: ['touch', '/out/second'] }] } });
    const out = withOut(b, 'hookfail');
    const c = run(['create', '--bundle', b, 'hookfail']);
    assert.equal(c.status, 0);
    assert.equal(run(['start', 'hookfail']).status, 0, 'start has let the init go (as runc\'s does) before the hook runs');
    await waitFor(() => state('hookfail').status === 'stopped', 'the init stopped');
    assert.match(readFileSync(c.errFile, 'utf8'), /startContainer hook \/bin\/false failed: exit 1/);
    assert.deepEqual([existsSync(path.join(out, 'ran')), existsSync(path.join(out, 'second'))], [false, false], 'neither the command nor the next hook ran');
    assert.equal(run(['delete', 'hookfail']).status, 0);
  });

  test('attack: a startContainer hook path is resolved in the container\'s root: a symlink there to a host program runs nothing of the host\'s', async () => {
    const hostProg = path.join(dir, 'host-only.sh');
    const ran = path.join(dir, 'host-ran');
    writeFileSync(hostProg, `#!/bin/sh\ntouch ${ran}\n`, { mode: 0o755 });
    const b = bundle('hookhost', { args: ['sh', '-c', 'touch /out/ran'] }, { hooks: { startContainer: [{ path: '/evil' }] } });
    symlinkSync(hostProg, path.join(b, 'rootfs', 'evil'));
    const out = withOut(b, 'hookhost');
    const c = run(['create', '--bundle', b, 'hookhost']);
    assert.equal(c.status, 0);
    assert.equal(run(['start', 'hookhost']).status, 0);
    await waitFor(() => state('hookhost').status === 'stopped', 'the init stopped');
    assert.match(readFileSync(c.errFile, 'utf8'), /startContainer hook \/evil: execve: errno 2/, 'ENOENT: the host path is not in the container');
    assert.deepEqual([existsSync(ran), existsSync(path.join(out, 'ran'))], [false, false], 'the host program did not run, nor did the command');
    assert.equal(run(['delete', 'hookhost']).status, 0);
  });

  /** Lines of the runtime's (the host's) mountinfo that name this path. */
  const hostMountsOf = (p: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(p));

  test('a config without a mount namespace: the container is in the runtime\'s mount namespace, rooted in its bundle, yet nothing of it is mounted there; exec into it is refused', async () => {
    const b = bundle('nomnt', { args: ['sleep', '1000'] }, {}, { namespaces: [{ type: 'pid' }, { type: 'uts' }] });
    assert.equal(run(['create', '--bundle', b, 'nomnt']).status, 0);
    assert.equal(run(['start', 'nomnt']).status, 0);
    const pid = state('nomnt').pid;
    assert.equal(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'), 'the runtime\'s mount namespace (runtime-tools linux_ns_itype)');
    assert.ok(readdirSync(`/proc/${pid}/root`).includes('www'), 'its root is the bundle\'s rootfs');
    assert.ok(readdirSync(`/proc/${pid}/root/proc`).includes('1'), 'with its own /proc mounted');
    assert.deepEqual(hostMountsOf(b), [], 'none of its mounts is in the runtime\'s mount table');
    const ex = path.join(dir, 'nomnt-exec.json');
    writeFileSync(ex, JSON.stringify({ args: ['true'], cwd: '/', env: [], user: { uid: 0, gid: 0 } }));
    const e = run(['exec', '--process', ex, 'nomnt']);
    assert.notEqual(e.status, 0);
    assert.match(e.stderr, /no mount namespace of its own/, 'an exec would otherwise run on the host\'s root');
    assert.equal(run(['delete', '--force', 'nomnt']).status, 0);
    assert.deepEqual(hostMountsOf(b), []);
  });

  test('attack: without a mount namespace, root with CAP_SYS_CHROOT and CAP_SYS_ADMIN cannot climb out of its chroot to a host file, nor mount on the host', async () => {
    const tools = attackTools('chroot-escape');
    const secret = path.join(dir, 'host-secret');
    writeFileSync(secret, 'host only\n');
    const caps = ['CAP_SYS_CHROOT', 'CAP_SYS_ADMIN'];
    const b = bundle('escape', { args: ['sh', '-c', `/attack/chroot-escape ${secret} > /out/escape; mount -t tmpfs none /data; echo $? > /out/mount; sleep 1000`], capabilities: { bounding: caps, effective: caps, permitted: caps } }, {}, { namespaces: [{ type: 'pid' }, { type: 'uts' }] });
    const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.mounts.push({ destination: '/attack', type: 'bind', source: tools, options: ['rbind', 'ro'] });
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    const out = withOut(b, 'escape');
    assert.equal(run(['create', '--bundle', b, 'escape']).status, 0);
    assert.equal(run(['start', 'escape']).status, 0);
    await waitFor(() => existsSync(path.join(out, 'mount')), 'the attack ran');
    assert.match(readFileSync(path.join(out, 'escape'), 'utf8'), /^contained: .*host-secret: No such file or directory/, '".." at the top of its root stays there');
    assert.deepEqual([hostMountsOf(b), hostMountsOf(' /data ')], [[], []], 'whatever its mount did, nothing reached the runtime\'s mount table');
    assert.equal(run(['delete', '--force', 'escape']).status, 0);
  });

  test('attack: process.cwd /proc/self/fd/N (runc CVE-2024-21626) cannot reach a host directory: no fd of the runtime is left', () => {
    const b = bundle('cwd', { args: ['sh', '-c', 'pwd; ls /proc/self/fd'], cwd: '/proc/self/fd/7' });
    const c = run(['create', '--bundle', b, 'cwd']);
    assert.notEqual(c.status, 0, 'refused at create');
    assert.match(c.stderr, /chdir.*\/proc\/self\/fd\/7.*ENOENT|ENOTDIR/);
    assert.ok(!existsSync(path.join(root, 'cwd')), 'nothing left');
  });

  test('attack: a rootfs whose /proc is a symlink to a host path gets proc mounted inside its own root, never on the host', () => {
    const b = bundle('link', { args: ['true'] });
    const hostDir = path.join(dir, 'host-target');
    mkdirSync(hostDir);
    rmSync(path.join(b, 'rootfs', 'proc'), { recursive: true, force: true });
    symlinkSync(hostDir, path.join(b, 'rootfs', 'proc'));
    const c = run(['create', '--bundle', b, 'link']);
    if (c.status === 0) run(['delete', '--force', 'link']);
    const mounted = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === hostDir);
    assert.equal(mounted, false, 'no mount on the host path');
    assert.equal(spawnSync('ls', ['-A', hostDir], { encoding: 'utf8' }).stdout, '', 'the host directory is untouched');
  });

  test('pause freezes every process of the container (state: paused), resume thaws it; update writes a new limit into its cgroup; kill --all ends every process of it', async () => {
    const b = bundle('frozen', { args: ['sh', '-c', 'sleep 1000 & while :; do echo x > /dev/null; done'] }, {}, { resources: { pids: { limit: 50 }, cpu: { cpus: '0', mems: '0' }, memory: { reservation: 1 << 25, swappiness: 10 } } });
    const cr = run(['create', '--bundle', b, 'frozen']);
    assert.equal(cr.status, 0, cr.stderr);
    // Its cpuset (made with its parent's cpus and mems, or it could not be joined) and memory settings.
    const file = (f: string) => cgroupDirsOf(`${cgParent}/frozen`).map((d) => path.join(d, f)).find((x) => existsSync(x));
    const v1 = / - cgroup \S+ \S*cpuset/.test(readFileSync('/proc/self/mountinfo', 'utf8'));
    const want = v1 ? [['cpuset.cpus', '0'], ['cpuset.mems', '0'], ['memory.soft_limit_in_bytes', String(1 << 25)], ['memory.swappiness', '10']] : [['cpuset.cpus', '0'], ['memory.low', String(1 << 25)]];
    for (const [f, v] of want) assert.equal(readFileSync(file(f) ?? `(no ${f})`, 'utf8').trim(), v, f);
    assert.equal(run(['start', 'frozen']).status, 0);
    const pid = state('frozen').pid;
    assert.equal(run(['pause', 'frozen']).status, 0);
    assert.equal(state('frozen').status, 'paused');
    const cpu = () => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[11]);
    const before = cpu();
    const t0 = Date.now();
    while (Date.now() - t0 < 200) {} // a busy loop of our own: a frozen one gains no CPU time meanwhile
    assert.equal(cpu(), before, 'a frozen process gets no CPU time');
    assert.equal(run(['resume', 'frozen']).status, 0);
    assert.equal(state('frozen').status, 'running');
    await waitFor(() => cpu() > before, 'it runs again');
    const res = path.join(dir, 'res.json');
    writeFileSync(res, JSON.stringify({ pids: { limit: 77 } }));
    assert.equal(run(['update', '--resources', res, 'frozen']).status, 0);
    const pidsDir = cgroupDirsOf(`${cgParent}/frozen`).find((d) => existsSync(path.join(d, 'pids.max')));
    assert.ok(pidsDir, 'a pids cgroup');
    assert.equal(readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim(), '77');
    const ps = () => JSON.parse(run(['ps', '--format', 'json', 'frozen']).stdout) as number[];
    await waitFor(() => ps().length === 2, 'the init and its background sleep');
    assert.equal(run(['kill', '--all', 'frozen', '9']).status, 0);
    await waitFor(() => ps().length === 0, 'kill --all: every process of the cgroup is gone');
    assert.equal(run(['delete', 'frozen']).status, 0);
    assert.ok(!existsSync(path.join(root, 'frozen')));
  });

  test('mount propagation: an rshared bind is a peer of the host\'s mount both ways, an rslave one only receives; no mount of the runtime\'s own reaches the host', async () => {
    const sh = (c: string) => assert.equal(spawnSync('sh', ['-c', c]).status, 0, c);
    const shared = path.join(dir, 'prop-shared');
    const slave = path.join(dir, 'prop-slave');
    // The host's side, as containerd makes it for Bidirectional/HostToContainer: shared mounts.
    for (const d of [shared, slave]) sh(`mkdir -p ${d} && mount --bind ${d} ${d} && mount --make-shared ${d} && mkdir ${d}/from-ctr ${d}/from-host`);
    const hostMounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((l) => l.split(' ')[4]);
    const before = hostMounts();
    try {
      const script = [
        'mount -t tmpfs ctr /shared/from-ctr', 'mount -t tmpfs ctr /slave/from-ctr', 'touch /shared/done',
        'while [ ! -e /shared/go ]; do sleep 0.05; done',
        "grep -c ' /shared/from-host ' /proc/self/mountinfo > /shared/seen-shared; grep -c ' /slave/from-host ' /proc/self/mountinfo > /shared/seen-slave",
        'sleep 1000',
      ].join('; ');
      const admin = ['CAP_SYS_ADMIN'];
      const b = bundle('prop', { args: ['sh', '-c', script], capabilities: { bounding: admin, effective: admin, permitted: admin } });
      const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
      config.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rshared'] }, { destination: '/slave', type: 'bind', source: slave, options: ['rbind', 'rslave'] });
      writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
      const c = run(['create', '--bundle', b, 'prop']);
      assert.equal(c.status, 0, c.stderr);
      assert.deepEqual(hostMounts(), before, 'creating the container mounted nothing on the host (its rootfs, proc, /dev, binds are its own)');
      assert.equal(run(['start', 'prop']).status, 0);
      await waitFor(() => existsSync(path.join(shared, 'done')), 'the container mounted under both binds');
      const after = hostMounts();
      assert.ok(after.includes(path.join(shared, 'from-ctr')), 'the rshared bind: the container\'s mount shows on the host');
      assert.ok(!after.includes(path.join(slave, 'from-ctr')), 'the rslave bind: the container\'s mount stays in the container');
      assert.deepEqual(after.filter((m) => !before.includes(m)), [path.join(shared, 'from-ctr')], 'nothing else of the container reached the host');
      sh(`mount -t tmpfs host ${shared}/from-host && mount -t tmpfs host ${slave}/from-host && touch ${shared}/go`);
      await waitFor(() => existsSync(path.join(shared, 'seen-slave')), 'the container looked');
      assert.equal(readFileSync(path.join(shared, 'seen-shared'), 'utf8').trim(), '1', 'a host mount under the rshared bind shows in the container');
      assert.equal(readFileSync(path.join(shared, 'seen-slave'), 'utf8').trim(), '1', 'a host mount under the rslave bind shows in the container');
      assert.equal(run(['delete', '--force', 'prop']).status, 0);
    } finally {
      run(['delete', '--force', 'prop']);
      for (const m of hostMounts().filter((x) => x.startsWith(shared) || x.startsWith(slave)).reverse()) spawnSync('umount', ['-l', m]);
    }
    assert.deepEqual(hostMounts(), before.filter((m) => !m.startsWith(shared) && !m.startsWith(slave)));
  });

  test('attack: in a user namespace, root in the container is an unprivileged host id: a host root-only file and a host-wide sysctl stay out of reach; exec joins it too', async () => {
    // The bundle must be reachable by the namespace's root (host uid 100000), as with runc.
    chmodSync(dir, 0o711);
    const out = path.join(dir, 'userns-out');
    mkdirSync(out, { recursive: true, mode: 0o777 });
    chmodSync(out, 0o777);
    const secret = path.join(dir, 'userns-secret');
    writeFileSync(secret, 'host root only\n', { mode: 0o600 });
    const ns = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }];
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const admin = ['CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_SYS_ADMIN'];
    const b = bundle('userns', { args: ['sh', '-c', 'cat /proc/self/uid_map > /out/map; id -u > /out/id; cat /secret > /out/secret 2>&1; umount /proc/sys; echo 1 2> /out/sysctl > /proc/sys/vm/drop_caches; touch /out/done; sleep 1000'], capabilities: { bounding: admin, effective: admin, permitted: admin } }, {}, { namespaces: ns, uidMappings: map, gidMappings: map });
    chmodSync(path.join(b, 'rootfs'), 0o755); // a copy of a mkdtemp tree: 0700, which only host root could enter
    // Mount points made beforehand: the namespace's root cannot create them in a rootfs owned by host root.
    mkdirSync(path.join(b, 'rootfs', 'out'), { recursive: true });
    writeFileSync(path.join(b, 'rootfs', 'secret'), '');
    const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] }, { destination: '/secret', type: 'bind', source: secret, options: ['bind', 'ro'] });
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    const c = run(['create', '--bundle', b, 'userns']);
    assert.equal(c.status, 0, c.stderr);
    const pid = state('userns').pid;
    assert.equal(run(['start', 'userns']).status, 0);
    await waitFor(() => existsSync(path.join(out, 'done')), 'the container wrote its findings');
    assert.match(readFileSync(path.join(out, 'map'), 'utf8'), /^\s*0\s+100000\s+65536\s*$/);
    assert.equal(readFileSync(path.join(out, 'id'), 'utf8').trim(), '0', 'root inside');
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+100000\s+100000\s+100000\s+100000$/m, 'host uid 100000 outside');
    assert.match(readFileSync(path.join(out, 'secret'), 'utf8'), /Permission denied/, 'CAP_DAC_OVERRIDE in its own namespace is nothing to a host root file');
    // Its mount namespace is its own (as runc has it): it may take the read-only /proc/sys
    // away, and a host-wide sysctl still refuses it (the kernel checks against host root).
    assert.match(readFileSync(path.join(out, 'sysctl'), 'utf8'), /Permission denied|Read-only/, 'a host-wide sysctl cannot be written');
    const proc = path.join(dir, 'userns-exec.json');
    writeFileSync(proc, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'id -u > /out/exec-id; cat /proc/self/uid_map > /out/exec-map'], cwd: '/', env: ['PATH=/bin'] }));
    assert.equal(run(['exec', '--process', proc, 'userns']).status, 0);
    assert.equal(readFileSync(path.join(out, 'exec-id'), 'utf8').trim(), '0');
    assert.match(readFileSync(path.join(out, 'exec-map'), 'utf8'), /^\s*0\s+100000\s+65536\s*$/, 'exec is in the same user namespace');
    assert.equal(run(['delete', '--force', 'userns']).status, 0);
  });

  test('attack: on cgroup v2 (its hierarchy alone mounted), a root container with CAP_MKNOD makes a node of a device it is not given (/dev/fuse, c 10:229) and cannot open it; /dev/null still opens', async () => {
    const own = (readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m) ?? [])[1];
    assert.ok(own !== undefined, 'a cgroup2 hierarchy (hybrid or pure v2)');
    const cg = path.posix.join(own, `minipod-test-v2dev-${process.pid}`);
    const out = path.join(dir, 'v2dev-out');
    mkdirSync(out, { recursive: true });
    const caps = ['CAP_MKNOD', 'CAP_DAC_OVERRIDE'];
    const b = bundle('v2dev', { args: ['sh', '-c', 'mknod /dev/f c 10 229; (exec 3<> /dev/f) 2> /out/disk; head -c 1 /dev/null 2> /out/null; echo $? >> /out/null; touch /out/done'], capabilities: { bounding: caps, effective: caps, permitted: caps } }, {}, { cgroupsPath: cg, resources: { devices: [{ allow: false, access: 'rwm' }] } });
    const config = JSON.parse(readFileSync(path.join(b, 'config.json'), 'utf8'));
    config.mounts.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
    writeFileSync(path.join(b, 'config.json'), JSON.stringify(config));
    mkdirSync(path.join(b, 'rootfs', 'out'), { recursive: true });
    // A mount namespace whose /sys/fs/cgroup is the cgroup2 hierarchy alone: minipod-oci sees a v2 host.
    // Every cgroup mount off (deepest first), then cgroup2 alone (mounts hidden under the sandbox's
    // own /sys stay listed in mountinfo: minipod-oci takes only the hierarchies a path reaches).
    const cgroupMounts = String.raw`awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) ~ /^cgroup2?$/) print $5; break } }' /proc/self/mountinfo`;
    const script = String.raw`
      for m in $(${cgroupMounts} | sort -r -u); do umount -l "$m" || { echo "umount $m failed" >&2; exit 9; }; done
      mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "mount cgroup2 failed" >&2; exit 9; }
      ! mountpoint -q /sys/fs/cgroup/memory || { echo "a v1 hierarchy is still reachable" >&2; exit 9; }
      ${oci} --root ${root} create --bundle ${b} v2dev && ${oci} --root ${root} start v2dev || exit 8
      for i in $(seq 100); do [ -e ${out}/done ] && break; sleep 0.05; done
      ${oci} --root ${root} delete --force v2dev; rmdir /sys/fs/cgroup${cg} 2>/dev/null; true`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    const v2root = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
    if (v2root) spawnSync('rmdir', [path.join(v2root, cg)]);
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.ok(!v2root || !existsSync(path.join(v2root, cg)), 'its cgroup is gone');
    const disk = readFileSync(path.join(out, 'disk'), 'utf8');
    assert.match(disk, /Operation not permitted/, `the node is made (CAP_MKNOD, "c *:* m"), its open refused: ${disk}`);
    assert.equal(readFileSync(path.join(out, 'null'), 'utf8').trim(), '0', '/dev/null is allowed');
  });

  test('bad input: an unknown id, a config that asks for what cannot be given, a bad signal: exit 1, the reason in the log', () => {
    assert.match(run(['delete', 'nosuch']).stderr, /does not exist/);
    const b = bundle('err', { args: ['true'] }, {}, { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] });
    const c = run(['create', '--bundle', b, 'err']);
    assert.equal(c.status, 1);
    assert.match(c.stderr, /linux\.uidMappings: mappings need a user namespace in linux\.namespaces/);
    assert.ok(!existsSync(path.join(root, 'err')));
    const missing = bundle('err', { args: ['no-such-command'] });
    const m = run(['create', '--bundle', missing, 'err']);
    assert.equal(m.status, 1);
    assert.match(m.stderr, /exec: "no-such-command": executable file not found in \$PATH/);
    assert.match(run(['kill', 'nosuch', 'SIGFOO']).stderr, /unknown signal "SIGFOO"/);
    assert.match(run(['--version']).stdout, /^minipod-oci version \S+\nspec: 1\.\d/);
  });
});
