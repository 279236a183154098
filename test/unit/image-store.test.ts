// The image store with real files under a temporary MINIPOD_ROOT. Needs GNU tar and cp; no root.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_PATH,
  importImage,
  listImages,
  pruneImages,
  removeImage,
  resolveImage,
  tagImage,
  withImagesLock,
} from '../../src/image/index.ts';
import { imagesDir, stateRoots, type StateRoots } from '../../src/state/paths.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let tmp: string;
let src: string;
let n = 0;

/** A fresh store for each test. */
function newRoots(): StateRoots {
  return stateRoots(path.join(tmp, `root${n++}`));
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Names in the images directory other than image ids and the index. */
function leftovers(roots: StateRoots): string[] {
  const dir = imagesDir(roots);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((e) => !/^[0-9a-f]{32}$/.test(e) && e !== 'index.json');
}

function ids(roots: StateRoots): string[] {
  return fs.readdirSync(imagesDir(roots)).filter((e) => /^[0-9a-f]{32}$/.test(e)).sort();
}

function index(roots: StateRoots): Record<string, string> {
  const idx = JSON.parse(fs.readFileSync(path.join(imagesDir(roots), 'index.json'), 'utf8'));
  assert.equal(idx.version, 1);
  return idx.images;
}

/** A pid that is certainly dead: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minipod-image-store-'));
  src = path.join(tmp, 'src');
  fs.mkdirSync(path.join(src, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(src, 'bin'));
  fs.mkdirSync(path.join(src, 'usr/share/zoneinfo'), { recursive: true });
  fs.writeFileSync(path.join(src, 'etc/hostname'), 'image\n');
  fs.writeFileSync(path.join(src, 'usr/share/zoneinfo/UTC'), 'TZif2');
  fs.symlinkSync('/usr/share/zoneinfo/UTC', path.join(src, 'etc/localtime'));
  fs.writeFileSync(path.join(src, 'bin/tool'), Buffer.alloc(3000, 7), { mode: 0o755 });
  fs.linkSync(path.join(src, 'bin/tool'), path.join(src, 'bin/tool-link'));
  fs.mkdirSync(path.join(src, 'tmp'));
  fs.chmodSync(path.join(src, 'tmp'), 0o1777);
  sh('tar', ['-cf', path.join(tmp, 'plain.tgz'), '-C', src, '.']); // misleading name on purpose
  sh('tar', ['-czf', path.join(tmp, 'gzip.tar'), '-C', src, '.']);
});

after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function assertTree(rootfs: string): void {
  assert.equal(fs.readFileSync(path.join(rootfs, 'etc/hostname'), 'utf8'), 'image\n');
  assert.equal(fs.readlinkSync(path.join(rootfs, 'etc/localtime')), '/usr/share/zoneinfo/UTC');
  const a = fs.statSync(path.join(rootfs, 'bin/tool'));
  const b = fs.statSync(path.join(rootfs, 'bin/tool-link'));
  assert.equal(a.ino, b.ino, 'hard link kept');
  assert.equal(a.nlink, 2);
  assert.equal(a.mode & 0o7777, 0o755);
  assert.equal(fs.statSync(path.join(rootfs, 'tmp')).mode & 0o7777, 0o1777);
}

describe('importImage', () => {
  test('from a directory', async () => {
    const roots = newRoots();
    const rec = await importImage(roots, 'busybox', src, { config: { cmd: ['sh'], workingDir: '/', user: '65534' } });
    assert.equal(rec.name, 'busybox:latest');
    assert.match(rec.id, /^[0-9a-f]{32}$/);
    assert.equal(rec.rootfs, path.join(imagesDir(roots), rec.id, 'rootfs'));
    assert.equal(rec.size, 'image\n'.length + 5 + 3000, 'regular-file bytes, the hard-linked file once');
    assert.deepEqual(rec.config, { env: [`PATH=${DEFAULT_PATH}`], cmd: ['sh'], workingDir: '/', user: '65534' });
    assert.ok(Math.abs(Date.parse(rec.created) - Date.now()) < 60_000);
    assertTree(rec.rootfs);
    assert.equal(fs.statSync(imagesDir(roots)).mode & 0o777, 0o700, 'image trees hold setuid files: the store is private');
    const cfg = JSON.parse(fs.readFileSync(path.join(imagesDir(roots), rec.id, 'config.json'), 'utf8'));
    assert.equal(cfg.name, 'busybox');
    assert.equal(cfg.tag, 'latest');
    assert.equal(cfg.size, rec.size);
    assert.deepEqual(cfg.source, { type: 'dir', path: src });
    assert.deepEqual(index(roots), { 'busybox:latest': rec.id });
    assert.deepEqual(leftovers(roots), []);
  });

  test('tarballs are recognised by content, not by name', async () => {
    const roots = newRoots();
    const plain = await importImage(roots, 'plain', path.join(tmp, 'plain.tgz'));
    const gz = await importImage(roots, 'gz', path.join(tmp, 'gzip.tar'));
    for (const rec of [plain, gz]) assertTree(rec.rootfs);
    const source = (id: string) => JSON.parse(fs.readFileSync(path.join(imagesDir(roots), id, 'config.json'), 'utf8')).source;
    assert.equal(source(plain.id).compression, 'none');
    assert.equal(source(gz.id).compression, 'gzip');
    assert.equal(plain.size, 'image\n'.length + 5 + 3000);
    assert.deepEqual(leftovers(roots), []);
  });

  for (const prog of ['zstd', 'xz', 'bzip2']) {
    test(`${prog}-compressed tarball`, { skip: has(prog) ? false : `${prog} is not installed` }, async () => {
      const roots = newRoots();
      const file = path.join(tmp, `archive-${prog}`);
      sh('tar', ['-cf', file, `--use-compress-program=${prog}`, '-C', src, '.']);
      const rec = await importImage(roots, `c-${prog}`, file);
      assertTree(rec.rootfs);
    });
  }

  test('config env keeps a default PATH unless it sets one', async () => {
    const roots = newRoots();
    const a = await importImage(roots, 'a', src, { config: { env: ['A=1'] } });
    assert.deepEqual(a.config.env, [`PATH=${DEFAULT_PATH}`, 'A=1']);
    const b = await importImage(roots, 'b', src, { config: { env: ['PATH=/bin', 'B=2'], entrypoint: ['/bin/tool'] } });
    assert.deepEqual(b.config, { env: ['PATH=/bin', 'B=2'], entrypoint: ['/bin/tool'] });
  });

  test('a missing source fails with the system error and leaves nothing', async () => {
    const roots = newRoots();
    const missing = path.join(tmp, 'no-such-file');
    await assert.rejects(importImage(roots, 'x', missing), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT');
      assert.equal(err.syscall, 'stat');
      assert.equal(err.path, missing);
      assert.equal(typeof err.errno, 'number');
      assert.match(err.message, /^image import x:latest: source: ENOENT/);
      return true;
    });
    assert.deepEqual(leftovers(roots), []);
    assert.deepEqual(ids(roots), []);
    assert.equal(fs.existsSync(path.join(imagesDir(roots), 'index.json')), false);
  });

  test('a file that is not a tar archive is refused and leaves nothing', async () => {
    const roots = newRoots();
    await importImage(roots, 'keep', src);
    const before = index(roots);
    const junk = path.join(tmp, 'junk.tar');
    fs.writeFileSync(junk, Buffer.alloc(4096, 0x41));
    await assert.rejects(importImage(roots, 'junk', junk), { code: 'ERR_IMAGE_BAD_ARCHIVE', message: /^image import junk:latest: corrupt tar header at offset 0/ });
    const empty = path.join(tmp, 'empty.tar');
    fs.writeFileSync(empty, '');
    await assert.rejects(importImage(roots, 'junk', empty), { code: 'ERR_IMAGE_BAD_ARCHIVE', message: /the archive is empty/ });
    const truncated = path.join(tmp, 'truncated.tar');
    fs.writeFileSync(truncated, fs.readFileSync(path.join(tmp, 'plain.tgz')).subarray(0, 1536));
    await assert.rejects(importImage(roots, 'junk', truncated), { code: 'ERR_IMAGE_BAD_ARCHIVE', message: /truncated/ });
    assert.deepEqual(index(roots), before);
    assert.deepEqual(leftovers(roots), []);
    assert.equal(ids(roots).length, 1);
  });

  test('an invalid reference is refused before anything is created', async () => {
    const roots = newRoots();
    await assert.rejects(importImage(roots, 'Bad', src), { code: 'ERR_IMAGE_REF', message: /repository name must be lowercase/ });
    assert.equal(fs.existsSync(imagesDir(roots)), false);
  });
});

describe('names and trees', () => {
  test('list, resolve by the lookup rule, exact match first', async () => {
    const roots = newRoots();
    const docker = await importImage(roots, 'docker.io/library/busybox', src);
    const pause = await importImage(roots, 'registry.k8s.io/pause:3.10', src);
    assert.deepEqual(listImages(roots).map((r) => [r.name, r.id]), [
      ['docker.io/library/busybox:latest', docker.id],
      ['registry.k8s.io/pause:3.10', pause.id],
    ]);
    assert.equal(resolveImage(roots, 'busybox')?.id, docker.id);
    assert.equal(resolveImage(roots, 'busybox')?.name, 'docker.io/library/busybox:latest');
    assert.equal(resolveImage(roots, 'localhost/busybox:latest')?.id, docker.id);
    assert.equal(resolveImage(roots, 'busybox:1.36'), undefined, 'tags match exactly');
    assert.equal(resolveImage(roots, 'pause:3.10'), undefined, 'other registries match exactly');
    assert.equal(resolveImage(roots, 'registry.k8s.io/pause:3.10')?.id, pause.id);
    const bare = await importImage(roots, 'busybox', src);
    assert.equal(resolveImage(roots, 'busybox')?.id, bare.id, 'the exact name wins over aliases');
    assert.equal(resolveImage(roots, 'docker.io/library/busybox')?.id, docker.id);
    assert.throws(() => resolveImage(roots, 'NOPE'), { code: 'ERR_IMAGE_REF' });
    assert.deepEqual(listImages(newRoots()), [], 'an empty store lists nothing');
  });

  test('re-importing a name replaces it and deletes the old tree', async () => {
    const roots = newRoots();
    const first = await importImage(roots, 'app', src);
    const second = await importImage(roots, 'app', src);
    assert.notEqual(first.id, second.id);
    assert.deepEqual(ids(roots), [second.id]);
    assert.deepEqual(index(roots), { 'app:latest': second.id });
    assert.deepEqual(leftovers(roots), []);
  });

  test('a tree another name points at, or one in use, survives re-import', async () => {
    const roots = newRoots();
    const first = await importImage(roots, 'app', src);
    const tagged = await tagImage(roots, 'app', 'app:v1');
    assert.equal(tagged.id, first.id);
    assert.equal(tagged.name, 'app:v1');
    const second = await importImage(roots, 'app', src);
    assert.deepEqual(ids(roots), [first.id, second.id].sort(), 'kept: app:v1 still names it');
    assert.equal(resolveImage(roots, 'app:v1')?.id, first.id);

    const asked: string[] = [];
    const third = await importImage(roots, 'app', src, {
      inUse: (rec) => {
        asked.push(rec.id);
        return 'pod "web"';
      },
    });
    assert.deepEqual(asked, [second.id]);
    assert.ok(fs.existsSync(second.rootfs), 'a tree in use is kept (dangling)');
    assert.deepEqual(listImages(roots).map((r) => r.id).sort(), [first.id, third.id].sort());
    assert.deepEqual(await pruneImages(roots, { inUse: () => true }), []);
    assert.deepEqual(await pruneImages(roots), [second.id]);
    assert.equal(fs.existsSync(second.rootfs), false);
    assert.deepEqual(leftovers(roots), []);
  });

  test('removeImage: not found, in use, shared, deleted', async () => {
    const roots = newRoots();
    await assert.rejects(removeImage(roots, 'ghost'), { code: 'ERR_IMAGE_NOT_FOUND', message: 'image remove ghost: no such image' });
    const rec = await importImage(roots, 'web', src);
    await tagImage(roots, 'web', 'web:stable');
    // Removing one of two names only unnames: inUse is not even asked.
    const removed = await removeImage(roots, 'web:stable', { inUse: () => assert.fail('not asked for a shared tree') });
    assert.equal(removed.name, 'web:stable');
    assert.ok(fs.existsSync(rec.rootfs));
    await assert.rejects(removeImage(roots, 'web', { inUse: async () => 'pod "front"' }), {
      code: 'ERR_IMAGE_IN_USE',
      message: 'image remove web:latest: in use by pod "front"',
    });
    assert.deepEqual(index(roots), { 'web:latest': rec.id }, 'a refused removal changes nothing');
    assert.equal((await removeImage(roots, 'docker.io/library/web', { inUse: () => false })).id, rec.id, 'resolved by the lookup rule');
    assert.deepEqual(index(roots), {});
    assert.deepEqual(ids(roots), []);
    assert.deepEqual(leftovers(roots), []);
  });
});

describe('concurrency and the lock', () => {
  test('parallel imports in one process keep every name and no stray tree', async () => {
    const roots = newRoots();
    const names = ['a', 'b', 'c', 'same', 'same', 'same'];
    const recs = await Promise.all(names.map((name) => importImage(roots, name, path.join(tmp, names.indexOf(name) % 2 ? 'plain.tgz' : 'gzip.tar'))));
    const idx = index(roots);
    assert.deepEqual(Object.keys(idx).sort(), ['a:latest', 'b:latest', 'c:latest', 'same:latest']);
    assert.ok(recs.filter((r) => r.name === 'same:latest').some((r) => r.id === idx['same:latest']));
    assert.deepEqual(ids(roots), Object.values(idx).sort(), 'the replaced "same" trees are gone');
    assert.deepEqual(leftovers(roots), []);
  });

  test('parallel imports from separate processes', async () => {
    const root = path.join(tmp, `root${n++}`);
    const run = (name: string) =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ['--import', 'tsx', 'src/image/import-main.ts', name, path.join(tmp, 'plain.tgz')], {
          cwd: repo,
          env: { ...process.env, MINIPOD_ROOT: root },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (out += d));
        c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`import-main ${name}: exit ${code}: ${out}`))));
      });
    const outs = await Promise.all(['p1', 'p2', 'p3', 'p4'].map(run));
    for (const o of outs) assert.match(o, /^imported p\d:latest [0-9a-f]{32} \(3011 bytes\)/);
    const roots = stateRoots(root);
    assert.deepEqual(Object.keys(index(roots)).sort(), ['p1:latest', 'p2:latest', 'p3:latest', 'p4:latest']);
    assert.equal(ids(roots).length, 4);
    assert.deepEqual(leftovers(roots), []);
  });

  test('a lock left by a dead process is broken; a live one is waited for', async () => {
    const roots = newRoots();
    fs.mkdirSync(imagesDir(roots), { recursive: true });
    const lock = path.join(imagesDir(roots), '.lock');
    fs.writeFileSync(lock, `${deadPid()}\n`);
    const rec = await importImage(roots, 'after-crash', src);
    assert.equal(resolveImage(roots, 'after-crash')?.id, rec.id);
    assert.equal(fs.existsSync(lock), false);

    fs.writeFileSync(lock, `${process.pid}\n`); // alive: us
    const t0 = Date.now();
    await assert.rejects(withImagesLock(roots, () => 1, 200), { code: 'ERR_IMAGE_LOCKED', message: new RegExp(`locked by pid ${process.pid}`) });
    assert.ok(Date.now() - t0 >= 200);
    fs.rmSync(lock);
    assert.equal(await withImagesLock(roots, () => 42), 42);
    assert.equal(fs.existsSync(lock), false, 'released');
  });

  test('staging and trash left by dead processes are swept by the next import', async () => {
    const roots = newRoots();
    const dir = imagesDir(roots);
    const dead = deadPid();
    fs.mkdirSync(path.join(dir, `.tmp-${dead}-abc/rootfs`), { recursive: true });
    fs.mkdirSync(path.join(dir, `.trash-${dead}-def`), { recursive: true });
    fs.mkdirSync(path.join(dir, `.tmp-${process.pid}-mine`), { recursive: true }); // ours: in progress
    await importImage(roots, 'x', src);
    assert.deepEqual(leftovers(roots), [`.tmp-${process.pid}-mine`]);
  });
});
