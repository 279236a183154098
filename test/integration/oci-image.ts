// An OCI image archive of one uncompressed layer, the busybox tree, made without a registry
// or a tool that could reach one: what `ctr image import` takes (the containerd test and
// bench/oci-containerd.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { busyboxRootfs } from './helpers.ts';

/** Builds it under dir (a layout and image.tar); returns the archive's path. image: its name. */
export function busyboxImageArchive(dir: string, image: string): string {
  const layout = path.join(dir, 'layout');
  const blobs = path.join(layout, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (file: string) => {
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex');
    const size = statSync(file).size;
    renameSync(file, path.join(blobs, digest));
    return { digest: `sha256:${digest}`, size };
  };
  const write = (name: string, v: object) => {
    writeFileSync(path.join(dir, name), JSON.stringify(v));
    return blob(path.join(dir, name));
  };
  assert.equal(spawnSync('tar', ['-C', busyboxRootfs(), '-cf', path.join(dir, 'layer.tar'), '.']).status, 0);
  const layer = blob(path.join(dir, 'layer.tar'));
  const config = write('config.json', { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [layer.digest] } });
  const manifest = write('manifest.json', { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }] });
  writeFileSync(path.join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': image, 'org.opencontainers.image.ref.name': 'latest' } }] }));
  writeFileSync(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const tar = path.join(dir, 'image.tar');
  assert.equal(spawnSync('tar', ['-C', layout, '-cf', tar, '.']).status, 0);
  return tar;
}
