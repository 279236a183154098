// `image pull`, and the pulls of `run`: from a registry (or its mirrors) into the store.
//
//   1. resolve: the manifest from the first endpoint that has it (registries-conf.ts: the
//      mirrors in order, then the registry itself unless mirrors without fallback are set);
//      an index is narrowed to this host's platform or --platform; by digest, checked.
//   2. the config blob; its rootfs.diff_ids name the layers, so a layer the store has
//      already ("Already exists") is not downloaded at all.
//   3. the other layers download three at a time into <lib>/images/blobs/<hex>, each holding
//      blobs/.lock-<hex>: a second pull of the same image waits and then finds the blob (or
//      the layer) there; a `.part` an interrupted pull left is resumed with Range.
//   4. meanwhile, layers are unpacked bottom first as soon as each has arrived (layers.ts:
//      diff_id checked, tar scanned, one lock per layer) — a layer whose lowers are all
//      unpacked when its download starts (the bottom one always) is unpacked as its bytes
//      come, committed only after its digest matched — and each blob is deleted once its
//      layer is unpacked: the store keeps no compressed copy (containerd keeps both and its
//      users pay twice the disk; a re-pull downloads again).
//   5. the manifest and config go into a small OCI layout that is imported as any other
//      (store.ts), which commits the image under its full name.
// A mismatch anywhere stores nothing of that image: the blobs it downloaded are deleted
// (only a `.part` of a download that broke off stays, for the next pull to resume), and
// layers already unpacked by then are kept only while some image names them (the next
// sweep removes the others).

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';

import { imagesDir, type StateRoots } from '../state/paths.ts';
import { credentialsFor } from './auth.ts';
import { blobsDir, layerPath, lockPath, pinDigests, unpackLayer } from './layers.ts';
import { withFileLock } from './lock.ts';
import { loadNative } from '../native/load.ts';
import { compressionOf, diffIds, LAYER_TYPES, parsePlatform, pickPlatform, type Descriptor, type LayerBlob } from './oci.ts';
import { endpointsFor, loadRegistries, type RegistriesConfig } from './registries-conf.ts';
import { Client, fetchBlob, fetchManifest, INDEX_TYPES, remoteRef, type BlobSink, type Manifest, type RemoteRef } from './registry.ts';
import { ensureStoreDir, importImage, type ImageRecord, type ImportOptions } from './store.ts';
import { imageError } from './unpack.ts';

/** What a pull reports as it goes (the CLI draws it; `-q` draws nothing). */
export type PullEvent =
  | { type: 'resolved'; ref: string; endpoint: string; digest: string; layers: { digest: string; size?: number }[] }
  | { type: 'mirror-failed'; endpoint: string; message: string }
  | { type: 'layer'; digest: string; status: 'exists' | 'waiting' | 'downloading' | 'downloaded' | 'extracting' | 'complete'; bytes?: number; total?: number; resumedAt?: number }
  | { type: 'stored'; name: string; id: string; digest: string };

export interface PullOptions extends ImportOptions {
  onProgress?: (event: PullEvent) => void;
  /** OS/ARCH[/VARIANT] instead of this host's. */
  platform?: string;
  /** A registries configuration, or the path of one (else the default file, if any). */
  registries?: RegistriesConfig | string;
  /** Downloads at once (3, as containerd's default). */
  parallel?: number;
}

/** Waiting for another pull's download of one blob. */
const BLOB_LOCK_MS = 15 * 60_000;

/** The manifest (an index narrowed to one platform) from the first endpoint that has it. */
async function resolve(r: RemoteRef, conf: RegistriesConfig, what: string, platform: string | undefined, onProgress?: (e: PullEvent) => void) {
  const want = platform === undefined ? undefined : parsePlatform(platform);
  if (platform !== undefined && !want) throw imageError(`${what}: --platform ${JSON.stringify(platform)} is not OS/ARCH[/VARIANT] (linux/arm64/v8)`, 'ERR_IMAGE_PLATFORM');
  const endpoints = endpointsFor(r.domain, r.registry, conf);
  const failures: string[] = [];
  for (const ep of endpoints) {
    const c = new Client(ep, r.repository, credentialsFor(ep.host), what);
    try {
      const top = await fetchManifest(c, r.reference, what, r);
      let m: Manifest = top;
      if (INDEX_TYPES.has(top.mediaType)) {
        const chosen = pickPlatform((JSON.parse(top.body.toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? [], what, want);
        m = await fetchManifest(c, chosen.digest, what, r);
      }
      return { client: c, top, manifest: m };
    } catch (e) {
      const code = (e as { code?: string }).code;
      // A mirror that lacks the image or is down: the next endpoint. A platform that is
      // not there is the image's answer, not the mirror's.
      if (!ep.mirror || code === 'ERR_IMAGE_PLATFORM' || code === 'ERR_IMAGE_DIGEST') throw e;
      failures.push((e as Error).message.replace(`${what}: `, ''));
      onProgress?.({ type: 'mirror-failed', endpoint: ep.host, message: failures[failures.length - 1] });
      if (ep === endpoints[endpoints.length - 1]) {
        const more = endpoints.length > 1 ? `every mirror failed (${failures.join('; ')})` : failures[0];
        throw imageError(`${what}: ${more}; the registry itself is not asked (no fallback: true for ${r.domain} in ${conf.file ?? 'the registries configuration'})`, code === 'ERR_IMAGE_NOT_FOUND' && failures.length === 1 ? code : 'ERR_IMAGE_REGISTRY');
      }
    }
  }
  throw imageError(`${what}: no endpoint to pull from`, 'ERR_IMAGE_REGISTRY');
}

/**
 * Pulls `ref` into the store under its full name (`docker.io/library/busybox:latest`) and
 * returns the record. Nothing is stored unless every digest matched.
 */
export async function pullImage(roots: StateRoots, ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
  const r = remoteRef(ref);
  const what = `image pull ${r.canonical}`;
  const conf = typeof opts.registries === 'object' ? opts.registries : loadRegistries(opts.registries);
  const dir = imagesDir(roots);
  ensureStoreDir(dir);
  const emit = opts.onProgress ?? (() => {});
  const { client, top, manifest: m } = await resolve(r, conf, what, opts.platform, emit);
  const layout = path.join(dir, `.tmp-${process.pid}-pull-${randomBytes(6).toString('hex')}`);
  const blobs = path.join(layout, 'blobs', 'sha256');
  await fsp.mkdir(blobs, { recursive: true, mode: 0o700 });
  let unpin = () => {};
  try {
    const put = (x: Manifest) => fsp.writeFile(path.join(blobs, x.digest.slice(7)), x.body);
    if (top !== m) await put(top);
    await put(m);
    const manifest = JSON.parse(m.body.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
    if (!manifest.config || !Array.isArray(manifest.layers)) throw imageError(`${what}: the manifest has no config or layers (schema 1 is not supported)`, 'ERR_IMAGE_BAD_ARCHIVE');
    await fetchBlob(client, manifest.config, path.join(blobs, manifest.config.digest.slice(7)), what);
    const cfg = JSON.parse(await fsp.readFile(path.join(blobs, manifest.config.digest.slice(7)), 'utf8')) as Record<string, unknown>;
    const ids = diffIds(cfg, manifest.layers.length, what);
    const layers: LayerBlob[] = manifest.layers.map((l, i) => {
      const compression = LAYER_TYPES[l.mediaType ?? ''];
      if (compression === undefined) throw imageError(`${what}: layer ${i} has media type ${l.mediaType}, which minipod does not unpack`, 'ERR_IMAGE_BAD_ARCHIVE');
      if (!/^sha256:[0-9a-f]{64}$/.test(l.digest)) throw imageError(`${what}: layer ${i} has digest ${JSON.stringify(l.digest)}`, 'ERR_IMAGE_BAD_ARCHIVE');
      return { file: path.join(blobsDir(dir), l.digest.slice(7)), digest: l.digest, size: l.size, compression, diffId: ids[i] };
    });
    unpin = pinDigests(dir, [...ids, ...layers.map((l) => l.digest!)]);
    fs.mkdirSync(blobsDir(dir), { recursive: true, mode: 0o700 });
    emit({ type: 'resolved', ref: r.canonical, endpoint: client.endpoint.host, digest: m.digest, layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size })) });

    // Downloads, `parallel` at a time, bottom layer first.
    const have = (l: LayerBlob) => fs.existsSync(layerPath(dir, l.diffId));
    /** The unpacked layers below layer i, top first (overlayfs' order). */
    const lowersOf = (i: number) => layers.slice(0, i).map((x) => layerPath(dir, x.diffId)).reverse();
    const queue = layers.map((l, i) => i);
    const done: Promise<void>[] = layers.map(() => undefined as unknown as Promise<void>);
    const settle: ((e?: unknown) => void)[] = [];
    for (const i of layers.keys()) done[i] = new Promise<void>((res, rej) => (settle[i] = (e) => (e ? rej(e) : res())));
    for (const p of done) p.catch(() => {}); // awaited below, in order
    let failed: unknown;
    const fetched: string[] = [];
    const native = opts.native ?? loadNative();
    const download = async (l: LayerBlob, i: number) => {
      if (have(l)) return emit({ type: 'layer', digest: l.digest!, status: 'exists' });
      await withFileLock(lockPath(blobsDir(dir), l.digest!), async () => {
        if (have(l) || fs.existsSync(l.file)) return; // another pull got it meanwhile
        emit({ type: 'layer', digest: l.digest!, status: 'downloading', bytes: 0, total: l.size });
        const onBytes = (bytes: number, resumedAt?: number) => {
          if (!failed) emit({ type: 'layer', digest: l.digest!, status: 'downloading', bytes, total: l.size, ...(resumedAt !== undefined && { resumedAt }) });
        };
        // Every layer below is unpacked already (always so for the bottom one): unpack this
        // one while it downloads.
        if (layers.slice(0, i).every(have)) await streamLayer(l, i, onBytes);
        else await fetchBlob(client, { digest: l.digest!, size: l.size }, l.file, what, onBytes);
        fetched.push(l.file);
      }, BLOB_LOCK_MS, `${what}: blob ${l.digest}`);
      if (!have(l)) emit({ type: 'layer', digest: l.digest!, status: 'downloaded', total: l.size });
    };
    /**
     * Download and unpack at once: the bytes go to the blob file and, through a bounded
     * buffer, to the unpacker. The unpacker commits the layer only once the feed has ended,
     * which is after the download's digest matched. If the registry makes the download
     * start over, or the unpack fails, the download goes on alone and the layer is unpacked
     * from the file afterwards (or the failure is reported there).
     */
    const streamLayer = async (l: LayerBlob, i: number, onBytes: (bytes: number, resumedAt?: number) => void) => {
      const feed = new PassThrough({ highWaterMark: 4 << 20 });
      let dead = false;
      let first = true;
      // However the unpacker ends (early too: another pull had the layer), the feed is
      // drained from then on, so that the download never waits for it.
      const stop = (ok: boolean) => {
        dead = true;
        feed.resume();
        return ok;
      };
      const unpacking = unpackLayer(native, dir, l, lowersOf(i), what, feed).then(() => stop(true), () => stop(false));
      const sink: BlobSink = {
        async write(chunk) {
          if (dead) return;
          if (first) {
            first = false;
            const magic = compressionOf(chunk);
            if (magic !== l.compression) throw imageError(`${what}: layer ${l.diffId} is said to be ${l.compression} but its bytes are ${magic}`, 'ERR_IMAGE_BAD_ARCHIVE');
          }
          if (!feed.write(chunk)) await new Promise<void>((r) => (dead ? r() : feed.once('drain', r)));
        },
        restart() {
          dead = true;
          feed.destroy(new Error('the download started over'));
        },
      };
      try {
        await fetchBlob(client, { digest: l.digest!, size: l.size }, l.file, what, onBytes, sink);
      } catch (e) {
        dead = true;
        feed.destroy(e as Error);
        await unpacking;
        throw e;
      }
      feed.end();
      if (await unpacking) {
        emit({ type: 'layer', digest: l.digest!, status: 'extracting', total: l.size });
        await fsp.rm(l.file, { force: true });
      }
    };
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined && !failed; i = queue.shift()) {
        try {
          await download(layers[i], i);
          settle[i]();
        } catch (e) {
          failed ??= e;
          settle[i](e);
          abort.abort(); // the pull has failed: the other downloads stop
        }
      }
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) settle[i](failed);
    };
    for (const l of layers) if (!have(l)) emit({ type: 'layer', digest: l.digest!, status: 'waiting', total: l.size });
    const abort = new AbortController();
    client.signal = abort.signal;
    const workers = Array.from({ length: Math.max(1, opts.parallel ?? 3) }, worker);

    // Unpacking, in order, as each layer arrives (unless it was unpacked as it came).
    try {
      for (const [i, l] of layers.entries()) {
        await done[i];
        if (!have(l)) {
          emit({ type: 'layer', digest: l.digest!, status: 'extracting', total: l.size });
          if (!fs.existsSync(l.file) && !have(l)) throw imageError(`${what}: blob ${l.digest} went missing before it was unpacked`, 'ERR_IMAGE_REGISTRY');
          await unpackLayer(native, dir, l, lowersOf(i), what);
          await fsp.rm(l.file, { force: true });
        }
        emit({ type: 'layer', digest: l.digest!, status: 'complete' });
      }
    } catch (e) {
      failed ??= e;
      abort.abort(); // the other downloads stop now instead of running to their end
      await Promise.allSettled(workers);
      // Nothing of a failed pull stays but a `.part` (the next pull resumes it).
      for (const f of fetched) await fsp.rm(f, { force: true });
      throw e;
    }
    await Promise.allSettled(workers);
    fs.writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}\n');
    fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: m.mediaType, digest: m.digest, size: m.body.length }] }) + '\n');
    const rec = await importImage(roots, r.canonical, layout, { ...opts, native, layersUnpacked: true, pulledFrom: { registry: client.endpoint.host, reference: r.canonical } });
    emit({ type: 'stored', name: rec.name, id: rec.id, digest: m.digest });
    return rec;
  } finally {
    unpin();
    await fsp.rm(layout, { recursive: true, force: true });
  }
}
