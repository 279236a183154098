// The local image store.
//
//   <lib>/images/                      mode 0700: image trees hold setuid binaries
//     index.json                       {"version":1,"images":{"busybox:latest":"<id>"}}
//     <id>/rootfs/                     a flat image's tree, the overlay's lower layer
//     <id>/image.json                  a layered image's manifest and config, as they came
//     <id>/config.json                 {name, tag, created, size, entries, env, cmd?, ..., source,
//                                       layers? (diff_ids, bottom first), users?, digest?}
//     layers/<diff_id hex>/            a layered image's layer, shared by every image that has it
//                                      (layers.ts); removed once no image's config names it
//     .lock                            pid of the process changing index.json
//     .tmp-<pid>-*/  .trash-<pid>-*/   an import being unpacked / a tree being deleted
//
// An import unpacks into a fresh `.tmp-` directory without any lock (imports run in
// parallel), then, holding the lock, renames it to `<id>` and rewrites index.json (temp file +
// fsync + rename: readers never see a half-written index and take no lock). The tree an index
// entry stops pointing at is renamed to `.trash-` under the lock and deleted after it. A
// crashed import leaves only `.tmp-<pid>-*`, which later imports delete once that pid is dead.
// Several names may point at one id (tagImage); a tree is deleted when no name points at it and
// the caller's `inUse` callback does not claim it (a running pod's overlay still reads it); a
// tree kept that way is "dangling" until pruneImages.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { NativeBinding } from '../native/binding.ts';
import { loadNative } from '../native/load.ts';
import { rootOnlyDir } from '../state/files.ts';
import { imagesDir, type StateRoots } from '../state/paths.ts';
import { lookupCandidates, parseImageRef } from './ref.ts';
import { blobsDir, layerPath, layersDir, layerSize, lookupInLayers, pinDigests, pinnedDigests, unpackLayer } from './layers.ts';
import { alive, lockHeld, withFileLock } from './lock.ts';
import { archiveKind, readDockerArchive, readOciLayout, type ArchiveImage, type RunConfig } from './oci.ts';
import { imageError, unpack, wrapSystemError, type UnpackResult } from './unpack.ts';
import { parseGroup, parsePasswd, readImageFile, readImageUsers, type ImageUsers } from './users.ts';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageConfig {
  env: string[];
  cmd?: string[];
  entrypoint?: string[];
  workingDir?: string;
  user?: string;
  /** The signal that stops the container when lifecycle.stopSignal is unset (OCI StopSignal). */
  stopSignal?: string;
}

export interface ImageRecord {
  id: string;
  /** Canonical name (see ref.ts) this record was found under. */
  name: string;
  /** Absolute path of the root filesystem tree (a layered image: its top layer). */
  rootfs: string;
  /** A layered image (OCI layout, docker-archive): its layer directories, bottom first. */
  layers?: string[];
  /** A layered image's /etc/passwd and /etc/group, read across its layers at import. */
  users?: ImageUsers;
  /** The manifest's digest, for an image that came with one. */
  manifestDigest?: string;
  /** The image config's digest (what docker shows as IMAGE ID). */
  configDigest?: string;
  /** What it was imported or pulled from. */
  source?: ConfigFile['source'];
  config: ImageConfig;
  /** Bytes of regular-file content. */
  size: number;
  /** ISO 8601 time of the import. */
  created: string;
}

/** Who still uses an image's tree: a description ("pod web") or true, else falsy. */
export type InUse = (record: ImageRecord) => string | boolean | null | undefined | Promise<string | boolean | null | undefined>;

export interface ImportOptions {
  /** Overrides what the image's own config says (flags of `image import`). */
  config?: Partial<ImageConfig>;
  /** For whiteouts of layered images; loaded when not given. */
  native?: NativeBinding;
  /** Asked before the tree a re-import replaces is deleted; a used tree is kept (dangling). */
  inUse?: InUse;
  /** A pull's layout: layers the store has already need no blob in it (pull.ts). */
  layersUnpacked?: boolean;
  /** Where a pulled image came from, recorded instead of its temporary layout. */
  pulledFrom?: { registry: string; reference: string };
}

interface ConfigFile extends ImageConfig {
  name: string;
  tag?: string;
  digest?: string;
  created: string;
  size: number;
  entries: number;
  source: UnpackResult['source'] | { type: ArchiveImage['format']; path: string } | { type: 'registry'; registry: string; reference: string };
  layers?: string[];
  users?: ImageUsers;
  manifestDigest?: string;
  configDigest?: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, string>;
}

const ID = /^[0-9a-f]{32}$/;
const LEFTOVER = /^\.(tmp|trash)-(\d+)-/;

export function imageRootfs(record: ImageRecord): string {
  return record.rootfs;
}

/** Import a rootfs directory or tarball under `ref`, replacing what that name pointed to. */
export async function importImage(roots: StateRoots, ref: string, source: string, opts: ImportOptions = {}): Promise<ImageRecord> {
  const r = parseImageRef(ref);
  const what = `image import ${r.canonical}`;
  const dir = imagesDir(roots);
  try {
    ensureStoreDir(dir);
  } catch (err) {
    throw wrapSystemError(what, err);
  }
  const staging = path.join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  let committed = false;
  let unpin = () => {};
  try {
    await fsp.mkdir(path.join(staging, 'rootfs'), { recursive: true, mode: 0o755 });
    const tag = r.tag ?? (r.digest === undefined ? 'latest' : undefined);
    const base = { name: r.name, ...(tag !== undefined && { tag }), ...(r.digest !== undefined && { digest: r.digest }), created: new Date().toISOString() };
    let config: ConfigFile;
    // An OCI layout or a docker-archive, as a directory or inside a tarball; else a rootfs.
    let archive = isDirectory(source) ? archiveKind(source) && source : undefined;
    let result: UnpackResult | undefined;
    if (!archive) {
      result = await unpack(source, path.join(staging, 'rootfs'), what);
      if (archiveKind(path.join(staging, 'rootfs'))) archive = path.join(staging, 'rootfs');
    }
    if (archive) {
      const img = await importLayers(opts.native ?? loadNative(), dir, archive, tag, what, opts.layersUnpacked);
      unpin = img.unpin;
      // As they came, for `image inspect` (planning never reads them).
      await fsp.writeFile(path.join(staging, 'image.json'), JSON.stringify({ manifest: img.raw.manifest, config: img.raw.config }, null, 2) + '\n');
      await fsp.rm(path.join(staging, 'rootfs'), { recursive: true, force: true });
      config = {
        ...base,
        size: img.size,
        entries: img.entries,
        env: withPath(opts.config?.env ?? img.config.env),
        ...pick({ ...img.config, ...opts.config }),
        source: opts.pulledFrom ? { type: 'registry', ...opts.pulledFrom } : { type: img.format, path: path.resolve(source) },
        layers: img.layers,
        users: img.users,
        ...(img.manifestDigest && { manifestDigest: img.manifestDigest }),
        ...(img.configDigest && { configDigest: img.configDigest }),
      };
    } else {
      // Read once here, so that planning a pod never reads the image's files again.
      const users = readImageUsers(path.join(staging, 'rootfs'));
      config = { ...base, size: result!.size, entries: result!.entries, env: withPath(opts.config?.env), ...pick(opts.config), source: result!.source, users };
    }
    await fsp.writeFile(path.join(staging, 'config.json'), JSON.stringify(config, null, 2) + '\n');
    const id = randomBytes(16).toString('hex');
    const trash = await withImagesLock(roots, async () => {
      const index = readIndex(dir);
      const old = index.images[r.canonical];
      await fsp.rename(staging, path.join(dir, id));
      committed = true;
      index.images[r.canonical] = id;
      writeIndex(dir, index);
      const doomed = old !== undefined ? await unreferenced(dir, index, old, r.canonical, opts.inUse) : [];
      return [...doomed, ...sweepLeftovers(dir), ...(doomed.length ? sweepLayers(dir) : [])];
    });
    await removeAll(dir, trash);
    return toRecord(dir, r.canonical, id, config);
  } catch (err) {
    if (!committed) await removeTree(staging);
    throw wrapSystemError(what, err);
  } finally {
    unpin();
  }
}

/** The manifest and image config a layered image came with (`image inspect`). */
export function imageOrigin(roots: StateRoots, rec: ImageRecord): { manifest?: unknown; config?: unknown } {
  try {
    return JSON.parse(fs.readFileSync(path.join(imagesDir(roots), rec.id, 'image.json'), 'utf8')) as { manifest?: unknown; config?: unknown };
  } catch {
    return {};
  }
}

/** All named images, sorted by name. */
export function listImages(roots: StateRoots): ImageRecord[] {
  const dir = imagesDir(roots);
  const index = readIndex(dir);
  const out: ImageRecord[] = [];
  for (const name of Object.keys(index.images).sort()) {
    const rec = readRecord(dir, name, index.images[name]);
    if (rec) out.push(rec);
  }
  return out;
}

/**
 * The image a reference names, by the lookup rule of ref.ts (exact canonical name first, then
 * the bare / localhost/ / docker.io/ spellings of a familiar name). Throws ImageRefError for an
 * invalid reference. Synchronous and lock-free: index.json is only ever replaced by rename.
 */
export function resolveImage(roots: StateRoots, ref: string): ImageRecord | undefined {
  const candidates = lookupCandidates(ref);
  const dir = imagesDir(roots);
  const index = readIndex(dir);
  for (const name of candidates) {
    const id = index.images[name];
    const rec = id === undefined ? undefined : readRecord(dir, name, id);
    if (rec) return rec;
  }
  return undefined;
}

/**
 * Remove a name. Its tree is deleted when no other name points at it; if `inUse` then claims
 * the image, nothing changes and the call fails with ERR_IMAGE_IN_USE.
 */
export async function removeImage(roots: StateRoots, ref: string, opts: { inUse?: InUse } = {}): Promise<ImageRecord> {
  const what = `image remove ${ref}`;
  const dir = imagesDir(roots);
  const { rec, trash } = await withImagesLock(roots, async () => {
    const rec = resolveImage(roots, ref);
    if (!rec) throw imageError(`${what}: no such image`, 'ERR_IMAGE_NOT_FOUND');
    const index = readIndex(dir);
    delete index.images[rec.name];
    const shared = Object.values(index.images).includes(rec.id);
    if (!shared && opts.inUse) {
      const user = await opts.inUse(rec);
      if (user) throw imageError(`image remove ${rec.name}: in use${typeof user === 'string' ? ` by ${user}` : ''}`, 'ERR_IMAGE_IN_USE');
    }
    writeIndex(dir, index);
    return { rec, trash: shared ? [] : [moveToTrash(dir, rec.id), ...sweepLayers(dir)] };
  });
  await removeAll(dir, trash);
  return rec;
}

/** Give the image `source` names another name too (replacing what `ref` pointed at). */
export async function tagImage(roots: StateRoots, source: string, ref: string, opts: { inUse?: InUse } = {}): Promise<ImageRecord> {
  const canonical = parseImageRef(ref).canonical;
  const dir = imagesDir(roots);
  const { rec, trash } = await withImagesLock(roots, async () => {
    const src = resolveImage(roots, source);
    if (!src) throw imageError(`image tag ${source}: no such image`, 'ERR_IMAGE_NOT_FOUND');
    const index = readIndex(dir);
    const old = index.images[canonical];
    index.images[canonical] = src.id;
    writeIndex(dir, index);
    const trash = old !== undefined && old !== src.id ? await unreferenced(dir, index, old, canonical, opts.inUse) : [];
    return { rec: { ...src, name: canonical }, trash };
  });
  await removeAll(dir, trash);
  return rec;
}

/** Delete dangling trees (no name points at them) that `inUse` does not claim. Returns their ids. */
export async function pruneImages(roots: StateRoots, opts: { inUse?: InUse } = {}): Promise<string[]> {
  const dir = imagesDir(roots);
  const { ids, trash } = await withImagesLock(roots, async () => {
    const named = new Set(Object.values(readIndex(dir).images));
    const ids: string[] = [];
    const trash = sweepLeftovers(dir);
    for (const e of listDir(dir)) {
      if (!ID.test(e) || named.has(e)) continue;
      const rec = readRecord(dir, '', e);
      if (rec && opts.inUse && (await opts.inUse(rec))) continue;
      ids.push(e);
      trash.push(moveToTrash(dir, e));
    }
    trash.push(...sweepLayers(dir));
    return { ids, trash };
  });
  await removeAll(dir, trash);
  return ids;
}

/** Run `fn` holding the store's lock, `images/.lock` (lock.ts). Not re-entrant. */
export async function withImagesLock<T>(roots: StateRoots, fn: () => Promise<T> | T, timeoutMs = 120_000): Promise<T> {
  const dir = imagesDir(roots);
  ensureStoreDir(dir);
  return withFileLock(path.join(dir, '.lock'), fn, timeoutMs, `the image store ${dir}`);
}

/** The store is 0700 (image trees hold setuid binaries); its parents get the default mode. */
export function ensureStoreDir(dir: string): void {
  rootOnlyDir(path.dirname(dir)); // the state root: root only, like everything under it
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function readIndex(dir: string): IndexFile {
  const file = path.join(dir, 'index.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
    throw wrapSystemError('image store: reading the index', err);
  }
  try {
    const idx = JSON.parse(text) as IndexFile;
    if (idx?.version !== 1 || typeof idx.images !== 'object' || idx.images === null) throw new Error('unexpected content');
    return idx;
  } catch (err) {
    throw imageError(`image store: ${file} is corrupt: ${(err as Error).message}`, 'ERR_IMAGE_STORE_CORRUPT');
  }
}

function writeIndex(dir: string, index: IndexFile): void {
  const file = path.join(dir, 'index.json');
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const sorted: IndexFile = { version: 1, images: Object.fromEntries(Object.entries(index.images).sort(([a], [b]) => (a < b ? -1 : 1))) };
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(sorted, null, 2) + '\n');
    fs.fsyncSync(fd); // so a crash right after the rename cannot leave an empty index
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function readRecord(dir: string, name: string, id: string): ImageRecord | undefined {
  if (!ID.test(id)) return undefined;
  let config: ConfigFile;
  try {
    config = JSON.parse(fs.readFileSync(path.join(dir, id, 'config.json'), 'utf8')) as ConfigFile;
  } catch {
    return undefined; // removed meanwhile, or an interrupted import
  }
  const own = config.name + (config.tag ? `:${config.tag}` : '') + (config.digest ? `@${config.digest}` : '');
  return toRecord(dir, name || own, id, config);
}

function toRecord(dir: string, name: string, id: string, c: ConfigFile): ImageRecord {
  const layers = c.layers?.map((d) => layerPath(dir, d));
  return {
    id,
    name,
    rootfs: layers?.length ? layers[layers.length - 1] : path.join(dir, id, 'rootfs'),
    ...(layers && { layers }),
    ...(c.users && { users: c.users }),
    ...(c.manifestDigest && { manifestDigest: c.manifestDigest }),
    ...(c.configDigest && { configDigest: c.configDigest }),
    ...(c.source && { source: c.source }),
    config: { env: c.env ?? [], ...pick(c) },
    size: c.size,
    created: c.created,
  };
}

/** The given environment, with the default PATH first unless it sets PATH itself. */
function withPath(env: string[] | undefined): string[] {
  const e = [...(env ?? [])];
  return e.some((v) => v.startsWith('PATH=')) ? e : [`PATH=${DEFAULT_PATH}`, ...e];
}

function pick(c: Partial<ImageConfig> | undefined): Omit<ImageConfig, 'env'> {
  const out: Omit<ImageConfig, 'env'> = {};
  if (c?.cmd) out.cmd = [...c.cmd];
  if (c?.entrypoint) out.entrypoint = [...c.entrypoint];
  if (c?.workingDir) out.workingDir = c.workingDir;
  if (c?.user) out.user = c.user;
  if (c?.stopSignal) out.stopSignal = c.stopSignal;
  return out;
}

/** Trees to delete once `name` no longer points at `id` (none if shared or in use). */
async function unreferenced(dir: string, index: IndexFile, id: string, name: string, inUse?: InUse): Promise<string[]> {
  if (Object.values(index.images).includes(id)) return [];
  const rec = readRecord(dir, name, id);
  if (rec && inUse && (await inUse(rec))) return [];
  return [moveToTrash(dir, id)];
}

/**
 * Layers no image's config names any more (and layer unpacks of dead processes), moved to
 * trash; the caller holds the lock and deletes what this returns.
 */
function sweepLayers(dir: string): string[] {
  const used = new Set<string>();
  for (const e of listDir(dir)) {
    if (!ID.test(e)) continue;
    try {
      const c = JSON.parse(fs.readFileSync(path.join(dir, e, 'config.json'), 'utf8')) as ConfigFile;
      for (const l of c.layers ?? []) used.add(l.replace(/^sha256:/, ''));
    } catch {
      // no config (a flat image being written): it names no layer
    }
  }
  for (const d of pinnedDigests(dir)) used.add(d); // an import or pull about to commit
  const out: string[] = [];
  const ldir = layersDir(dir);
  for (const e of listDir(ldir)) {
    const m = LEFTOVER.exec(e);
    const stale = m && Number(m[2]) !== process.pid && !alive(Number(m[2]));
    if (/^\.lock-/.test(e) && !lockHeld(path.join(ldir, e))) fs.rmSync(path.join(ldir, e), { force: true });
    // A size record goes with its layer.
    const sized = /^([0-9a-f]{64})\.size$/.exec(e);
    if (sized && (!used.has(sized[1]) || !fs.existsSync(path.join(ldir, sized[1])))) fs.rmSync(path.join(ldir, e), { force: true });
    if (!stale && (!/^[0-9a-f]{64}$/.test(e) || used.has(e))) continue;
    const trash = path.join(dir, `.trash-${process.pid}-layer-${randomBytes(4).toString('hex')}`);
    fs.renameSync(path.join(ldir, e), trash);
    out.push(trash);
  }
  // Downloaded blobs not unpacked yet (a pull interrupted between the two): kept while a
  // live pull pins them or holds their lock, so that the next pull resumes them.
  const bdir = blobsDir(dir);
  for (const e of listDir(bdir)) {
    const hex = e.replace(/^\.lock-/, '').replace(/\.part$/, '');
    if (used.has(hex) || lockHeld(path.join(bdir, `.lock-${hex}`))) continue;
    fs.rmSync(path.join(bdir, e), { force: true });
  }
  return out;
}

function moveToTrash(dir: string, id: string): string {
  const trash = path.join(dir, `.trash-${process.pid}-${id}`);
  try {
    fs.renameSync(path.join(dir, id), trash);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return trash;
    throw err;
  }
  return trash;
}

/** Renames `.tmp-`/`.trash-` directories of dead processes to trash; returns what to delete. */
function sweepLeftovers(dir: string): string[] {
  const out: string[] = [];
  for (const e of listDir(dir)) {
    const m = LEFTOVER.exec(e);
    if (m && Number(m[2]) !== process.pid && !alive(Number(m[2]))) out.push(path.join(dir, e));
  }
  return out;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

async function removeAll(dir: string, paths: string[]): Promise<void> {
  for (const p of paths) if (path.dirname(p) === dir) await removeTree(p);
}

/** rm -rf that also copes with read-only directories from an image when not root. */
async function removeTree(p: string): Promise<void> {
  try {
    await fsp.rm(p, { recursive: true, force: true });
  } catch {
    const chmodAll = async (d: string): Promise<void> => {
      await fsp.chmod(d, 0o700).catch(() => {});
      const entries = await fsp.readdir(d, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) await chmodAll(path.join(d, e.name));
    };
    await chmodAll(p);
    await fsp.rm(p, { recursive: true, force: true }).catch(() => {});
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The layers of an OCI layout or docker-archive unpacked into the store (each once), bottom
 * first; what the image's config says; its users read across the layers (the top layer
 * that has the file wins; a whiteout there means none).
 */
async function importLayers(native: NativeBinding, dir: string, archive: string, tag: string | undefined, what: string, unpacked?: boolean) {
  const kind = archiveKind(archive)!;
  const present = unpacked ? (d: string) => fs.existsSync(layerPath(dir, d)) : undefined;
  const img = kind === 'oci-layout' ? await readOciLayout(archive, tag, what, present) : await readDockerArchive(archive, tag, what);
  // Kept by any sweep until the image's config names them (importImage unpins).
  const unpin = pinDigests(dir, img.layers.map((l) => l.diffId));
  try {
    return { ...(await unpackAll(native, dir, img, what)), unpin };
  } catch (e) {
    unpin();
    throw e;
  }
}

async function unpackAll(native: NativeBinding, dir: string, img: ArchiveImage, what: string) {
  const dirs: string[] = [];
  let size = 0;
  let entries = 0;
  for (const blob of img.layers) {
    const l = await unpackLayer(native, dir, blob, [...dirs].reverse(), what);
    dirs.push(l.dir);
    const m = await layerSize(l.dir);
    size += m.size;
    entries += m.entries;
  }
  const top = [...dirs].reverse();
  const read = (rel: string): string => {
    // The topmost layer that shows the file (whiteouts and opaque directories respected);
    // read inside that layer's root, so a symlink there cannot lead out of it.
    const found = lookupInLayers(native, top, rel);
    const layer = found && top.find((l) => found.path.startsWith(`${l}/`));
    return layer ? (readImageFile(layer, rel) ?? '') : '';
  };
  const users: ImageUsers = { passwd: parsePasswd(read('etc/passwd')), group: parseGroup(read('etc/group')) };
  return { format: img.format, raw: img.raw, config: img.config as RunConfig, layers: img.layers.map((l) => l.diffId), users, size, entries, manifestDigest: img.manifestDigest, configDigest: img.configDigest };
}
