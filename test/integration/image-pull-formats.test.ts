// What a registry may serve, and what goes wrong on the way: Docker schema2 media types, an
// index with two platforms, zstd layers (compressed here with the zstd tool), a blob whose
// bytes do not match its digest, and a disk that fills up during the unpack.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { needsRoot, TestHost } from './helpers.ts';
import { buildLayout, haveTools, sh, startProxy, startRegistry, stopAll, type Registry } from './registry-fixture.ts';

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Record<string, string>;
}

/** Writes a blob into the layout; returns its descriptor. */
function putBlob(layout: string, mediaType: string, body: Buffer): Desc {
  const hex = createHash('sha256').update(body).digest('hex');
  writeFileSync(path.join(layout, 'blobs', 'sha256', hex), body);
  return { mediaType, digest: `sha256:${hex}`, size: body.length };
}

function readBlob(layout: string, digest: string): Buffer {
  return readFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)));
}

function tagged(layout: string, tag: string): Desc {
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Desc[] };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
}

function addTag(layout: string, tag: string, d: Desc): void {
  const file = path.join(layout, 'index.json');
  const index = JSON.parse(readFileSync(file, 'utf8')) as { manifests: Desc[] };
  index.manifests.push({ ...d, annotations: { 'org.opencontainers.image.ref.name': tag } });
  writeFileSync(file, JSON.stringify(index));
}

describe('image pull: formats and failures', { skip: needsRoot || (haveTools ? false : 'needs umoci, skopeo and docker-registry (scripts/setup.sh installs them)') }, () => {
  let h: TestHost;
  let work: string;
  let reg: Registry;
  let n = 0;
  const freshRoot = () => path.join(work, `root-${++n}`);

  before(async () => {
    h = new TestHost('image-pull-formats');
    work = mkdtempSync(path.join(os.tmpdir(), 'minipod-pull-formats-'));
    const layout = buildLayout(work);
    // An arm64 image of one file, and an index naming it and v1 (amd64).
    const arm = path.join(work, 'arm');
    mkdirSync(arm);
    writeFileSync(path.join(arm, 'ARCH.txt'), 'the linux/arm64 entry\n');
    sh('tar', ['-C', arm, '--numeric-owner', '-cf', path.join(work, 'arm.tar'), 'ARCH.txt']);
    sh('umoci', ['new', '--image', `${layout}:arm64-only`]);
    sh('umoci', ['raw', 'add-layer', '--image', `${layout}:arm64-only`, path.join(work, 'arm.tar')]);
    sh('umoci', ['config', '--image', `${layout}:arm64-only`, '--architecture', 'arm64', '--os', 'linux', '--config.cmd', '/ARCH.txt']);
    const strip = ({ annotations: _a, ...d }: Desc) => d;
    const index = putBlob(
      layout,
      'application/vnd.oci.image.index.v1+json',
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ ...strip(tagged(layout, 'v1')), platform: { architecture: 'amd64', os: 'linux' } }, { ...strip(tagged(layout, 'arm64-only')), platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } }] })),
    );
    addTag(layout, 'multi', index);
    // v1 with zstd layers: same diff_ids, other blobs.
    const m = JSON.parse(readBlob(layout, tagged(layout, 'v1').digest).toString()) as { layers: Desc[] } & Record<string, unknown>;
    const zlayers = m.layers.map((l) => {
      const tar = execFileSync('gzip', ['-dc'], { input: readBlob(layout, l.digest), maxBuffer: 1 << 28 });
      const z = execFileSync('zstd', ['-q', '-c', '-3'], { input: tar, maxBuffer: 1 << 28 });
      return putBlob(layout, 'application/vnd.oci.image.layer.v1.tar+zstd', z);
    });
    addTag(layout, 'zstd', putBlob(layout, 'application/vnd.oci.image.manifest.v1+json', Buffer.from(JSON.stringify({ ...m, layers: zlayers }))));
    reg = await startRegistry(path.join(work, 'reg'));
    const push = (tag: string, to: string, ...extra: string[]) => sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', ...extra, `oci:${layout}:${tag}`, `docker://${reg.addr}/test/${to}`]);
    push('v1', 'lay:v1');
    push('v1', 'lay:v2s2', '--format', 'v2s2');
    push('multi', 'multi:v1', '--all');
    push('zstd', 'lay:zstd');
  });
  after(() => {
    assert.deepEqual(stopAll(h, work, [reg]), { mounts: [], dirs: [] });
  });

  test('Docker schema2 media types are pulled as they are', async () => {
    const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.addr}/test/lay:v2s2`]));
    assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    const root = freshRoot();
    const r = await h.cli(['image', 'pull', '-q', '--root', root, `${reg.addr}/test/lay:v2s2`]);
    assert.equal(r.code, 0, r.stderr);
    const inspect = JSON.parse((await h.cli(['image', 'inspect', '--root', root, `${reg.addr}/test/lay:v2s2`])).stdout);
    assert.equal(inspect.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(inspect.config.entrypoint, ['/bin/sh']);
  });

  test('an index: this host\'s platform by default, another with --platform, and the list when none matches', async () => {
    const root = freshRoot();
    const ref = `${reg.addr}/test/multi:v1`;
    const amd = await h.cli(['image', 'pull', '-q', '--root', root, ref]);
    assert.equal(amd.code, 0, amd.stderr);
    assert.deepEqual(JSON.parse((await h.cli(['image', 'inspect', '--root', root, ref])).stdout).config.entrypoint, ['/bin/sh']);
    const arm = await h.cli(['image', 'pull', '-q', '--root', root, '--platform', 'linux/arm64/v8', ref]);
    assert.equal(arm.code, 0, arm.stderr);
    assert.deepEqual(JSON.parse((await h.cli(['image', 'inspect', '--root', root, ref])).stdout).config.cmd, ['/ARCH.txt']);
    const none = await h.cli(['image', 'pull', '-q', '--root', root, '--platform', 'linux/s390x', ref]);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /linux\/s390x.*linux\/amd64.*linux\/arm64\/v8/);
  });

  test('zstd layers are unpacked (their media type checked against their bytes) to the same tree as gzip ones', async () => {
    const root = freshRoot();
    const r = await h.cli(['image', 'pull', '--root', root, `${reg.addr}/test/lay:zstd`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/: Pull complete$/gm)?.length, 2, r.stderr);
    const inspect = JSON.parse((await h.cli(['image', 'inspect', '--root', root, `${reg.addr}/test/lay:zstd`])).stdout);
    assert.ok(inspect.manifest.layers.every((l: Desc) => l.mediaType.endsWith('+zstd')));
    assert.equal(readFileSync(path.join(inspect.layers[1], 'etc/motd'), 'utf8'), 'pulled from a registry\n');
    assert.ok(existsSync(path.join(inspect.layers[0], 'bin/busybox')));
    // The same diff_ids as the gzip image: pulling that one now downloads nothing.
    const gz = await h.cli(['image', 'pull', '--root', root, `${reg.addr}/test/lay:v1`]);
    assert.equal(gz.stderr.match(/: Already exists$/gm)?.length, 2, gz.stderr);
  });

  test('a blob whose bytes do not match its digest is refused and nothing is stored', async () => {
    const root = freshRoot();
    const proxy = await startProxy(reg.addr, (req, u, res) => {
      if (!/\/blobs\/sha256:/.test(req.url ?? '') || Number(u.headers['content-length']) < 100_000) return false;
      res.writeHead(u.statusCode ?? 502, u.headers);
      let first = true;
      u.on('data', (d: Buffer) => {
        if (first) d = Buffer.concat([d.subarray(0, 1000), Buffer.from([d[1000] ^ 0xff]), d.subarray(1001)]); // inside the gzip stream
        first = false;
        res.write(d);
      });
      u.on('end', () => res.end());
      return true;
    });
    try {
      const r = await h.cli(['image', 'pull', '-q', '--root', root, `${proxy.addr}/test/lay:v1`]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /blob sha256:[0-9a-f]{64} came with digest sha256:[0-9a-f]{64} \(\d+ bytes\): refused, nothing stored/);
      const images = path.join(root, 'lib', 'images');
      assert.deepEqual(JSON.parse((await h.cli(['image', 'ls', '--root', root, '-o', 'json'])).stdout), []);
      assert.deepEqual(readdirSync(path.join(images, 'blobs')), []);
      assert.deepEqual(readdirSync(images).filter((e) => e.startsWith('.tmp-')), []);
    } finally {
      proxy.close();
    }
  });

  test('a disk that fills up during the unpack: refused with the path, no half layer left', async () => {
    const root = freshRoot();
    mkdirSync(root);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=1800k', 'minipod-test-full', root]);
    try {
      const r = await h.cli(['image', 'pull', '-q', '--root', root, `${reg.addr}/test/lay:v1`]);
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /No space left on device/);
      assert.match(r.stderr, new RegExp(`${root.replace(/[.]/g, '\\.')}/lib/images/`));
      const layers = path.join(root, 'lib', 'images', 'layers');
      assert.deepEqual(readdirSync(layers).filter((e) => !e.startsWith('.pin-')), [], 'no layer, no temporary directory');
      assert.deepEqual(JSON.parse((await h.cli(['image', 'ls', '--root', root, '-o', 'json'])).stdout), []);
    } finally {
      sh('umount', [root]);
    }
  });
});
