// Pulls and the store, against Debian's docker-registry on loopback: downloads that break
// off or are killed resume; layers the store has are not downloaded again; two pulls of one
// image at once download it once; mirrors (and no fallback to the registry itself unless
// asked); login/logout; a token that expires mid-pull; ls, inspect, tag and prune.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';

import { cliPath, needsRoot, TestHost, waitFor } from './helpers.ts';
import { buildLayout, haveTools, sh, shAsync, startProxy, startRegistry, startTokenRegistry, testUser as user, stopAll, type Registry } from './registry-fixture.ts';

describe('image pull and the store', { skip: needsRoot || (haveTools ? false : 'needs umoci, skopeo and docker-registry (scripts/setup.sh installs them)') }, () => {
  let h: TestHost;
  let work: string;
  let open: Registry;
  let locked: Registry;
  let tokened: Registry;
  let tokens: { server: http.Server; state: { issued: number; life: number } };
  /** Layer digests of test/lay:v1, bottom first; the big one (busybox) is first. */
  let layers: string[];
  let fresh = 0;
  /** A state root of its own: a store with no layers yet. */
  const freshRoot = () => path.join(work, `root-${++fresh}`);
  const blobsOf = (root: string) => path.join(root, 'lib', 'images', 'blobs');

  before(async () => {
    h = new TestHost('image-pull-store');
    work = mkdtempSync(path.join(os.tmpdir(), 'minipod-pull-store-'));
    const layout = buildLayout(work);
    // v3: v1 and one more layer.
    const bundle = path.join(work, 'bundle3');
    sh('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    writeFileSync(path.join(bundle, 'rootfs/etc/v3'), 'three\n');
    sh('umoci', ['repack', '--image', `${layout}:v3`, bundle]);
    open = await startRegistry(path.join(work, 'open'));
    locked = await startRegistry(path.join(work, 'locked'), user);
    ({ registry: tokened, tokens } = await startTokenRegistry(path.join(work, 'tokened'), user));
    for (const tag of ['v1', 'v3']) sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${open.addr}/test/lay:${tag}`]);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${locked.addr}/test/lay:v1`]);
    await shAsync('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${tokened.addr}/test/lay:v1`]);
    const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${open.addr}/test/lay:v1`])) as { layers: { digest: string; size: number }[] };
    layers = manifest.layers.map((l) => l.digest);
    assert.ok(manifest.layers[0].size > 500_000, 'the bottom layer is the big one');
  });
  after(async () => {
    assert.deepEqual(stopAll(h, work, [open, locked, tokened], [tokens?.server]), { mounts: [], dirs: [] });
  });

  test('a blob download that breaks off resumes with Range; the image is whole', async () => {
    let cut = false;
    let ranges = 0;
    const proxy = await startProxy(open.addr, (req, u, res) => {
      if (req.headers.range) ranges++;
      const len = Number(u.headers['content-length'] ?? 0);
      if (cut || req.headers.range || !req.url?.endsWith(layers[0]) || len < 500_000) return false;
      cut = true;
      res.writeHead(u.statusCode ?? 502, u.headers);
      let sent = 0;
      u.on('data', (d: Buffer) => {
        if (sent > len / 2) return;
        sent += d.length;
        res.write(d);
        if (sent > len / 2) res.socket?.destroy();
      });
      return true;
    });
    try {
      const r = await h.cli(['image', 'pull', '--root', freshRoot(), `${proxy.addr}/test/lay:v1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(cut, 'a blob was cut off');
      assert.ok(ranges >= 1, 'the rest was asked for with Range');
      assert.match(r.stderr, /Downloading 1\.\d MB \(resumed at \d/);
    } finally {
      proxy.close();
    }
  });

  test('a pull killed in the middle of a blob leaves its part, and the next pull resumes it', async () => {
    const root = freshRoot();
    let stalled = false;
    const proxy = await startProxy(open.addr, (req, u, res) => {
      if (stalled || req.headers.range || !req.url?.endsWith(layers[0])) return false;
      stalled = true;
      res.writeHead(u.statusCode ?? 502, u.headers);
      const len = Number(u.headers['content-length']);
      let sent = 0;
      u.on('data', (d: Buffer) => {
        if (sent < len / 2) res.write(d); // then nothing more: the pull waits
        sent += d.length;
      });
      return true;
    });
    try {
      const child = spawn(process.execPath, [cliPath, 'image', 'pull', '-q', '--root', root, `${proxy.addr}/test/lay:v1`], { env: h.env, stdio: 'ignore' });
      const part = path.join(blobsOf(root), `${layers[0].slice(7)}.part`);
      await waitFor(() => existsSync(part) && statSync(part).size > 100_000, 'half of the blob on disk');
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
      const r = await h.cli(['image', 'pull', '--root', root, `${proxy.addr}/test/lay:v1`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /resumed at \d/);
      assert.deepEqual(readdirSync(blobsOf(root)), [], 'no blob is kept once its layer is unpacked');
    } finally {
      proxy.close();
    }
  });

  test('a second image on the same base downloads only its new layer, and the store keeps the base once', async () => {
    const root = freshRoot();
    const proxy = await startProxy(open.addr);
    try {
      assert.equal((await h.cli(['image', 'pull', '--root', root, `${proxy.addr}/test/lay:v1`])).code, 0);
      const before = new Map(proxy.blobGets);
      const r = await h.cli(['image', 'pull', '--root', root, `${proxy.addr}/test/lay:v3`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.match(/: Already exists$/gm)?.length, 2, r.stderr);
      assert.equal(r.stderr.match(/: Pull complete$/gm)?.length, 3, r.stderr);
      for (const d of layers) assert.equal(proxy.blobGets.get(`/v2/test/lay/blobs/${d}`), before.get(`/v2/test/lay/blobs/${d}`), `${d} not fetched again`);
      assert.equal(readdirSync(path.join(root, 'lib', 'images', 'layers')).filter((e) => /^[0-9a-f]{64}$/.test(e)).length, 3);
    } finally {
      proxy.close();
    }
  });

  test('two pulls of one image at once: both succeed, each layer is downloaded once', async () => {
    const root = freshRoot();
    const proxy = await startProxy(open.addr);
    try {
      const [a, b] = await Promise.all([0, 1].map(() => h.cli(['image', 'pull', '-q', '--root', root, `${proxy.addr}/test/lay:v1`])));
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      for (const d of layers) assert.equal(proxy.blobGets.get(`/v2/test/lay/blobs/${d}`), 1, `${d} downloaded once`);
      const ls = await h.cli(['image', 'ls', '--root', root, '-o', 'json']);
      assert.equal(JSON.parse(ls.stdout).length, 1);
    } finally {
      proxy.close();
    }
  });

  test('a mirror serves docker.io names; a mirror that is down fails the pull without asking the registry; fallback: true asks it', async () => {
    const conf = path.join(work, 'registries.yaml');
    writeFileSync(conf, `mirrors:\n  docker.io:\n    endpoint:\n      - http://127.0.0.1:3\n      - http://${open.addr}\n  ${open.addr}:\n    endpoint: [127.0.0.1:4]\n`);
    // `test/lay:v1` is docker.io/test/lay:v1: only the mirrors are asked (the first is down).
    const env = { MINIPOD_REGISTRIES_CONF: conf, MINIPOD_DEFAULT_REGISTRY: 'docker.io' };
    const r = await h.cli(['image', 'pull', '--root', freshRoot(), 'test/lay:v1'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^docker\.io\/test\/lay:v1 [0-9a-f]{32}\n$/);
    assert.match(r.stderr, /mirror 127\.0\.0\.1:3 failed: cannot reach 127\.0\.0\.1:3/);
    assert.match(r.stderr, new RegExp(`pulling from ${open.addr.replace(/\./g, '\\.')}`));
    const down = await h.cli(['image', 'pull', '--root', freshRoot(), `${open.addr}/test/lay:v1`], { env });
    assert.equal(down.code, 125, down.stderr);
    assert.match(down.stderr, /cannot reach 127\.0\.0\.1:4.*the registry itself is not asked \(no fallback: true for 127\.0\.0\.1:\d+ in .*registries\.yaml\)/);
    writeFileSync(conf, `mirrors:\n  ${open.addr}:\n    endpoint: [127.0.0.1:4]\n    fallback: true\n`);
    const fallback = await h.cli(['image', 'pull', '--root', freshRoot(), `${open.addr}/test/lay:v1`], { env });
    assert.equal(fallback.code, 0, fallback.stderr);
    writeFileSync(conf, `mirrors:\n  docker.io:\n    endpoints: [x]\n`);
    const bad = await h.cli(['image', 'pull', '--root', freshRoot(), 'test/lay:v1'], { env });
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /registries\.yaml:3:5 mirrors\.docker\.io\.endpoints: unknown field \(endpoint, fallback\)/);
  });

  test('login checks the credentials first and keeps them 0600; pulls use them; logout forgets them', async () => {
    const authFile = path.join(work, 'login', 'auth.json');
    const env = { REGISTRY_AUTH_FILE: authFile };
    for (const reg of [locked, tokened]) {
      const wrong = await h.cli(['login', '-u', user.name, '--password-stdin', reg.addr], { env, input: 'not-it\n' });
      assert.equal(wrong.code, 125, wrong.stderr);
      assert.match(wrong.stderr, /refused the login as user "tester"/);
      assert.doesNotMatch(wrong.stderr + wrong.stdout, /not-it/);
      assert.ok(!existsSync(authFile) || !readFileSync(authFile, 'utf8').includes(reg.addr), 'nothing kept for a failed login');
      const ok = await h.cli(['login', '-u', user.name, '--password-stdin', reg.addr], { env, input: `${user.password}\n` });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /^Login Succeeded/);
      assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(user.password));
      assert.equal(statSync(authFile).mode & 0o777, 0o600);
      const pulled = await h.cli(['image', 'pull', '-q', '--root', freshRoot(), `${reg.addr}/test/lay:v1`], { env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.equal((await h.cli(['logout', reg.addr], { env })).code, 0);
      const after = await h.cli(['image', 'pull', '-q', '--root', freshRoot(), `${reg.addr}/test/lay:v1`], { env });
      assert.equal(after.code, 125);
      assert.match(after.stderr, /without credentials/);
    }
    const again = await h.cli(['logout', locked.addr], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not logged in to 127\.0\.0\.1:\d+/);
    const usage = await h.cli(['login', locked.addr], { env });
    assert.equal(usage.code, 2, usage.stderr);
  });

  test('a token that expires in the middle of a pull is fetched again', async () => {
    const authFile = path.join(work, 'auth-expiry.json');
    tokens.state.life = 2;
    const delayed = new Set<string>();
    // Each blob's first request waits until the token it carries has expired.
    const proxy = await startProxy(tokened.addr, undefined, async (req) => {
      if (!/\/blobs\//.test(req.url ?? '') || delayed.has(req.url!)) return;
      delayed.add(req.url!);
      await sleep(2500);
    });
    writeFileSync(authFile, JSON.stringify({ auths: { [proxy.addr]: { auth: Buffer.from(`${user.name}:${user.password}`).toString('base64') } } }), { mode: 0o600 });
    try {
      const issued = tokens.state.issued;
      // The registry is asked through the proxy; its token realm stays the token server's.
      const r = await h.cli(['image', 'pull', '-q', '--root', freshRoot(), `${proxy.addr}/test/lay:v1`], { env: { REGISTRY_AUTH_FILE: authFile } });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(tokens.state.issued - issued >= 2, `a new token was fetched (${tokens.state.issued - issued} in all)`);
    } finally {
      tokens.state.life = 300;
      proxy.close();
    }
  });

  test('image ls shows REPOSITORY TAG IMAGE ID CREATED SIZE; inspect shows manifest, config and layers; tag and prune', async () => {
    const root = freshRoot();
    const ref = `${open.addr}/test/lay:v1`;
    assert.equal((await h.cli(['image', 'pull', '-q', '--root', root, ref])).code, 0);
    assert.equal((await h.cli(['image', 'tag', '--root', root, ref, 'local/lay:copy'])).code, 0);
    const ls = await h.cli(['image', 'ls', '--root', root]);
    const lines = ls.stdout.trim().split('\n');
    assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.match(lines[1], new RegExp(`^${open.addr.replace(/\./g, '\\.')}/test/lay\\s+v1\\s+[0-9a-f]{12}\\s+\\S.*\\s+\\d+\\.\\d MB$`));
    assert.match(lines.find((l) => l.startsWith('local/lay')) ?? '', /^local\/lay\s+copy\s/);
    const inspect = JSON.parse((await h.cli(['image', 'inspect', '--root', root, ref])).stdout);
    assert.equal(inspect.manifest.layers.length, 2);
    assert.deepEqual(inspect.imageConfig.config.Entrypoint, ['/bin/sh']);
    assert.equal(inspect.layers.length, 2);
    assert.match(inspect.manifestDigest, /^sha256:/);
    assert.deepEqual(inspect.source, { type: 'registry', registry: open.addr, reference: ref });
    const missing = await h.cli(['image', 'inspect', '--root', root, 'nope:1']);
    assert.equal(missing.code, 1);
    // Both names gone: the layers go with them; prune has nothing left to do.
    assert.equal((await h.cli(['image', 'rm', '--root', root, ref, 'local/lay:copy'])).code, 0);
    assert.deepEqual(readdirSync(path.join(root, 'lib', 'images', 'layers')).filter((e) => /^[0-9a-f]{64}$/.test(e)), []);
    const prune = await h.cli(['image', 'prune', '--root', root]);
    assert.equal(prune.code, 0, prune.stderr);
  });
});
