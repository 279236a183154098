// The pod network for real (root): a bridge of its own (mptest-net, 10.213.0.0/24), pods
// reaching each other by IP, hostPorts from the host's 127.0.0.1, the gateway and other
// network namespaces, 20 pods at once, conflicts refused, the /etc files, hostNetwork, bad
// input, and nothing left behind. Traffic only goes to loopback and this test's own
// addresses. Run inside the test sandbox (scripts/test.mjs): its own network namespace.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, repo, TestHost, waitFor, type CliResult } from './helpers.ts';

const BRIDGE = 'mptest-net';
const SUBNET = '10.213.0.0/24';
const GATEWAY = '10.213.0.1';
const HOSTPORT = 18080;
const OUT_NS = 'mptest-out'; // a namespace on the bridge, playing another host
const ROUTED_NS = 'mptest-rt'; // a namespace behind a routed link (not on the bridge)

let host: TestHost;
let image: string;

function sh(cmd: string, args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input });
  return { code: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.err}`);
  return r.out;
}

/** Interfaces of this namespace, from `ip -j -d link`. */
function links(): { ifname: string; master?: string; linkinfo?: { info_kind?: string } }[] {
  return JSON.parse(must('ip', ['-j', '-d', 'link', 'show']));
}

function leases(): string[] {
  const dir = path.join(host.root, 'run/net', BRIDGE, 'leases');
  return existsSync(dir) ? readdirSync(dir) : [];
}

function nftTable(table = `minipod-${BRIDGE}`): string | undefined {
  const r = sh('nft', ['list', 'table', 'ip', table]);
  return r.code === 0 ? r.out : undefined;
}

/** `minipod network ...` (the verb, run the way the CLI runs it). */
function network(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const script = `const { networkVerb } = await import(${JSON.stringify(path.join(repo, 'src/cli/network.ts'))});
    try { process.exitCode = await networkVerb.main(process.argv.slice(1)); } catch (e) { process.stderr.write('minipod: ' + e.message + '\\n'); process.exitCode = e.exitCode ?? 125; }`;
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { env: { ...host.env, ...env }, cwd: repo });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function httpd(name: string, extra: object = {}, spec: object = {}): object {
  return pod(name, {
    terminationGracePeriodSeconds: 1,
    ...spec,
    containers: [
      {
        name: 'web',
        image,
        command: ['sh', '-c', `mkdir -p /www && echo "hello from ${name}" > /www/index.html && exec httpd -f -p 80 -h /www`],
        ...extra,
      },
    ],
  });
}

/** `run -d`; returns the pod's IP (printed after its name). */
async function runDetached(manifest: object, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const name = (manifest as { metadata: { name: string } }).metadata.name;
  const r = await host.cli(['run', '-d', host.manifest(`${name}.json`, manifest)], { env });
  assert.equal(r.code, 0, `run ${name}: ${r.stderr}`);
  const [n, ip] = r.stdout.trim().split(' ');
  assert.equal(n, name);
  assert.ok(ip, `no IP printed for ${name}: ${r.stdout}`);
  return ip;
}

async function exec(name: string, argv: string[]): Promise<CliResult> {
  return host.cli(['exec', name, '--', ...argv]);
}

/** An HTTP GET with busybox nc (busybox's wget applet crashes on this platform): the body, or undefined. */
function ncGet(ip: string, port: number): string[] {
  return ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port}`];
}

function body(response: string): string | undefined {
  const i = response.indexOf('\r\n\r\n');
  return / 200 /.test(response.split('\n')[0] ?? '') && i >= 0 ? response.slice(i + 4) : undefined;
}

async function get(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

async function rm(...names: string[]): Promise<void> {
  const r = await host.cli(['rm', '-f', ...names]);
  assert.equal(r.code, 0, `rm ${names.join(' ')}: ${r.stderr}`);
}

before(() => {
  if (needsRoot) return;
  host = new TestHost('network');
  Object.assign(host.env, { MINIPOD_BRIDGE: BRIDGE, MINIPOD_SUBNET: SUBNET });
  image = busyboxRootfs();
});

after(async () => {
  if (needsRoot) return;
  for (const ns of [OUT_NS, ROUTED_NS]) sh('ip', ['netns', 'del', ns]);
  for (const l of ['mptest-dum', 'mptest-oh', 'mptest-rh']) sh('ip', ['link', 'del', l]);
  host.cleanup();
});

test('two pods: a container of A fetches from B by pod IP', { skip: needsRoot }, async () => {
  const ipB = await runDetached(httpd('b', { ports: [{ containerPort: 80, hostPort: HOSTPORT }] }));
  const ipA = await runDetached(pod('a', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] }));
  assert.notEqual(ipA, ipB);
  assert.match(ipA, /^10\.213\.0\.\d+$/);
  const out = await waitFor(async () => {
    const r = await exec('a', ncGet(ipB, 80));
    return r.code === 0 ? body(r.stdout) : undefined;
  }, `pod a reaching pod b at ${ipB}`);
  assert.equal(out.trim(), 'hello from b');
  // The pod's own view: eth0 with its address, default route via the gateway.
  const route = await exec('a', ['ip', 'route']);
  assert.match(route.stdout, new RegExp(`default via ${GATEWAY.replace(/\./g, '\\.')} dev eth0`));
  // The bridge carries the gateway address.
  assert.match(must('ip', ['-br', 'addr', 'show', 'dev', BRIDGE]), new RegExp(`${GATEWAY}/24`));
  // ps shows the pod IP.
  const ps = await host.cli(['ps']);
  assert.match(ps.stdout, new RegExp(`^a\\s.*${ipA.replace(/\./g, '\\.')}`, 'm'));
});

test('hostPort: reached at 127.0.0.1 and at the gateway address from the host', { skip: needsRoot }, async () => {
  assert.equal((await waitFor(() => get(`http://127.0.0.1:${HOSTPORT}/`), 'hostPort at 127.0.0.1')).trim(), 'hello from b');
  assert.equal((await waitFor(() => get(`http://${GATEWAY}:${HOSTPORT}/`), 'hostPort at the gateway')).trim(), 'hello from b');
});

test('hostPort: another network namespace reaches it at the host\'s address (on the bridge, and routed)', { skip: needsRoot }, async () => {
  // On the bridge, with an address of the subnet the allocator does not reach in this test.
  must('ip', ['netns', 'add', OUT_NS]);
  must('ip', ['link', 'add', 'mptest-oh', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUT_NS]);
  must('ip', ['link', 'set', 'mptest-oh', 'master', BRIDGE, 'up']);
  for (const args of [['link', 'set', 'lo', 'up'], ['addr', 'add', '10.213.0.250/24', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up']]) must('ip', ['-n', OUT_NS, ...args]);
  const fromOut = () => body(sh('ip', ['netns', 'exec', OUT_NS, 'busybox', ...ncGet(GATEWAY, HOSTPORT)]).out);
  assert.equal((await waitFor(fromOut, 'hostPort from a namespace on the bridge')).trim(), 'hello from b');

  // Behind a routed link: traffic enters on another interface and is DNATed onto the bridge.
  must('ip', ['netns', 'add', ROUTED_NS]);
  must('ip', ['link', 'add', 'mptest-rh', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ROUTED_NS]);
  must('ip', ['addr', 'add', '10.214.0.1/30', 'dev', 'mptest-rh']);
  must('ip', ['link', 'set', 'mptest-rh', 'up']);
  for (const args of [['link', 'set', 'lo', 'up'], ['addr', 'add', '10.214.0.2/30', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up']]) must('ip', ['-n', ROUTED_NS, ...args]);
  const routed = () => body(sh('ip', ['netns', 'exec', ROUTED_NS, 'busybox', ...ncGet('10.214.0.1', HOSTPORT)]).out);
  assert.equal((await waitFor(routed, 'hostPort from a routed namespace')).trim(), 'hello from b');

  // Egress: a pod reaching beyond the subnet is masqueraded to the host's address there.
  const script = `require('node:net').createServer((c) => { console.log(c.remoteAddress); c.end('ok'); }).listen(7000, '10.214.0.2', () => console.log('ready'));`;
  const server = spawn('ip', ['netns', 'exec', ROUTED_NS, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let seen = '';
    server.stdout.on('data', (d) => (seen += d));
    await waitFor(() => seen.includes('ready'), 'a server in the routed namespace');
    const r = await waitFor(async () => {
      const x = await exec('a', ['sh', '-c', 'echo hi | nc -w 2 10.214.0.2 7000']);
      return x.stdout.includes('ok') ? x : undefined;
    }, 'pod a reaching the routed namespace');
    assert.equal(r.code, 0);
    assert.match(seen, /^10\.214\.0\.1$/m, `source seen by the server: ${seen}`);
  } finally {
    server.kill('SIGKILL');
  }
  for (const ns of [OUT_NS, ROUTED_NS]) must('ip', ['netns', 'del', ns]); // their veths go with them
});

/** busybox has no UDP server: a small echo server (port 53) in the pod's network namespace. */
async function udpEcho(podName: string): Promise<ReturnType<typeof spawn>> {
  const rec = JSON.parse(readFileSync(path.join(host.root, 'run/pods', podName, 'state.json'), 'utf8')) as { pause: { pid: number } };
  const script = `const s = require('node:dgram').createSocket('udp4'); s.on('message', (m, r) => s.send('pong:' + m, r.port, r.address)); s.bind(53, () => console.log('ready'));`;
  const server = spawn('nsenter', [`--net=/proc/${rec.pause.pid}/ns/net`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((res, rej) => {
    server.stdout!.once('data', () => res());
    server.once('exit', (c) => rej(new Error(`udp server exited ${c}`)));
  });
  return server;
}

test('a UDP flow that began before its hostPort was published: its conntrack entry is forgotten, and the same flow reaches the pod', { skip: needsRoot }, async () => {
  // Conntrack is active in this network namespace once a nat chain exists; then a datagram
  // to a port nobody publishes yet leaves an entry without DNAT, which would keep that flow
  // (same source port) away from the pod for good, were it not flushed when the pod starts.
  must('nft', ['add', 'table', 'ip', 'mptest_ct']);
  must('nft', ['add chain ip mptest_ct pre { type nat hook prerouting priority -100; }']);
  const sock = dgram.createSocket('udp4');
  let server: ReturnType<typeof spawn> | undefined;
  try {
    await new Promise<void>((res) => sock.bind(40123, '127.0.0.1', () => res()));
    sock.send('early', 18054, '127.0.0.1');
    const entries = () => spawnSync('conntrack', ['-L', '-p', 'udp', '--dport', '18054'], { encoding: 'utf8' }).stdout;
    await waitFor(() => entries().includes('sport=40123'), 'the early datagram\'s conntrack entry');
    await runDetached(pod('ctu', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'], ports: [{ containerPort: 53, hostPort: 18054, protocol: 'UDP' }] }] }));
    assert.doesNotMatch(entries(), /sport=40123 dport=18054 .*dst=127\.0\.0\.1 sport=18054/, 'the entry without DNAT is gone');
    server = await udpEcho('ctu');
    let reply: string | undefined;
    sock.on('message', (m) => (reply = String(m)));
    const got = await waitFor(() => {
      sock.send('late', 18054, '127.0.0.1');
      return reply;
    }, 'the same flow answered by the pod', 10_000, 200);
    assert.equal(got, 'pong:late');
  } finally {
    sock.close();
    server?.kill('SIGKILL');
    await rm('ctu');
    must('nft', ['delete', 'table', 'ip', 'mptest_ct']);
  }
});

test('hostIP: a port published on one address answers there only', { skip: needsRoot }, async () => {
  await runDetached(httpd('hip', { ports: [{ containerPort: 80, hostPort: 18070, hostIP: GATEWAY }] }));
  try {
    assert.equal((await waitFor(() => get(`http://${GATEWAY}:18070/`), 'hostPort on the gateway address')).trim(), 'hello from hip');
    assert.equal(await get('http://127.0.0.1:18070/'), undefined);
    assert.match(nftTable()!, /10\.213\.0\.1 \. tcp \. 18070 : 10\.213\.0\.\d+ \. 80/);
  } finally {
    await rm('hip');
  }
});

test('UDP hostPort: a datagram to 127.0.0.1 reaches the pod and the answer comes back', { skip: needsRoot }, async () => {
  // busybox has no UDP server: a small echo server runs in the pod's network namespace.
  await runDetached(pod('u', { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'], ports: [{ containerPort: 53, hostPort: 18053, protocol: 'UDP' }] }] }));
  const server = await udpEcho('u');
  const sock = dgram.createSocket('udp4');
  try {
    let reply: string | undefined;
    sock.on('message', (m) => (reply = String(m)));
    const got = await waitFor(() => {
      sock.send('ping-udp', 18053, '127.0.0.1');
      return reply;
    }, 'a UDP answer through the hostPort', 10_000, 200);
    assert.equal(got, 'pong:ping-udp');
    assert.match(nftTable()!, /udp \. 18053 : 10\.213\.0\.\d+ \. 53/);
  } finally {
    sock.close();
    server.kill('SIGKILL');
    await rm('u');
  }
  assert.doesNotMatch(nftTable()!, /18053/);
});

test('gc after a supervisor is killed: DNAT element, veth and address are undone', { skip: needsRoot }, async () => {
  const ip = await runDetached(httpd('g', { ports: [{ containerPort: 80, hostPort: 18090 }] }));
  assert.ok(leases().includes(ip));
  const st = JSON.parse(readFileSync(path.join(host.root, 'run/pods/g/state.json'), 'utf8')) as { supervisor: { pid: number }; host: { network: { veth: string } } };
  const rec = { supervisor: st.supervisor, network: st.host.network };
  assert.ok(links().some((l) => l.ifname === rec.network.veth));
  process.kill(rec.supervisor.pid, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${rec.supervisor.pid}/stat`) || readFileSync(`/proc/${rec.supervisor.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'), 'the supervisor to die');
  const r = await host.cli(['gc']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /removed DNAT of hostPort 18090\/TCP/);
  assert.ok(!leases().includes(ip), `lease ${ip} left`);
  assert.ok(!links().some((l) => l.ifname === rec.network.veth), 'veth left');
  assert.doesNotMatch(nftTable()!, /18090/);
  await host.cli(['rm', '-f', 'g']);
});

test('a hostPort held by another pod, or by a host process, is refused before anything starts', { skip: needsRoot }, async () => {
  const r = await host.cli(['run', '-d', host.manifest('c.json', httpd('c', { ports: [{ containerPort: 80, hostPort: HOSTPORT }] }))]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, new RegExp(`hostPort ${HOSTPORT}/TCP is already taken by pod "b"`));
  assert.ok(!host.podDirs().some((d) => d.endsWith('/c')), `pod c left: ${host.podDirs()}`);
  assert.deepEqual((await host.cli(['ps', '-a'])).stdout.match(/^c\s/m), null);

  const srv = net.createServer();
  await new Promise<void>((res) => srv.listen(18181, '0.0.0.0', res));
  try {
    const r2 = await host.cli(['run', '-d', host.manifest('d.json', httpd('d', { ports: [{ containerPort: 80, hostPort: 18181 }] }))]);
    assert.equal(r2.code, 125);
    assert.match(r2.stderr, /hostPort 18181\/TCP is in use on this host: a host process listens on it/);
  } finally {
    srv.close();
  }
  // Leases: only a and b.
  assert.equal(leases().length, 2, leases().join(' '));
});

test('/etc/hosts maps the hostname to the pod IP and carries hostAliases; resolv.conf follows dnsConfig', { skip: needsRoot }, async () => {
  const ip = await runDetached(
    pod('dns', {
      terminationGracePeriodSeconds: 1,
      hostname: 'myhost',
      hostAliases: [{ ip: '10.213.0.77', hostnames: ['alias-one', 'alias-two'] }],
      dnsPolicy: 'None',
      dnsConfig: { nameservers: ['10.213.0.53'], searches: ['ns1.svc.example', 'example'], options: [{ name: 'ndots', value: '3' }, { name: 'edns0' }] },
      initContainers: [{ name: 'init', image, command: ['sh', '-c', 'grep -q myhost /etc/hosts'] }],
      containers: [{ name: 'c', image, command: ['sleep', '3600'] }],
    }),
  );
  const hosts = (await exec('dns', ['cat', '/etc/hosts'])).stdout;
  assert.match(hosts, new RegExp(`^${ip.replace(/\./g, '\\.')}\\tmyhost$`, 'm'));
  assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(hosts, /^10\.213\.0\.77\talias-one\talias-two$/m);
  // The resolver inside the container agrees: busybox looks names up in /etc/hosts.
  const lookup = await exec('dns', ['ping', '-c', '1', '-W', '1', 'alias-two']);
  assert.match(lookup.stdout + lookup.stderr, /10\.213\.0\.77/);
  assert.equal((await exec('dns', ['cat', '/etc/resolv.conf'])).stdout, 'search ns1.svc.example example\nnameserver 10.213.0.53\noptions ndots:3 edns0\n');
  assert.equal((await exec('dns', ['hostname'])).stdout.trim(), 'myhost');
  assert.equal((await exec('dns', ['cat', '/etc/hostname'])).stdout.trim(), 'myhost');
  await rm('dns');
});

test('hostNetwork: the pod sees the host\'s interfaces and gets no veth or address', { skip: needsRoot }, async () => {
  const before = leases().length;
  const r = await host.cli(['run', '-d', host.manifest('hn.json', pod('hn', { hostNetwork: true, terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image, command: ['sleep', '3600'] }] }))]);
  assert.equal(r.code, 0, r.stderr);
  const out = (await exec('hn', ['cat', '/proc/net/dev'])).stdout;
  assert.match(out, new RegExp(`${BRIDGE}:`), out);
  assert.equal(leases().length, before);
  await rm('hn');
});

test('20 pods started at once get 20 distinct addresses and each answers on its IP', { skip: needsRoot }, async () => {
  const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
  const started = await Promise.allSettled(names.map((n) => runDetached(httpd(n))));
  try {
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const ips = started.map((r) => (r as PromiseFulfilledResult<string>).value);
    assert.equal(new Set(ips).size, 20, ips.join(' '));
    for (const [i, ip] of ips.entries()) {
      assert.equal((await waitFor(() => get(`http://${ip}/`), `pod ${names[i]} at ${ip}`)).trim(), `hello from ${names[i]}`);
    }
    assert.equal(leases().length, 22);
  } finally {
    await rm(...names);
  }
  assert.equal(leases().length, 2);
});

test('network ls shows the bridge and the pods\' addresses', { skip: needsRoot }, async () => {
  const r = await network(['ls']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${BRIDGE}\\s+${SUBNET.replace(/\./g, '\\.')}\\s+${GATEWAY.replace(/\./g, '\\.')}\\s+up, firewall\\s+2$`, 'm'));
  assert.match(r.stdout, new RegExp(`\\s${BRIDGE}\\s+b\\s+${HOSTPORT}/TCP->80$`, 'm'));
  const j = JSON.parse((await network(['ls', '-o', 'json'])).stdout) as { bridges: { bridge: string; allocations: { pod: string }[] }[] };
  assert.deepEqual(j.bridges.find((b) => b.bridge === BRIDGE)!.allocations.map((a) => a.pod).sort(), ['a', 'b']);
  // In use: rm refuses and names the pods.
  const busy = await network(['rm']);
  assert.equal(busy.code, 2, 'in use: 2, as podman network rm');
  assert.match(busy.stderr, /bridge "mptest-net" is in use by 2 pod\(s\): .*a \(10\.213\.0\.\d+\)/);
});

test('bad input: a name that is not a bridge, an invalid subnet, an exhausted subnet — each a clear error, nothing left', { skip: needsRoot }, async () => {
  must('ip', ['link', 'add', 'mptest-dum', 'type', 'veth', 'peer', 'name', 'mptest-dum2']);
  const notBridge = await host.cli(['run', '-d', host.manifest('x1.json', httpd('x1'))], { env: { MINIPOD_BRIDGE: 'mptest-dum' } });
  assert.equal(notBridge.code, 125);
  assert.match(notBridge.stderr, /interface "mptest-dum" exists but is not a bridge \(it is a veth interface\)/);
  must('ip', ['link', 'del', 'mptest-dum']);
  // The failed pod's address is freed, and the state of a bridge that never was is gone.
  assert.equal(existsSync(path.join(host.root, 'run/net/mptest-dum')), false, 'no state left for the refused bridge');

  // Another state root on this bridge while this root's pods use it.
  const other = new TestHost('network-other');
  try {
    const r = await other.cli(['run', '-d', other.manifest('x5.json', httpd('x5'))], { env: { MINIPOD_BRIDGE: BRIDGE, MINIPOD_SUBNET: SUBNET } });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /bridge "mptest-net" is in use by 2 pod\(s\) of another minipod state root/);
    assert.deepEqual(other.podDirs(), []);
    assert.deepEqual(readdirSync(path.join(other.root, 'run/net', BRIDGE, 'leases')), []);
  } finally {
    other.cleanup();
  }

  const badCidr = await host.cli(['run', '-d', host.manifest('x2.json', httpd('x2'))], { env: { MINIPOD_SUBNET: '10.213.0.0/40' } });
  assert.equal(badCidr.code, 125);
  assert.match(badCidr.stderr, /subnet .* "10\.213\.0\.0\/40" is not a valid IPv4 CIDR/);

  // A /30 holds the gateway and one pod.
  const small = { MINIPOD_BRIDGE: 'mptest-ex', MINIPOD_SUBNET: '10.213.9.0/30' };
  assert.equal(await runDetached(httpd('x3'), small), '10.213.9.2');
  const full = await host.cli(['run', '-d', host.manifest('x4.json', httpd('x4'))], { env: small });
  assert.equal(full.code, 125);
  assert.match(full.stderr, /subnet 10\.213\.9\.0\/30 of bridge "mptest-ex" is exhausted/);
  await rm('x3');
  const removed = await network(['rm'], small);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /removed bridge mptest-ex/);
  assert.equal(nftTable('minipod-mptest-ex'), undefined);
  assert.ok(!links().some((l) => l.ifname === 'mptest-ex'));

  for (const n of ['x1', 'x2', 'x4']) assert.ok(!host.podDirs().some((d) => d.endsWith(`/${n}`)), `pod ${n} left: ${host.podDirs()}`);
  assert.ok(!links().some((l) => l.linkinfo?.info_kind === 'veth' && l.master === 'mptest-dum'));
});

test('after teardown of all pods: no veth, no minipod rule, no address; network rm removes the rest', { skip: needsRoot }, async () => {
  await rm('a', 'b');
  assert.deepEqual(leases(), []);
  assert.deepEqual(links().filter((l) => l.master === BRIDGE).map((l) => l.ifname), []);
  const table = nftTable();
  assert.ok(table, 'the table stays with the bridge');
  assert.doesNotMatch(table!, /elements/);
  assert.equal((await get(`http://127.0.0.1:${HOSTPORT}/`)), undefined);
  const r = await network(['rm']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(nftTable(), undefined);
  assert.ok(!links().some((l) => l.ifname === BRIDGE));
  assert.ok(!existsSync(path.join(host.root, 'run/net', BRIDGE)));
  assert.deepEqual(host.mounts(), []);
  assert.deepEqual(host.podDirs(), []);
});
