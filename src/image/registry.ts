// The registry client: the OCI distribution API, pull side, on fetch().
//
// Manifests are asked for with every manifest media type in Accept (without it a registry
// converts Docker schema2 to schema1 under another digest); blobs are written as they come,
// hashed and counted, and checked against their digest and size. The pull itself — which
// endpoints, which layers, unpacking — is src/image/pull.ts.
//
// Names as containerd and the kubelet read them: `busybox` is
// docker.io/library/busybox:latest (MINIPOD_DEFAULT_REGISTRY changes docker.io). Auth: a
// 401's WWW-Authenticate says Basic (credentials sent) or Bearer (a token fetched from its
// realm for `repository:PATH:pull`, with credentials when there are some); a 401 later on,
// when a token has expired in the middle of a pull, fetches a new one. Credentials come
// from the auth files (auth.ts) and are never printed. A redirect to another host (blob
// storage) never carries Authorization. Unreachable registries and 5xx answers are retried
// with backoff; a blob download that breaks off resumes with Range, in this pull or the
// next one (the partial file is kept).

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Credentials } from './auth.ts';
import type { Descriptor } from './oci.ts';
import { parseImageRef, type ImageRef } from './ref.ts';
import type { Endpoint } from './registries-conf.ts';
import { imageError } from './unpack.ts';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
export const INDEX_TYPES = new Set([MANIFEST_TYPES[0], MANIFEST_TYPES[2]]);
/** Retries of a request or a broken-off blob download. */
const RETRIES = 3;

export interface RemoteRef {
  /** The registry as references name it (`docker.io`, `127.0.0.1:5000`): the key of mirrors. */
  domain: string;
  /** host[:port] of its own API (`registry-1.docker.io` for docker.io). */
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
  const given = r.domain ?? defaultRegistry();
  const domain = given === 'index.docker.io' ? 'docker.io' : given;
  const repository = domain === 'docker.io' && !r.path.includes('/') ? `library/${r.path}` : r.path;
  const tag = r.tag ?? (r.digest ? undefined : 'latest');
  return {
    domain,
    registry: domain === 'docker.io' ? 'registry-1.docker.io' : domain,
    repository,
    reference: r.digest ?? tag!,
    digest: r.digest,
    canonical: `${domain}/${repository}${tag ? `:${tag}` : ''}${r.digest ? `@${r.digest}` : ''}`,
  };
}

/** WWW-Authenticate: scheme and its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/.exec(header.trim());
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1].toLowerCase()] = p[2];
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

/** One endpoint of one repository (or of none: `login` asks for no scope). */
export class Client {
  private auth: string | undefined;
  readonly base: string;
  /** Tokens fetched: a second one means the first expired. */
  tokens = 0;
  /** Aborts every request of this client (a pull that has failed stops its other downloads). */
  signal?: AbortSignal;

  constructor(
    readonly endpoint: Endpoint,
    private readonly repository: string | undefined,
    private readonly creds: Credentials | undefined,
    private readonly what: string,
  ) {
    this.base = endpoint.base;
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
        res = await fetch(target, { headers, redirect: 'manual', signal: this.signal });
      } catch (e) {
        if (this.signal?.aborted) throw imageError(`${this.what}: stopped`, 'ERR_IMAGE_ABORTED');
        if (attempt < RETRIES) {
          await sleep(200 << attempt++);
          continue;
        }
        throw imageError(`${this.what}: cannot reach ${this.endpoint.host}: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}`, 'ERR_IMAGE_REGISTRY');
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
      // A 401 with a token or credentials sent: the token expired (or was never good);
      // one new one is fetched per request.
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
    if (this.repository) u.searchParams.set('scope', `repository:${this.repository}:pull`);
    const res = await fetch(u, { headers: basic ? { Authorization: basic } : {} }).catch((e: Error) => {
      throw imageError(`${this.what}: cannot reach the token server ${u.host}: ${e.message}`, 'ERR_IMAGE_REGISTRY');
    });
    if (!res.ok) throw this.denied(`its token server ${u.host} answered ${res.status}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw this.denied(`its token server ${u.host} gave no token`);
    this.auth = `Bearer ${token}`;
    this.tokens++;
  }

  denied(why: string): Error {
    const who = this.creds ? `as user "${this.creds.user}"` : 'without credentials';
    return imageError(`${this.what}: ${this.endpoint.host} refused ${this.repository ? 'the pull' : 'the login'} ${who}: ${why}`, 'ERR_IMAGE_AUTH');
  }

  url(kind: 'manifests' | 'blobs', ref: string): string {
    return `${this.base}/v2/${this.repository}/${kind}/${ref}`;
  }
}

export interface Manifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

export async function fetchManifest(c: Client, reference: string, what: string, r: RemoteRef): Promise<Manifest> {
  const res = await c.get(c.url('manifests', reference), MANIFEST_TYPES.join(', '));
  const at = c.endpoint.host;
  if (res.status === 404) throw imageError(`${what}: ${at} has no ${r.repository}:${reference} (manifest unknown)`, 'ERR_IMAGE_NOT_FOUND');
  if (res.status === 401 || res.status === 403) throw c.denied(`it answered ${res.status}`);
  if (!res.ok) throw imageError(`${what}: ${at} answered ${res.status} for the manifest of ${r.repository}:${reference}`, 'ERR_IMAGE_REGISTRY');
  const body = Buffer.from(await res.arrayBuffer());
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (reference.startsWith('sha256:') && digest !== reference) throw imageError(`${what}: the manifest has digest ${digest}, not ${reference}: refused`, 'ERR_IMAGE_DIGEST');
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim() || (JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType || MANIFEST_TYPES[1];
  return { body, mediaType, digest };
}

/**
 * Downloads a blob to `file`, checking digest and size as it comes. The bytes go to
 * `file.part` first; a download that breaks off resumes where it stopped (`Range`; a 200
 * instead of 206 means start over), up to RETRIES times — and a `.part` left by an earlier
 * pull is resumed too. `onBytes` hears the running count. A `sink` gets every byte of the
 * blob once, in order (the part resumed from included), as it arrives — for unpacking while
 * downloading; when the registry makes the download start over, `sink.restart()` is called
 * and the sink gets nothing more. The digest is checked only at the end: a sink must not
 * commit anything before this function has returned.
 */
export interface BlobSink {
  write(chunk: Buffer): Promise<void> | void;
  restart(): void;
}

export async function fetchBlob(c: Client, d: Descriptor, file: string, what: string, onBytes?: (bytes: number, resumedAt?: number) => void, sink?: BlobSink): Promise<{ resumed: number }> {
  if (fs.existsSync(file)) return { resumed: 0 };
  let feeding = sink;
  const tmp = `${file}.part`;
  let h = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of fs.createReadStream(tmp, { highWaterMark: 1 << 20 })) {
      h.update(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (d.size === undefined || size <= d.size) await feeding?.write(chunk as Buffer);
    }
  } catch {
    size = 0; // none
  }
  if (d.size !== undefined && size > d.size) {
    h = createHash('sha256');
    size = 0;
    feeding?.restart();
    feeding = undefined;
  }
  const out = await fsp.open(tmp, size ? 'r+' : 'w', 0o600);
  let resumed = 0;
  try {
    for (let attempt = 0; ; attempt++) {
      const res = await c.get(c.url('blobs', d.digest), undefined, size ? { Range: `bytes=${size}-` } : {});
      if (size && (res.status === 200 || res.status === 416)) {
        if (res.status === 416) await res.body?.cancel();
        await out.truncate(0); // the registry ignored Range: from the start
        h = createHash('sha256');
        size = 0;
        feeding?.restart();
        feeding = undefined;
        if (res.status === 416) continue;
      } else if (size && res.status === 206) {
        resumed++;
        onBytes?.(size, size);
      } else if (!res.ok || !res.body) {
        await res.body?.cancel();
        throw imageError(`${what}: blob ${d.digest}: ${c.endpoint.host} answered ${res.status}`, 'ERR_IMAGE_REGISTRY');
      }
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (d.size !== undefined && size + chunk.length > d.size) throw imageError(`${what}: blob ${d.digest} is longer than its ${d.size} bytes: refused`, 'ERR_IMAGE_DIGEST');
          await out.write(chunk, 0, chunk.length, size);
          h.update(chunk);
          size += chunk.length;
          onBytes?.(size);
          await feeding?.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        }
        break;
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('ERR_IMAGE')) throw e; // refused, not broken off
        if (c.signal?.aborted) throw imageError(`${what}: blob ${d.digest}: stopped`, 'ERR_IMAGE_ABORTED');
        if (attempt >= RETRIES) throw imageError(`${what}: blob ${d.digest}: the download broke off ${attempt + 1} times: ${(e as Error).message}`, 'ERR_IMAGE_REGISTRY');
        await sleep(200 << attempt);
      }
    }
  } catch (e) {
    await out.close();
    // Bytes that are wrong are not kept; a download that broke off is, to be resumed.
    if (['ERR_IMAGE_DIGEST', 'ERR_IMAGE_BAD_ARCHIVE'].includes((e as { code?: string }).code ?? '')) await fsp.rm(tmp, { force: true });
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
