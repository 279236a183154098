// Pulling from a real registry: Debian's docker-registry (the CNCF distribution registry) on
// loopback inside the test sandbox, without auth and with htpasswd, images pushed to it by
// skopeo from a layout umoci made. Pull by tag and by digest, run what was pulled, and the
// errors a user meets: an unknown tag, no or wrong credentials (never echoing the secret).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { sign as cryptoSign } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

const haveTools = ['umoci', 'skopeo', 'docker-registry'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const shAsync = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A registry on 127.0.0.1; with a user, behind htpasswd (bcrypt); with a token server, behind it. */
async function startRegistry(dir: string, user?: { name: string; password: string }, token?: { realm: string; cert: string }): Promise<{ addr: string; proc: ChildProcess }> {
  const port = await freePort();
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  let auth = '';
  if (token) {
    auth = `auth:\n  token:\n    realm: ${token.realm}\n    service: minipod-test-registry\n    issuer: minipod-test-issuer\n    rootcertbundle: ${token.cert}\n`;
  } else if (user) {
    const hash = sh('python3', ['-W', 'ignore', '-c', `import crypt; print(crypt.crypt(${JSON.stringify(user.password)}, crypt.mksalt(crypt.METHOD_BLOWFISH)))`]).trim();
    writeFileSync(path.join(dir, 'htpasswd'), `${user.name}:${hash}\n`);
    auth = `auth:\n  htpasswd:\n    realm: minipod-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  writeFileSync(path.join(dir, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n${auth}`);
  const proc = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const addr = `127.0.0.1:${port}`;
  await waitFor(async () => {
    const r = await fetch(`http://${addr}/v2/`).catch(() => undefined);
    return r && (r.status === 200 || r.status === 401);
  }, `the registry on ${addr}`);
  return { addr, proc };
}

/**
 * A token server as the distribution spec's: GET /token?service&scope with Basic credentials
 * gives a JWT (RS256, the signing certificate in x5c) granting the scope's actions; anonymous
 * requests get 401. Tokens live `ttl` seconds.
 */
function tokenServer(key: string, certDer: Buffer, user: { name: string; password: string }, ttl: number): http.Server {
  const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  return http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
    if (Buffer.from(basic, 'base64').toString() !== `${user.name}:${user.password}`) {
      res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const [, repo, actions] = (u.searchParams.get('scope') ?? '').split(':');
    const now = Math.floor(Date.now() / 1000);
    const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = b64u(JSON.stringify({ iss: 'minipod-test-issuer', sub: user.name, aud: u.searchParams.get('service'), exp: now + ttl, nbf: now - 10, iat: now, jti: String(Math.random()), access: repo ? [{ type: 'repository', name: repo, actions: (actions ?? 'pull').split(',') }] : [] }));
    const sig = cryptoSign('RSA-SHA256', Buffer.from(`${head}.${claims}`), key).toString('base64url');
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${claims}.${sig}`, expires_in: ttl }));
  });
}

describe('image pull from a registry', { skip: needsRoot || (haveTools ? false : 'needs umoci, skopeo and docker-registry (scripts/setup.sh installs them)') }, () => {
  let h: TestHost;
  let work: string;
  let open: { addr: string; proc: ChildProcess };
  let locked: { addr: string; proc: ChildProcess };
  let tokened: { addr: string; proc: ChildProcess };
  let tokens: http.Server;
  const user = { name: 'tester', password: 'pa55-not-shown' };
  before(async () => {
    h = new TestHost('image-pull');
    work = mkdtempSync(path.join(os.tmpdir(), 'minipod-pull-'));
    const layout = path.join(work, 'layout');
    const bundle = path.join(work, 'bundle');
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:v1`]);
    sh('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    cpSync(busyboxRootfs(), path.join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
    sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
    writeFileSync(path.join(bundle, 'rootfs/etc/motd'), 'pulled from a registry\n');
    sh('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
    sh('umoci', ['config', '--image', `${layout}:v1`, '--config.entrypoint', '/bin/sh', '--config.cmd', '-c', '--config.cmd', 'cat /etc/motd; sleep 1000']);
    open = await startRegistry(path.join(work, 'open'));
    locked = await startRegistry(path.join(work, 'locked'), user);
    // Token auth: a key and certificate of our own, a token server on loopback.
    const keyFile = path.join(work, 'token.key');
    const certFile = path.join(work, 'token.crt');
    sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=minipod-test-token']);
    const der = Buffer.from(sh('openssl', ['x509', '-in', certFile, '-outform', 'PEM']).replace(/-----[^-]+-----|\s+/g, ''), 'base64');
    tokens = tokenServer(readFileSync(keyFile, 'utf8'), der, user, 300);
    await new Promise<void>((r) => tokens.listen(0, '127.0.0.1', r));
    const realm = `http://127.0.0.1:${(tokens.address() as net.AddressInfo).port}/token`;
    tokened = await startRegistry(path.join(work, 'tokened'), undefined, { realm, cert: certFile });
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${open.addr}/test/lay:v1`]);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${open.addr}/test/lay:v2`]);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${locked.addr}/test/lay:v1`]);
    // Not execFileSync: the token server lives in this process and must answer skopeo.
    await shAsync('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${tokened.addr}/test/lay:v1`]);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'pulled', 'autopull']);
    for (const r of [open, locked, tokened]) r?.proc.kill('SIGKILL');
    tokens?.close();
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  test('pull by tag stores the image under its full name, as its layers; a pod runs it', async () => {
    const ref = `${open.addr}/test/lay:v1`;
    const r = await h.cli(['image', 'pull', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${ref.replace(/[.]/g, '\\.')} [0-9a-f]{32}\\n$`));
    assert.match(r.stderr, /downloaded \(2\/2\)/);
    const file = h.manifest('pulled.json', pod('pulled', { containers: [{ name: 'c', image: ref }] }));
    const run = await h.cli(['run', '-d', file]);
    assert.equal(run.code, 0, run.stderr);
    await waitFor(async () => (await h.cli(['logs', 'pulled'])).stdout.includes('pulled from a registry'), 'the pulled image to run');
    assert.equal((await h.cli(['rm', '-f', 'pulled'])).code, 0);
  });

  test('pull by digest is checked against the manifest; an unknown tag names the registry and repository', async () => {
    const digest = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${open.addr}/test/lay:v1`])).Digest as string;
    const r = await h.cli(['image', 'pull', '-q', `${open.addr}/test/lay@${digest}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', '-q: no progress');
    const bad = await h.cli(['image', 'pull', '--platform', 'arm64', `${open.addr}/test/lay:v1`]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /--platform "arm64" is not OS\/ARCH\[\/VARIANT\]/);
    const missing = await h.cli(['image', 'pull', `${open.addr}/test/lay:nope`]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, new RegExp(`${open.addr.replace(/[.]/g, '\\.')} has no test/lay:nope \\(manifest unknown\\)`));
  });

  test('a registry behind htpasswd: refused without or with wrong credentials, the user named and the secret never shown; pulled with them', async () => {
    const ref = `${locked.addr}/test/lay:v1`;
    const none = await h.cli(['image', 'pull', ref]);
    assert.equal(none.code, 125, none.stderr);
    assert.match(none.stderr, new RegExp(`${locked.addr.replace(/[.]/g, '\\.')} refused the pull without credentials`));
    const authFile = path.join(work, 'auth.json');
    const write = (password: string) => writeFileSync(authFile, JSON.stringify({ auths: { [locked.addr]: { auth: Buffer.from(`${user.name}:${password}`).toString('base64') } } }), { mode: 0o600 });
    write('wrong-secret');
    const wrong = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(wrong.code, 125, wrong.stderr);
    assert.match(wrong.stderr, /refused the pull as user "tester"/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong-secret/);
    write(user.password);
    const ok = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(user.password));
  });

  test('run pulls an image that is missing; imagePullPolicy Never and --pull never refuse instead; a short name never leaves loopback', async () => {
    const ref = `${open.addr}/test/lay:v2`;
    const never = h.manifest('never.json', pod('never', { containers: [{ name: 'c', image: ref, imagePullPolicy: 'Never' }] }));
    const n = await h.cli(['run', '-d', never]);
    assert.equal(n.code, 125);
    assert.match(n.stderr, /never\.json:\d+:\d+ spec\.containers\[0\]\.imagePullPolicy: container "c": image ".*lay:v2" is not present and the pull policy is Never/);
    const file = h.manifest('autopull.json', pod('autopull', { containers: [{ name: 'c', image: ref }] }));
    const flag = await h.cli(['run', '-d', '--pull', 'never', file]);
    assert.equal(flag.code, 125, flag.stderr);
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /minipod: pulling .*lay:v2 for container "c"/);
    await waitFor(async () => (await h.cli(['logs', 'autopull'])).stdout.includes('pulled from a registry'), 'the image run -d pulled');
    assert.equal((await h.cli(['rm', '-f', 'autopull'])).code, 0);
    // `nosuch` would be docker.io/library/nosuch: the tests point the default registry at a
    // closed loopback port, and the failure says which registry was asked.
    const short = await h.cli(['run', '-d', h.manifest('short.json', pod('short', { containers: [{ name: 'c', image: 'nosuch' }] }))]);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /image "nosuch" is not here and could not be pulled: .*cannot reach 127\.0\.0\.1:2/);
    assert.deepEqual(h.podDirs().filter((d) => /short|never/.test(d)), [], 'nothing of the refused pods');
  });

  test('a registry behind a token server: Bearer tokens fetched with the credentials; refused without them', async () => {
    const ref = `${tokened.addr}/test/lay:v1`;
    const none = await h.cli(['image', 'pull', ref]);
    assert.equal(none.code, 125, none.stderr);
    assert.match(none.stderr, /refused the pull without credentials: its token server 127\.0\.0\.1:\d+ answered 401/);
    const authFile = path.join(work, 'auth-token.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [tokened.addr]: { auth: Buffer.from(`${user.name}:${user.password}`).toString('base64') } } }), { mode: 0o600 });
    const ok = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(user.password));
  });

  test('a blob download that breaks off resumes with Range; the image is whole', async () => {
    // A proxy in front of the open registry that cuts the first response of the largest
    // blob in the middle of its body.
    const sizes = new Map<string, number>();
    let cut = false;
    let ranges = 0;
    const [host, port] = open.addr.split(':');
    const proxy = http.createServer((req, res) => {
      if (req.headers.range) ranges++;
      const up = http.request({ host, port: Number(port), path: req.url, method: req.method, headers: req.headers }, (u) => {
        res.writeHead(u.statusCode ?? 502, u.headers);
        const len = Number(u.headers['content-length'] ?? 0);
        if (/\/blobs\/sha256:/.test(req.url ?? '') && req.method === 'GET') sizes.set(req.url!, len);
        if (!cut && !req.headers.range && /\/blobs\/sha256:/.test(req.url ?? '') && len > 500_000) {
          cut = true;
          let sent = 0;
          u.on('data', (d: Buffer) => {
            if (sent > len / 2) return;
            sent += d.length;
            res.write(d);
            if (sent > len / 2) res.socket?.destroy();
          });
          return;
        }
        u.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const via = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
      const r = await h.cli(['image', 'pull', `${via}/test/lay:v1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(cut, 'a blob was cut off');
      assert.ok(ranges >= 1, 'the rest was asked for with Range');
      assert.match(r.stderr, /downloaded \(resumed 1×\)/);
    } finally {
      proxy.close();
    }
  });
});

