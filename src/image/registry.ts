// Pulling an image from a registry (the OCI distribution API, pull side), on fetch().
//
// A pull fetches the manifest (every manifest media type in Accept: without it a registry
// converts Docker schema2 to schema1 under another digest), narrows an index to this
// host's platform, and downloads the config and layer blobs — each checked against its
// digest and size as it is written — into a temporary OCI image layout, which is then
// imported like any other (src/image/store.ts: layers verified again against diff_ids,
// unpacked once, shared). A mismatch anywhere stores nothing.
//
// Names as containerd and the kubelet read them: `busybox` is
// docker.io/library/busybox:latest (MINIPOD_DEFAULT_REGISTRY changes docker.io); a
// registry on a loopback address speaks plain HTTP, others HTTPS. Auth: a 401's
// WWW-Authenticate says Basic (credentials sent) or Bearer (a token fetched from its realm
// for `repository:PATH:pull`, with credentials when there are some). Credentials come from
// an auth file of the docker config.json / containers-auth.json form: REGISTRY_AUTH_FILE,
// else /run/containers/0/auth.json, else ~/.docker/config.json; they are never printed.
// A redirect to another host (blob storage) never carries Authorization. Unreachable
// registries and 5xx answers are retried with backoff; a blob download that breaks off
// resumes with Range.

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { parsePlatform, pickPlatform, type Descriptor } from './oci.ts';
import { parseImageRef, type ImageRef } from './ref.ts';
import { imageError } from './unpack.ts';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const INDEX_TYPES = new Set([MANIFEST_TYPES[0], MANIFEST_TYPES[2]]);
/** Retries of a request or a broken-off blob download. */
const RETRIES = 3;

export interface RemoteRef {
  /** host[:port] to talk to. */
  registry: string;
  /** The repository path on it (`library/busybox`). */
  repository: string;
  /** Tag or digest to ask for. */
  reference: string;
  digest?: string;
  /** The name the image is stored under: registry/repository:tag[@digest]. */
  canonical: string;
}

export function defaultRegistry(): string {
  return process.env.MINIPOD_DEFAULT_REGISTRY ?? 'docker.io';
}

/** A reference as a registry reads it: docker.io/library/NAME:latest for a short name. */
export function remoteRef(input: string): RemoteRef {
  const r: ImageRef = parseImageRef(input);
  const domain = r.domain ?? defaultRegistry();
  const repository = (domain === 'docker.io' || domain === 'index.docker.io') && !r.path.includes('/') ? `library/${r.path}` : r.path;
  const tag = r.tag ?? (r.digest ? undefined : 'latest');
  const registry = domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
  const name = `${domain === 'index.docker.io' ? 'docker.io' : domain}/${repository}`;
  return {
    registry,
    repository,
    reference: r.digest ?? tag!,
    digest: r.digest,
    canonical: `${name}${tag ? `:${tag}` : ''}${r.digest ? `@${r.digest}` : ''}`,
  };
}

/** Loopback registries speak plain HTTP, as containerd does for localhost. */
export function schemeFor(registry: string): 'http' | 'https' {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || /^127\./.test(host) || host === '::1' ? 'http' : 'https';
}

interface Credentials {
  user: string;
  password: string;
}

/** Credentials for a registry from the auth files (never logged). */
export function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const files = [env.REGISTRY_AUTH_FILE, '/run/containers/0/auth.json', path.join(os.homedir(), '.docker', 'config.json')].filter(Boolean) as string[];
  const keys = [registry, `https://${registry}`, `http://${registry}`, ...(registry === 'registry-1.docker.io' ? ['docker.io', 'https://index.docker.io/v1/'] : [])];
  for (const f of files) {
    let auths: Record<string, { auth?: string }> | undefined;
    try {
      auths = (JSON.parse(fs.readFileSync(f, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths;
    } catch {
      continue;
    }
    for (const k of keys) {
      const a = auths?.[k]?.auth;
      if (!a) continue;
      const plain = Buffer.from(a, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { user: plain.slice(0, i), password: plain.slice(i + 1) };
    }
  }
  return undefined;
}

/** WWW-Authenticate: scheme and its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1].toLowerCase()] = p[2];
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

class Client {
  private auth: string | undefined;
  private readonly base: string;

  constructor(
    private readonly ref: RemoteRef,
    private readonly creds: Credentials | undefined,
    private readonly what: string,
  ) {
    this.base = `${schemeFor(ref.registry)}://${ref.registry}`;
  }

  /**
   * GET with auth (answering one challenge), redirects followed by hand, and retries with
   * backoff (0.2, 0.4, 0.8 s) when the registry cannot be reached or answers 5xx.
   */
  async get(url: string, accept?: string, extra: Record<string, string> = {}, retried = false): Promise<Response> {
    let target = url;
    for (let hops = 0, attempt = 0; hops < 5; ) {
      const sameHost = new URL(target).host === new URL(this.base).host;
      const headers: Record<string, string> = { ...extra };
      if (accept) headers.Accept = accept;
      if (this.auth && sameHost) headers.Authorization = this.auth;
      let res: Response;
      try {
        res = await fetch(target, { headers, redirect: 'manual' });
      } catch (e) {
        if (attempt < RETRIES) {
          await sleep(200 << attempt++);
          continue;
        }
        throw imageError(`${this.what}: cannot reach ${this.ref.registry}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, 'ERR_IMAGE_REGISTRY');
      }
      if (res.status >= 500 && attempt < RETRIES) {
        await res.body?.cancel();
        await sleep(200 << attempt++);
        continue;
      }
      if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
        target = new URL(res.headers.get('location')!, target).toString();
        await res.body?.cancel();
        hops++;
        continue;
      }
      if (res.status === 401 && !retried && sameHost) {
        await res.body?.cancel();
        await this.authenticate(res.headers.get('www-authenticate') ?? '');
        return this.get(url, accept, extra, true);
      }
      return res;
    }
    throw imageError(`${this.what}: too many redirects from ${url}`, 'ERR_IMAGE_REGISTRY');
  }

  private async authenticate(challenge: string): Promise<void> {
    const { scheme, params } = parseChallenge(challenge);
    const basic = this.creds ? `Basic ${Buffer.from(`${this.creds.user}:${this.creds.password}`).toString('base64')}` : undefined;
    if (scheme === 'basic') {
      if (!basic) throw this.denied('it asks for a user name and password and none are configured for it');
      this.auth = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw this.denied(`it asks for ${scheme || 'an unknown'} authentication`);
    const u = new URL(params.realm);
    if (params.service) u.searchParams.set('service', params.service);
    u.searchParams.set('scope', `repository:${this.ref.repository}:pull`);
    const res = await fetch(u, { headers: basic ? { Authorization: basic } : {} }).catch((e: Error) => {
      throw imageError(`${this.what}: cannot reach the token server ${u.host}: ${e.message}`, 'ERR_IMAGE_REGISTRY');
    });
    if (!res.ok) throw this.denied(`its token server ${u.host} answered ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.denied(`its token server ${u.host} gave no token`);
    this.auth = `Bearer ${token}`;
  }

  denied(why: string): Error {
    const who = this.creds ? `as user "${this.creds.user}"` : 'without credentials';
    return imageError(`${this.what}: ${this.ref.registry} refused the pull ${who}: ${why}`, 'ERR_IMAGE_AUTH');
  }

  url(kind: 'manifests' | 'blobs', ref: string): string {
    return `${this.base}/v2/${this.ref.repository}/${kind}/${ref}`;
  }
}

async function fetchManifest(c: Client, reference: string, what: string, r: RemoteRef): Promise<{ body: Buffer; mediaType: string; digest: string }> {
  const res = await c.get(c.url('manifests', reference), MANIFEST_TYPES.join(', '));
  if (res.status === 404) throw imageError(`${what}: ${r.registry} has no ${r.repository}:${reference} (manifest unknown)`, 'ERR_IMAGE_NOT_FOUND');
  if (res.status === 401 || res.status === 403) throw c.denied(`it answered ${res.status}`);
  if (!res.ok) throw imageError(`${what}: ${r.registry} answered ${res.status} for the manifest of ${r.repository}:${reference}`, 'ERR_IMAGE_REGISTRY');
  const body = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (reference.startsWith('sha256:') && digest !== reference) throw imageError(`${what}: the manifest has digest ${digest}, not ${reference}: refused`, 'ERR_IMAGE_DIGEST');
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim() || (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType || MANIFEST_TYPES[1];
  return { body, mediaType, digest };
}

/**
 * Writes a blob into the layout, checking digest and size as it comes. A download that
 * breaks off resumes where it stopped (`Range`; a 200 instead of 206 means start over),
 * up to RETRIES times.
 */
async function fetchBlob(c: Client, layout: string, d: Descriptor, what: string): Promise<{ resumed: number }> {
  const file = path.join(layout, 'blobs', 'sha256', d.digest.slice(7));
  if (fs.existsSync(file)) return { resumed: 0 };
  const tmp = `${file}.part`;
  const out = await fsp.open(tmp, 'w', 0o600);
  let h = createHash('sha256');
  let size = 0;
  let resumed = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await c.get(c.url('blobs', d.digest), undefined, size ? { Range: `bytes=${size}-` } : {});
      if (size && res.status === 200) {
        await out.truncate(0); // the registry ignored Range: from the start
        h = createHash('sha256');
        size = 0;
      } else if (size && res.status === 206) {
        resumed++;
      } else if (!res.ok || !res.body) {
        throw imageError(`${what}: blob ${d.digest}: the registry answered ${res.status}`, 'ERR_IMAGE_REGISTRY');
      }
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (d.size !== undefined && size + chunk.length > d.size) throw imageError(`${what}: blob ${d.digest} is longer than its ${d.size} bytes: refused`, 'ERR_IMAGE_DIGEST');
          await out.write(chunk, 0, chunk.length, size);
          h.update(chunk);
          size += chunk.length;
        }
        break;
      } catch (e) {
        if ((e as { code?: string }).code === 'ERR_IMAGE_DIGEST' || attempt >= RETRIES) {
          if ((e as { code?: string }).code === 'ERR_IMAGE_DIGEST') throw e;
          throw imageError(`${what}: blob ${d.digest}: the download broke off ${attempt + 1} times: ${(e as Error).message}`, 'ERR_IMAGE_REGISTRY');
        }
        await sleep(200 << attempt);
      }
    }
  } catch (e) {
    await out.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await out.close();
  const got = `sha256:${h.digest('hex')}`;
  if (got !== d.digest || (d.size !== undefined && size !== d.size)) {
    await fsp.rm(tmp, { force: true });
    throw imageError(`${what}: blob ${d.digest} came with digest ${got} (${size} bytes): refused, nothing stored`, 'ERR_IMAGE_DIGEST');
  }
  await fsp.rename(tmp, file);
  return { resumed };
}

export interface PullProgress {
  (line: string): void;
}

/**
 * Fetches `ref` into a new OCI image layout under `workDir` and returns its directory (the
 * caller imports it and removes it). Layers are downloaded three at a time.
 */
export async function pullToLayout(ref: string, workDir: string, onProgress?: PullProgress, platform?: string): Promise<{ layout: string; remote: RemoteRef }> {
  const r = remoteRef(ref);
  const what = `image pull ${r.canonical}`;
  const want = platform === undefined ? undefined : parsePlatform(platform);
  if (platform !== undefined && !want) throw imageError(`${what}: --platform ${JSON.stringify(platform)} is not OS/ARCH[/VARIANT] (linux/arm64/v8)`, 'ERR_IMAGE_PLATFORM');
  const c = new Client(r, credentialsFor(r.registry), what);
  const layout = path.join(workDir, `.tmp-${process.pid}-pull-${randomBytes(6).toString('hex')}`);
  await fsp.mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true, mode: 0o700 });
  try {
    let m = await fetchManifest(c, r.reference, what, r);
    const put = async (x: { body: Buffer; digest: string }) => fsp.writeFile(path.join(layout, 'blobs', 'sha256', x.digest.slice(7)), x.body);
    if (INDEX_TYPES.has(m.mediaType)) {
      await put(m);
      const chosen = pickPlatform((JSON.parse(m.body.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [], what, want);
      m = await fetchManifest(c, chosen.digest, what, r);
    }
    await put(m);
    const manifest = JSON.parse(m.body.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
    if (!manifest.config || !Array.isArray(manifest.layers)) throw imageError(`${what}: the manifest has no config or layers (schema 1 is not supported)`, 'ERR_IMAGE_BAD_ARCHIVE');
    await fetchBlob(c, layout, manifest.config, what);
    const queue = [...manifest.layers];
    let done = 0;
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const { resumed } = await fetchBlob(c, layout, d, what);
        onProgress?.(`${d.digest.slice(7, 19)}: downloaded${resumed ? ` (resumed ${resumed}×)` : ''} (${++done}/${manifest.layers!.length})`);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: m.mediaType, digest: m.digest, size: m.body.length }] }) + '\n');
    return { layout, remote: r };
  } catch (e) {
    await fsp.rm(layout, { recursive: true, force: true });
    throw e;
  }
}
