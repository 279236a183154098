// One image layer, unpacked once into a directory of its own keyed by its diff_id and shared
// by every image that has it; the stack of them is the overlay's lower dirs (no copy, no
// flattening).
//
//   <lib>/images/layers/<diff_id hex>/      the layer, overlayfs-ready
//   <lib>/images/layers/.tmp-<pid>-*/        one being unpacked (renamed into place when done)
//
// The blob is decompressed in-process (gzip: node:zlib) or by `zstd -d`, its uncompressed
// bytes hashed against the diff_id and checked by the same tar scanner as every import before
// GNU tar sees them; a mismatch or a refused entry leaves nothing. OCI whiteouts become
// overlayfs ones: `.wh.NAME` a 0/0 character device NAME, `.wh..wh..opq` the opaque xattr
// on its directory (wherever the marker sits among its siblings); tar never writes them. A hard link to a file of
// a lower layer copies that file up first, as containerd does. A layer is unpacked holding
// `layers/.lock-<hex>` (lock.ts): two imports or pulls that need one layer at once do the
// work once, the second finding it done.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import type { NativeBinding } from '../native/binding.ts';
import { sniff, type LayerBlob } from './oci.ts';
import { alive, withFileLock } from './lock.ts';
import { TarScanner } from './tar-scan.ts';
import { imageError, measureTree, run, tarExtractArgs } from './unpack.ts';

export function layersDir(imagesDir: string): string {
  return path.join(imagesDir, 'layers');
}

export function layerPath(imagesDir: string, diffId: string): string {
  return path.join(layersDir(imagesDir), diffId.replace(/^sha256:/, ''));
}

/** The lock held while a layer (by diff_id) or a downloaded blob (by digest) is worked on. */
export function lockPath(dir: string, digest: string): string {
  return path.join(dir, `.lock-${digest.replace(/^sha256:/, '')}`);
}

/**
 * Pins layers and blobs (by digest) that an import or pull is about to name in an image's
 * config, so that a sweep (`image rm`, `prune`) running meanwhile keeps them: a file
 * `layers/.pin-<pid>-<random>` listing them, removed by the returned function. A pin whose
 * pid is dead is ignored and removed by the next sweep.
 */
export function pinDigests(imagesDir: string, digests: string[]): () => void {
  fs.mkdirSync(layersDir(imagesDir), { recursive: true, mode: 0o700 });
  const file = path.join(layersDir(imagesDir), `.pin-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.writeFileSync(file, digests.map((d) => d.replace(/^sha256:/, '')).join('\n') + '\n', { mode: 0o600 });
  return () => fs.rmSync(file, { force: true });
}

/** The digests (hex) live pins name; the pins of dead processes are removed. */
export function pinnedDigests(imagesDir: string): Set<string> {
  const out = new Set<string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(layersDir(imagesDir));
  } catch {
    return out;
  }
  for (const e of names) {
    const m = /^\.pin-(\d+)-/.exec(e);
    if (!m) continue;
    const file = path.join(layersDir(imagesDir), e);
    if (!alive(Number(m[1]))) {
      fs.rmSync(file, { force: true });
      continue;
    }
    try {
      for (const d of fs.readFileSync(file, 'utf8').split('\n')) if (d) out.add(d);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** Waiting for another process's unpack of one layer: a big layer takes a while. */
const LAYER_LOCK_MS = 15 * 60_000;

export interface UnpackedLayer {
  dir: string;
  /** false: another image had it already. */
  fresh: boolean;
  bytes: number;
}

/**
 * What the stack of layers (top first) shows at `rel`, as overlayfs would: the path in the
 * topmost layer that has it, `null` when a whiteout hides it, undefined when no layer has
 * it. Every component is looked at with lstat and none may be a symlink — a lower layer's
 * `keep -> /etc` must never make `keep/shadow` the host's file; a directory on the way that
 * is opaque in some layer hides the layers below that one.
 */
export function lookupInLayers(native: Pick<NativeBinding, 'isOpaque'>, layers: string[], rel: string): { path: string; st: fs.Stats } | null | undefined {
  const parts = Buffer.from(rel, 'latin1').toString('utf8').split('/').filter(Boolean);
  for (const l of layers) {
    let p = l;
    let st: fs.Stats | undefined;
    let opaque = false;
    for (const [i, part] of parts.entries()) {
      p = path.join(p, part);
      try {
        st = fs.lstatSync(p);
      } catch {
        st = undefined;
        break;
      }
      if (st.isCharacterDevice() && st.rdev === 0) return null; // whited out here
      if (i < parts.length - 1 && !st.isDirectory()) return null; // a link or a file on the way hides the rest
      if (i < parts.length - 1 && native.isOpaque(p)) opaque = true;
    }
    if (st) return { path: p, st };
    if (opaque) return undefined; // nothing below an opaque directory shows through
  }
  return undefined;
}

/** The regular file of a lower layer (top first) at `rel`: for a hard link into a lower layer. */
function lowerFile(native: Pick<NativeBinding, 'isOpaque'>, lowers: string[], rel: string): string | undefined {
  const found = lookupInLayers(native, lowers, rel);
  return found?.st.isFile() ? found.path : undefined;
}

/** Streams the layer's tar through the scanner into GNU tar at dest; returns its sha256. */
async function extract(blob: LayerBlob, dest: string, scanner: TarScanner, what: string, feed?: Readable): Promise<{ diffId: string; bytes: number; entries: number }> {
  // Whiteout markers are not extracted: applyWhiteouts makes them from the scanner's list.
  const tar = spawn('tar', [...tarExtractArgs(dest), '--exclude=.wh.*'], { stdio: ['pipe', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
  let tarErr = '';
  tar.stderr!.setEncoding('utf8').on('data', (s: string) => (tarErr = (tarErr + s).slice(-4096)));
  const tarDone = new Promise<number | null>((resolve) => tar.on('close', (code) => resolve(code)));
  tar.stdin!.on('error', () => {});
  const hash = createHash('sha256');
  const source: Readable = feed ?? fs.createReadStream(blob.file, { highWaterMark: 1 << 20 });
  let zstd: ReturnType<typeof spawn> | undefined;
  let stream: Readable;
  if (blob.compression === 'gzip') stream = source.pipe(createGunzip());
  else if (blob.compression === 'zstd') {
    zstd = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'ignore'] });
    source.pipe(zstd.stdin!);
    zstd.stdin!.on('error', () => {});
    stream = zstd.stdout!;
  } else stream = source;
  // pipe() does not pass errors on: a source that fails (a download refused) ends the read.
  if (stream !== source) source.on('error', (e) => stream.destroy(e));
  try {
    for await (const chunk of stream) {
      hash.update(chunk);
      if (scanner.ended) continue; // the rest still counts for the digest
      const n = scanner.write(chunk);
      if (n > 0 && !tar.stdin!.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await new Promise((r) => tar.stdin!.once('drain', r));
    }
  } catch (e) {
    tar.kill('SIGKILL');
    await tarDone;
    if ((e as { code?: string }).code?.startsWith('Z_')) throw imageError(`${what}: layer ${blob.diffId}: corrupt gzip data (${(e as Error).message})`, 'ERR_IMAGE_DECOMPRESS');
    throw e;
  } finally {
    zstd?.kill();
  }
  const { bytes, entries } = scanner.finish();
  tar.stdin!.end(Buffer.alloc(1024));
  const code = await tarDone;
  const diffId = `sha256:${hash.digest('hex')}`;
  if (code !== 0 && !scanner.copyUps.length) throw imageError(`${what}: layer ${blob.diffId}: tar failed writing into ${dest}: ${tarErr.trim().split('\n').slice(-3).join('; ')}`, 'ERR_IMAGE_EXTRACT');
  return { diffId, bytes, entries };
}

/**
 * The layer's whiteout markers as overlayfs whiteouts: `.wh.NAME` a 0/0 character device
 * NAME, `.wh..wh..opq` the opaque xattr on its directory. The marker's directory is walked
 * with lstat, never through a symlink; one under a non-directory hides nothing and is
 * dropped; a directory only implied by a marker is made.
 */
function applyWhiteouts(native: NativeBinding, root: string, keys: string[]): void {
  for (const key of keys) {
    const rel = Buffer.from(key, 'latin1').toString('utf8');
    const parts = rel.split('/');
    const base = parts.pop()!;
    let dir = root;
    let ok = true;
    for (const p of parts) {
      dir = path.join(dir, p);
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(dir);
      } catch {
        fs.mkdirSync(dir, { mode: 0o755 });
        continue;
      }
      if (!st.isDirectory()) {
        ok = false; // under a file (or a link): nothing below it to hide
        break;
      }
    }
    if (!ok) continue;
    if (base === '.wh..wh..opq') native.opaque(dir);
    else {
      const victim = path.join(dir, base.slice(4));
      if (!fs.existsSync(victim) && !isLink(victim)) native.whiteout(victim); // the same layer cannot also have it
    }
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Unpacks one layer above `lowers` (the layers below it, top first), unless the store has
 * it already. Throws, leaving nothing, when the content does not match its diff_id.
 */
export async function unpackLayer(native: NativeBinding, imagesDir: string, blob: LayerBlob, lowers: string[], what: string, feed?: Readable): Promise<UnpackedLayer> {
  const final = layerPath(imagesDir, blob.diffId);
  if (fs.existsSync(final)) return { dir: final, fresh: false, bytes: 0 };
  fs.mkdirSync(layersDir(imagesDir), { recursive: true, mode: 0o700 });
  return withFileLock(lockPath(layersDir(imagesDir), blob.diffId), () => unpackLocked(native, final, blob, lowers, what, feed), LAYER_LOCK_MS, `${what}: layer ${blob.diffId}`);
}

/**
 * With `feed`, the compressed bytes come from it as they are downloaded (pull.ts), their
 * magic checked by the feeder; the layer is renamed into place only after the feed has
 * ended, i.e. after the download's digest matched. A second pass (hard links into a lower
 * layer) reads `blob.file`, complete by then.
 */
async function unpackLocked(native: NativeBinding, final: string, blob: LayerBlob, lowers: string[], what: string, feed?: Readable): Promise<UnpackedLayer> {
  if (fs.existsSync(final)) {
    feed?.resume(); // unpacked while we waited: the download still runs to its end
    return { dir: final, fresh: false, bytes: 0 };
  }
  const imagesDir = path.dirname(path.dirname(final));
  const magic = feed ? blob.compression : sniff(blob.file);
  if (magic !== blob.compression) throw imageError(`${what}: layer ${blob.diffId} is said to be ${blob.compression} but its bytes are ${magic}`, 'ERR_IMAGE_BAD_ARCHIVE');
  const tmp = path.join(layersDir(imagesDir), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await fsp.mkdir(tmp, { mode: 0o755 });
    let scanner = new TarScanner(`${what}: layer ${blob.diffId}`, (rel) => lowerFile(native, lowers, rel) !== undefined);
    let got = await extract(blob, tmp, scanner, what, feed);
    if (got.diffId !== blob.diffId) throw imageError(`${what}: layer content has digest ${got.diffId}, the config says ${blob.diffId}: refused, nothing stored`, 'ERR_IMAGE_DIGEST');
    if (scanner.copyUps.length) {
      // Hard links into a lower layer: copy their targets up, then unpack again.
      const targets = scanner.copyUps;
      await fsp.rm(tmp, { recursive: true, force: true });
      await fsp.mkdir(tmp, { mode: 0o755 });
      for (const rel of targets) {
        const from = lowerFile(native, lowers, rel)!;
        const to = path.join(tmp, Buffer.from(rel, 'latin1').toString('utf8'));
        await fsp.mkdir(path.dirname(to), { recursive: true, mode: 0o755 });
        const r = await run('cp', ['-a', '--reflink=auto', '--', from, to]);
        if (r.code !== 0) throw imageError(`${what}: copying ${rel} up from a lower layer failed: ${r.stderr.trim()}`, 'ERR_IMAGE_EXTRACT');
      }
      scanner = new TarScanner(`${what}: layer ${blob.diffId}`, (rel) => targets.includes(rel) || lowerFile(native, lowers, rel) !== undefined);
      got = await extract(blob, tmp, scanner, what);
    }
    applyWhiteouts(native, tmp, scanner.whiteouts);
    await fsp.rename(tmp, final);
    // Files copied up for hard links are content of this layer that its tar does not carry.
    const copied = scanner.copyUps.reduce((n, rel) => n + (fs.lstatSync(path.join(final, Buffer.from(rel, 'latin1').toString('utf8')), { throwIfNoEntry: false })?.size ?? 0), 0);
    writeLayerSize(final, { size: got.bytes + copied, entries: got.entries });
    return { dir: final, fresh: true, bytes: got.bytes };
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A layer's size (bytes of regular-file content, entries), counted by the tar scanner as
 * it was unpacked and kept beside it in `<hex>.size`, so that an image's size never needs a
 * walk of its trees. A layer without one (unpacked by an older minipod) is measured once.
 */
export async function layerSize(dir: string): Promise<{ size: number; entries: number }> {
  try {
    const j = JSON.parse(fs.readFileSync(`${dir}.size`, 'utf8')) as { size: number; entries: number };
    if (Number.isInteger(j.size) && Number.isInteger(j.entries)) return j;
  } catch {
    // none yet
  }
  const m = await measureTree(dir);
  writeLayerSize(dir, m);
  return m;
}

function writeLayerSize(dir: string, m: { size: number; entries: number }): void {
  fs.writeFileSync(`${dir}.size`, JSON.stringify({ size: m.size, entries: m.entries }) + '\n', { mode: 0o600 });
}

/** Where a pull keeps layer blobs between download and unpack (`<hex>`, `<hex>.part`). */
export function blobsDir(imagesDir: string): string {
  return path.join(imagesDir, 'blobs');
}
