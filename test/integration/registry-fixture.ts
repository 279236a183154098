// What the registry tests share: Debian's docker-registry (the CNCF distribution registry)
// on a loopback port of the test sandbox, open, behind htpasswd, or behind a token server
// of our own; a two-layer busybox image made by umoci and pushed by skopeo; a proxy that
// can delay, cut off or count what passes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { sign as cryptoSign } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import { busyboxRootfs, waitFor } from './helpers.ts';

export const haveTools = ['umoci', 'skopeo', 'docker-registry'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

export const testUser = { name: 'tester', password: 'pa55-not-shown' };

export const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
export const shAsync = (cmd: string, args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface Registry {
  addr: string;
  proc: ChildProcess;
}

/** A registry on 127.0.0.1; with a user, behind htpasswd (bcrypt); with a token server, behind it. */
export async function startRegistry(dir: string, user?: { name: string; password: string }, token?: { realm: string; cert: string }): Promise<Registry> {
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
 * requests get 401. A token is good for `life()` seconds (the registry allows 60 s of clock
 * skew past `exp`, which is set accordingly). `issued` counts tokens given out.
 */
export function tokenServer(key: string, certDer: Buffer, user: { name: string; password: string }) {
  const b64u = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  const state = { issued: 0, life: 300 };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const basic = (req.headers.authorization ?? '').replace(/^Basic /, '');
    if (Buffer.from(basic, 'base64').toString() !== `${user.name}:${user.password}`) {
      res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const [, repo, actions] = (u.searchParams.get('scope') ?? '').split(':');
    const now = Math.floor(Date.now() / 1000);
    const exp = state.life >= 300 ? now + state.life : now - 60 + state.life;
    const head = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const claims = b64u(JSON.stringify({ iss: 'minipod-test-issuer', sub: user.name, aud: u.searchParams.get('service'), exp, nbf: now - 10, iat: now, jti: String(Math.random()), access: repo ? [{ type: 'repository', name: repo, actions: (actions ?? 'pull').split(',') }] : [] }));
    const sig = cryptoSign('RSA-SHA256', Buffer.from(`${head}.${claims}`), key).toString('base64url');
    state.issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${claims}.${sig}`, expires_in: state.life }));
  });
  return { server, state };
}

/** A registry behind a token server (key and certificate made here with openssl). */
export async function startTokenRegistry(dir: string, user: { name: string; password: string }) {
  mkdirSync(dir, { recursive: true });
  const keyFile = path.join(dir, 'token.key');
  const certFile = path.join(dir, 'token.crt');
  sh('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=minipod-test-token']);
  const der = Buffer.from(sh('openssl', ['x509', '-in', certFile, '-outform', 'PEM']).replace(/-----[^-]+-----|\s+/g, ''), 'base64');
  const tokens = tokenServer(readFileSync(keyFile, 'utf8'), der, user);
  await new Promise<void>((r) => tokens.server.listen(0, '127.0.0.1', r));
  const realm = `http://127.0.0.1:${(tokens.server.address() as net.AddressInfo).port}/token`;
  const registry = await startRegistry(path.join(dir, 'registry'), undefined, { realm, cert: certFile });
  return { registry, tokens };
}

/** An OCI layout with `v1`: busybox and a layer with /etc/motd, entrypoint sh -c. */
export function buildLayout(work: string): string {
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
  return layout;
}

export interface Proxy {
  addr: string;
  /** Blob GETs seen, by path. */
  blobGets: Map<string, number>;
  close(): void;
}

/**
 * An HTTP proxy in front of `upstream` (host:port). `hook` may take over a response: it
 * gets the request and the upstream response and returns true when it wrote the answer.
 */
export async function startProxy(
  upstream: string,
  hook?: (req: http.IncomingMessage, up: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>,
  /** Runs before the request is passed on (to delay it). */
  first?: (req: http.IncomingMessage) => Promise<void>,
): Promise<Proxy> {
  const [host, port] = upstream.split(':');
  const blobGets = new Map<string, number>();
  const server = http.createServer(async (req, res) => {
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) blobGets.set(req.url!, (blobGets.get(req.url!) ?? 0) + 1);
    if (first) await first(req);
    const up = http.request({ host, port: Number(port), path: req.url, method: req.method, headers: req.headers }, async (u) => {
      if (hook && (await hook(req, u, res))) return;
      res.writeHead(u.statusCode ?? 502, u.headers);
      u.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { addr: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, blobGets, close: () => server.close() };
}

/** Stops the registries and servers, removes the work directory; returns what minipod left. */
export function stopAll(h: { mounts(): string[]; podDirs(): string[]; cleanup(): void }, work: string, registries: (Registry | undefined)[], servers: (http.Server | undefined)[] = []) {
  for (const r of registries) r?.proc.kill('SIGKILL');
  for (const s of servers) s?.close();
  const left = { mounts: h.mounts(), dirs: h.podDirs() };
  h.cleanup();
  rmSync(work, { recursive: true, force: true });
  return left;
}
