// Reading OCI layouts without root: an index is narrowed to this host's platform (attestation
// entries are not images), and when nothing matches the platforms there are are listed;
// a blob whose bytes do not match its digest is refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { hostPlatform, parsePlatform, pickPlatform, readOciLayout } from '../../src/image/oci.ts';

function layout(): { dir: string; put: (v: unknown) => { digest: string; size: number } } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-oci-'));
  mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const put = (v: unknown) => {
    const b = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(path.join(dir, 'blobs/sha256', hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  return { dir, put };
}

function image(put: ReturnType<typeof layout>['put'], user: string) {
  const layer = put('not really a tar, never read here');
  const config = put({ config: { User: user, Entrypoint: ['/x'] }, rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] } });
  return put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }] });
}

test("an index is narrowed to this host's platform; attestations are skipped", async () => {
  const { dir, put } = layout();
  try {
    const me = hostPlatform();
    const mine = image(put, 'mine');
    const other = image(put, 'other');
    const att = image(put, 'attestation');
    const index = put({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...att, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...other, platform: { os: 'linux', architecture: 's390x' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...mine, platform: { os: me.os, architecture: me.architecture } },
      ],
    });
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', ...index }] }));
    const img = await readOciLayout(dir, undefined, 'test');
    assert.equal(img.config.user, 'mine');
    assert.equal(img.manifestDigest, mine.digest);
    assert.equal(img.layers[0].compression, 'gzip');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no image for this platform: the message lists the platforms the index has', async () => {
  const { dir, put } = layout();
  try {
    const a = image(put, 'a');
    const b = image(put, 'b');
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
      schemaVersion: 2,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...a, platform: { os: 'linux', architecture: 's390x' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...b, platform: { os: 'windows', architecture: 'amd64' } },
      ],
    }));
    await assert.rejects(readOciLayout(dir, undefined, 'test'), /no image for linux\/\w+.*; the index has linux\/s390x, windows\/amd64/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a blob that does not match its digest is refused', async () => {
  const { dir, put } = layout();
  try {
    const m = image(put, 'x');
    writeFileSync(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m }] }));
    writeFileSync(path.join(dir, 'blobs/sha256', m.digest.slice(7)), '{"tampered":true}'.padEnd(m.size, ' '));
    await assert.rejects(readOciLayout(dir, undefined, 'test'), new RegExp(`blob ${m.digest} has digest sha256:[0-9a-f]{64}: refused`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--platform: OS/ARCH[/VARIANT] picks that entry of an index', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.equal(parsePlatform('arm64'), undefined);
  const list = [
    { digest: `sha256:${'1'.repeat(64)}`, platform: { os: 'linux', architecture: 'amd64' } },
    { digest: `sha256:${'2'.repeat(64)}`, platform: { os: 'linux', architecture: 's390x' } },
  ];
  assert.equal(pickPlatform(list, 'test', parsePlatform('linux/s390x')).digest, list[1].digest);
  assert.throws(() => pickPlatform(list, 'test', parsePlatform('linux/riscv64')), /no image for linux\/riscv64; the index has linux\/amd64, linux\/s390x/);
});
