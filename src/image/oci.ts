// Reading an image that comes as an OCI image layout (a directory with `oci-layout`,
// `index.json` and `blobs/`, also the inside of an oci-archive and of a Docker ≥ 25
// `docker save`) or as a classic docker-archive (`manifest.json` naming a config and layer
// tars). Everything is checked before a layer is unpacked: every blob's sha256 and size
// against its descriptor, the config's digest, one diff_id per layer; an index is narrowed
// to this host's platform (attestation entries skipped); media types are known ones.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { imageError } from './unpack.ts';

export type LayerCompression = 'none' | 'gzip' | 'zstd';

export interface LayerBlob {
  /** The blob (or layer tar) on disk. */
  file: string;
  /** sha256:… of the blob as stored (compressed); undefined when the archive does not say. */
  digest?: string;
  size?: number;
  compression: LayerCompression;
  /** sha256:… of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string;
}

/** The parts of an image config (OCI / Docker) minipod applies. */
export interface RunConfig {
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
}

export interface ArchiveImage {
  format: 'oci-layout' | 'docker-archive';
  /** sha256:… of the manifest (OCI layouts), for the record. */
  manifestDigest?: string;
  configDigest?: string;
  config: RunConfig;
  /** Bottom layer first. */
  layers: LayerBlob[];
  /** The manifest and the image config as they came, kept for `image inspect`. */
  raw: { manifest?: unknown; config: unknown };
}

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};

export const LAYER_TYPES: Record<string, LayerCompression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
};

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** What a directory holds: an OCI layout, a docker-archive, or neither. */
export function archiveKind(dir: string): ArchiveImage['format'] | undefined {
  if (fs.existsSync(path.join(dir, 'manifest.json')) && !fs.existsSync(path.join(dir, 'bin'))) return 'docker-archive';
  if (fs.existsSync(path.join(dir, 'oci-layout')) && fs.existsSync(path.join(dir, 'index.json'))) return 'oci-layout';
  return undefined;
}

/** sha256:… of a file. */
export async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw imageError(`${what}: ${path.basename(file)}: ${(e as Error).message}`, 'ERR_IMAGE_BAD_ARCHIVE');
  }
}

/** An OCI content descriptor (also what a registry's index and manifest hold). */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** The blob a descriptor names, with its digest and size checked. */
async function blob(dir: string, d: Descriptor, what: string): Promise<string> {
  if (typeof d?.digest !== 'string' || !DIGEST.test(d.digest)) throw imageError(`${what}: a descriptor has no sha256 digest (${JSON.stringify(d?.digest)})`, 'ERR_IMAGE_BAD_ARCHIVE');
  const file = path.join(dir, 'blobs', 'sha256', d.digest.slice(7));
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw imageError(`${what}: blob ${d.digest} is missing`, 'ERR_IMAGE_BAD_ARCHIVE');
  }
  if (d.size !== undefined && st.size !== d.size) throw imageError(`${what}: blob ${d.digest} has ${st.size} bytes, its descriptor says ${d.size}`, 'ERR_IMAGE_DIGEST');
  const got = await fileDigest(file);
  if (got !== d.digest) throw imageError(`${what}: blob ${d.digest} has digest ${got}: refused, nothing stored`, 'ERR_IMAGE_DIGEST');
  return file;
}

/** This host's platform as OCI names it. */
export function hostPlatform(): { os: string; architecture: string; variant?: string } {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  return { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : {}) };
}

function platformText(p: Descriptor['platform']): string {
  return `${p?.os ?? '?'}/${p?.architecture ?? '?'}${p?.variant ? `/${p.variant}` : ''}`;
}

/** The manifest of an index for this host; attestations are not images. */
/** "linux/arm64/v8" -> a platform; undefined when it is not os/arch[/variant]. */
export function parsePlatform(text: string): { os: string; architecture: string; variant?: string } | undefined {
  const m = /^([a-z0-9]+)\/([a-z0-9_]+)(?:\/([a-z0-9]+))?$/.exec(text);
  return m ? { os: m[1], architecture: m[2], ...(m[3] ? { variant: m[3] } : {}) } : undefined;
}

export function pickPlatform(list: Descriptor[], what: string, want: { os: string; architecture: string; variant?: string } = hostPlatform()): Descriptor {
  const images = list.filter((d) => d.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' && d.platform?.os !== 'unknown');
  const match = images.filter((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture);
  const exact = match.find((d) => !want.variant || !d.platform?.variant || d.platform.variant === want.variant);
  if (exact) return exact;
  throw imageError(`${what}: no image for ${platformText(want)}; the index has ${images.map((d) => platformText(d.platform)).join(', ') || 'none'}`, 'ERR_IMAGE_PLATFORM');
}

function runConfig(cfg: Record<string, unknown>): RunConfig {
  const c = (cfg.config ?? {}) as Record<string, unknown>;
  const strs = (v: unknown) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  const out: RunConfig = {};
  if (strs(c.Env)) out.env = strs(c.Env);
  if (strs(c.Entrypoint)) out.entrypoint = strs(c.Entrypoint);
  if (strs(c.Cmd)) out.cmd = strs(c.Cmd);
  if (typeof c.WorkingDir === 'string' && c.WorkingDir) out.workingDir = c.WorkingDir;
  if (typeof c.User === 'string' && c.User) out.user = c.User;
  if (typeof c.StopSignal === 'string' && c.StopSignal) out.stopSignal = c.StopSignal;
  return out;
}

export function diffIds(cfg: Record<string, unknown>, n: number, what: string): string[] {
  const ids = (cfg.rootfs as { diff_ids?: unknown } | undefined)?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== n || !ids.every((x) => typeof x === 'string' && DIGEST.test(x))) {
    throw imageError(`${what}: the config's rootfs.diff_ids do not list one sha256 per layer (${n} layers)`, 'ERR_IMAGE_BAD_ARCHIVE');
  }
  return ids as string[];
}

/**
 * The image of an OCI layout. With several images in it, `tag` picks the one whose
 * org.opencontainers.image.ref.name is that tag. `present` says which layers the store
 * has already (their blobs may be missing from the layout).
 */
export async function readOciLayout(dir: string, tag: string | undefined, what: string, present?: (diffId: string) => boolean): Promise<ArchiveImage> {
  const index = readJson(path.join(dir, 'index.json'), what) as { manifests?: Descriptor[] };
  let list = index.manifests ?? [];
  if (list.length > 1) {
    const named = list.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (named.length) list = named;
    else if (new Set(list.map((d) => d.annotations?.['org.opencontainers.image.ref.name'])).size > 1) {
      const refs = list.map((d) => d.annotations?.['org.opencontainers.image.ref.name'] ?? d.digest);
      throw imageError(`${what}: the layout holds ${list.length} images (${refs.join(', ')}); name one as the tag to import`, 'ERR_IMAGE_BAD_ARCHIVE');
    }
  }
  if (!list.length) throw imageError(`${what}: the layout's index.json lists no image`, 'ERR_IMAGE_BAD_ARCHIVE');
  let desc = list.length === 1 ? list[0] : pickPlatform(list, what);
  for (let depth = 0; desc.mediaType === MT.ociIndex || desc.mediaType === MT.dockerList; depth++) {
    if (depth > 4) throw imageError(`${what}: indexes nested too deep`, 'ERR_IMAGE_BAD_ARCHIVE');
    const inner = readJson(await blob(dir, desc, what), what) as { manifests?: Descriptor[] };
    desc = pickPlatform(inner.manifests ?? [], what);
  }
  if (desc.mediaType !== undefined && desc.mediaType !== MT.ociManifest && desc.mediaType !== MT.dockerManifest) {
    throw imageError(`${what}: unknown manifest media type ${desc.mediaType}`, 'ERR_IMAGE_BAD_ARCHIVE');
  }
  const manifest = readJson(await blob(dir, desc, what), what) as { config?: Descriptor; layers?: Descriptor[] };
  if (!manifest.config || !Array.isArray(manifest.layers)) throw imageError(`${what}: the manifest has no config or layers`, 'ERR_IMAGE_BAD_ARCHIVE');
  const cfg = readJson(await blob(dir, manifest.config, what), what);
  const ids = diffIds(cfg, manifest.layers.length, what);
  const layers: LayerBlob[] = [];
  for (const [i, l] of manifest.layers.entries()) {
    const compression = LAYER_TYPES[l.mediaType ?? ''];
    if (compression === undefined) throw imageError(`${what}: layer ${i} has media type ${l.mediaType}, which minipod does not unpack`, 'ERR_IMAGE_BAD_ARCHIVE');
    // A layer the store has already (a pull unpacked it) needs no blob in the layout.
    const file = present?.(ids[i]) ? '' : await blob(dir, l, what);
    layers.push({ file, digest: l.digest, size: l.size, compression, diffId: ids[i] });
  }
  return { format: 'oci-layout', manifestDigest: desc.digest, configDigest: manifest.config.digest, config: runConfig(cfg), layers, raw: { manifest, config: cfg } };
}

/** The image of a docker-archive (`docker save`): manifest.json, a config, layer tars. */
export async function readDockerArchive(dir: string, tag: string | undefined, what: string): Promise<ArchiveImage> {
  const list = readJson(path.join(dir, 'manifest.json'), what) as unknown as { Config?: string; RepoTags?: string[]; Layers?: string[] }[];
  if (!Array.isArray(list) || !list.length) throw imageError(`${what}: manifest.json lists no image`, 'ERR_IMAGE_BAD_ARCHIVE');
  const entry = list.length === 1 ? list[0] : list.find((e) => e.RepoTags?.some((t) => t.endsWith(`:${tag}`)));
  if (!entry) throw imageError(`${what}: the archive holds ${list.length} images (${list.flatMap((e) => e.RepoTags ?? []).join(', ')}); name one as the tag to import`, 'ERR_IMAGE_BAD_ARCHIVE');
  const inside = (rel: unknown): string => {
    if (typeof rel !== 'string' || rel.split('/').includes('..') || path.isAbsolute(rel)) throw imageError(`${what}: manifest.json names ${JSON.stringify(rel)}`, 'ERR_IMAGE_BAD_ARCHIVE');
    return path.join(dir, rel);
  };
  const cfgFile = inside(entry.Config);
  // The classic format names the config by its digest (hex.json), the new one by its blob.
  const named = path.basename(cfgFile).replace(/\.json$/, '');
  const configDigest = /^[0-9a-f]{64}$/.test(named) ? `sha256:${named}` : undefined;
  if (configDigest && (await fileDigest(cfgFile)) !== configDigest) throw imageError(`${what}: the config ${entry.Config} does not have its digest`, 'ERR_IMAGE_DIGEST');
  const cfg = readJson(cfgFile, what);
  const layerFiles = (entry.Layers ?? []).map(inside);
  const ids = diffIds(cfg, layerFiles.length, what);
  const layers = layerFiles.map((file, i): LayerBlob => ({ file, compression: sniff(file), diffId: ids[i] }));
  return { format: 'docker-archive', configDigest, config: runConfig(cfg), layers, raw: { manifest: entry, config: cfg } };
}

/** A layer tar's compression from its first bytes. */
export function sniff(file: string): LayerCompression {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  return compressionOf(head);
}

/** A layer's compression from its first bytes (at least 4 of them, or what there is). */
export function compressionOf(head: Buffer): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}
