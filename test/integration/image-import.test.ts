// Importing real archives: what survives (devices, owners, setuid, xattrs, hard links: as
// root) and what is refused (escapes: as any user). Malicious archives are written here byte
// by byte. Each refusal is checked twice: through importImage (refused, with a message naming
// the entry, nothing outside written, nothing left in the store) and through GNU tar alone with
// minipod's flags (layer 2 by itself writes nothing outside either).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { importImage, resolveImage, tarExtractArgs } from '../../src/image/index.ts';
import { imagesDir, stateRoots, type StateRoots } from '../../src/state/paths.ts';

const isRoot = process.getuid?.() === 0;
const NEEDS_ROOT = isRoot ? false : 'needs root: device nodes, chown, setuid after chown and security.* xattrs';

// ---- a minimal tar writer --------------------------------------------------------------------

interface Entry {
  name: string;
  /** Type flag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO, ... */
  type?: string;
  data?: Buffer | string;
  link?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  uname?: string;
  mtime?: number;
  major?: number;
  minor?: number;
  /** ustar prefix field (used by readers only with the POSIX magic). */
  prefix?: string;
  /** Old GNU magic ("ustar  \0") instead of POSIX "ustar\0" "00". */
  gnuMagic?: boolean;
  /** Size field value, when it must differ from the data length. */
  size?: number;
  badChecksum?: boolean;
}
type Item = Entry | { pax: Record<string, string | Buffer>; global?: boolean } | { longName: string } | { longLink: string } | { raw: Buffer };

function octal(b: Buffer, off: number, len: number, v: number): void {
  b.write(v.toString(8).padStart(len - 1, '0') + '\0', off, len, 'latin1');
}

function header(e: Entry, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.name, 0, 100, 'latin1');
  octal(b, 100, 8, e.mode ?? (e.type === '5' ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, e.size ?? size);
  octal(b, 136, 12, e.mtime ?? 1_700_000_000);
  b.write(e.type ?? '0', 156, 1, 'latin1');
  b.write(e.link ?? '', 157, 100, 'latin1');
  b.write(e.gnuMagic ? 'ustar  \0' : 'ustar\x0000', 257, 8, 'latin1');
  b.write(e.uname ?? 'root', 265, 32, 'latin1');
  b.write('root', 297, 32, 'latin1');
  octal(b, 329, 8, e.major ?? 0);
  octal(b, 337, 8, e.minor ?? 0);
  if (e.prefix) b.write(e.prefix, 345, 155, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  if (e.badChecksum) b[148] = 0x37 - (b[148] === 0x37 ? 1 : 0);
  return b;
}

const padded = (d: Buffer): Buffer => Buffer.concat([d, Buffer.alloc((512 - (d.length % 512)) % 512)]);

function paxRecords(kv: Record<string, string | Buffer>): Buffer {
  const recs = Object.entries(kv).map(([k, v]) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v as string), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  });
  return Buffer.concat(recs);
}

function tarball(items: Item[], end = true): Buffer {
  const parts: Buffer[] = [];
  const add = (e: Entry, data: Buffer) => parts.push(header(e, data.length), padded(data));
  for (const it of items) {
    if ('raw' in it) parts.push(it.raw);
    else if ('pax' in it) add({ name: 'PaxHeaders/x', type: it.global ? 'g' : 'x' }, paxRecords(it.pax));
    else if ('longName' in it) add({ name: '././@LongLink', type: 'L', gnuMagic: true }, Buffer.from(it.longName + '\0', 'latin1'));
    else if ('longLink' in it) add({ name: '././@LongLink', type: 'K', gnuMagic: true }, Buffer.from(it.longLink + '\0', 'latin1'));
    else add(it, Buffer.from(it.data ?? ''));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ---- sandbox -----------------------------------------------------------------------------------

let sandbox: string;
let outside: string;
let k = 0;

before(() => {
  sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'minipod-image-import-'));
  outside = path.join(sandbox, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'secret\n');
});

after(() => {
  fs.rmSync(sandbox, { recursive: true, force: true });
});

function newRoots(): StateRoots {
  return stateRoots(path.join(sandbox, `root${k++}`));
}

function writeArchive(buf: Buffer): string {
  const file = path.join(sandbox, `archive${k++}.bin`);
  fs.writeFileSync(file, buf);
  return file;
}

function assertOutsideUntouched(): void {
  assert.deepEqual(fs.readdirSync(outside), ['secret'], 'nothing was created outside the target');
  assert.equal(fs.readFileSync(path.join(outside, 'secret'), 'utf8'), 'secret\n', 'nothing outside was overwritten');
  assert.equal(fs.statSync(path.join(outside, 'secret')).nlink, 1, 'nothing outside was hard-linked');
  assert.deepEqual(fs.readdirSync(sandbox).filter((e) => e.includes('pwned')), []);
}

function assertStoreEmpty(roots: StateRoots): void {
  const dir = imagesDir(roots);
  const rest = fs.existsSync(dir) ? fs.readdirSync(dir).filter((e) => e !== 'index.json') : [];
  assert.deepEqual(rest, [], 'no staging directory, tree or lock left behind');
  if (fs.existsSync(path.join(dir, 'index.json'))) assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).images, {});
}

/** GNU tar alone with minipod's flags: returns its exit status. */
function rawTar(file: string): { status: number | null; dir: string; stderr: string } {
  const dir = path.join(sandbox, `raw${k++}`);
  fs.mkdirSync(dir);
  const fd = fs.openSync(file, 'r');
  try {
    const r = spawnSync('tar', tarExtractArgs(dir), { stdio: [fd, 'ignore', 'pipe'], encoding: 'utf8', env: { PATH: process.env.PATH, LC_ALL: 'C' } });
    return { status: r.status, dir, stderr: r.stderr };
  } finally {
    fs.closeSync(fd);
  }
}

// ---- escapes -----------------------------------------------------------------------------------

interface EscapeCase {
  title: string;
  items: () => Item[];
  code: 'ERR_IMAGE_UNSAFE_ENTRY' | 'ERR_IMAGE_BAD_ARCHIVE';
  message: RegExp;
  entry?: string;
  gzip?: boolean;
}

const OUT = (): string => outside;
const escapes: EscapeCase[] = [
  {
    title: 'a name with a leading ".." component',
    items: () => [{ name: 'ok', data: 'x' }, { name: '../outside/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /^image import evil:latest: tar entry "\.\.\/outside\/pwned" escapes the target/,
    entry: '../outside/pwned',
  },
  {
    title: 'a ".." component in the middle',
    items: () => [{ name: 'a/', type: '5' }, { name: 'a/../../outside/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "a\/\.\.\/\.\.\/outside\/pwned" escapes the target/,
  },
  {
    title: 'writing through an absolute symlink planted earlier (a -> /outside, then a/pwned)',
    items: () => [{ name: 'a', type: '2', link: OUT() }, { name: 'a/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "a\/pwned" would be written through symlink "a", created earlier in the archive/,
    entry: 'a/pwned',
  },
  {
    title: 'the same, gzip-compressed (the streaming path)',
    items: () => [{ name: 'a', type: '2', link: OUT() }, { name: 'a/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "a\/pwned" would be written through symlink "a"/,
    gzip: true,
  },
  {
    title: 'writing through a relative ".." symlink',
    items: () => [{ name: 'up', type: '2', link: '../../../../../outside' }, { name: 'up/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "up\/pwned" would be written through symlink "up"/,
  },
  {
    title: 'a symlink chain (b -> c, c -> /outside, then b/pwned)',
    items: () => [{ name: 'b', type: '2', link: 'c' }, { name: 'c', type: '2', link: OUT() }, { name: 'b/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "b\/pwned" would be written through symlink "b"/,
  },
  {
    title: 'a directory replaced by a symlink, then written into',
    items: () => [{ name: 'd/', type: '5' }, { name: 'd', type: '2', link: OUT() }, { name: 'd/pwned', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "d" replaces an earlier directory with a symlink/,
  },
  {
    title: 'a symlink to a file outside, then overwritten as a regular file',
    items: () => [{ name: 'a', type: '2', link: path.join(OUT(), 'secret') }, { name: 'a', data: 'overwritten\n' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "a" replaces a symlink created earlier in the archive/,
  },
  {
    title: 'a hard link to ../outside/secret',
    items: () => [{ name: 'h', type: '1', link: '../outside/secret' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "h" is a hard link to "\.\.\/outside\/secret", which escapes the target/,
  },
  {
    title: 'a hard link to an absolute path outside',
    items: () => [{ name: 'h', type: '1', link: path.join(OUT(), 'secret') }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "h" is a hard link to ".*\/outside\/secret", which is not an earlier entry of the archive/,
  },
  {
    title: 'a hard link through a symlink planted earlier',
    items: () => [{ name: 'a', type: '2', link: OUT() }, { name: 'h', type: '1', link: 'a/secret' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "h" is a hard link to "a\/secret", which goes through symlink "a"/,
  },
  {
    title: 'a pax "path" record overriding a harmless header name',
    items: () => [{ pax: { path: '../outside/pwned' } }, { name: 'harmless', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "\.\.\/outside\/pwned" escapes the target/,
  },
  {
    title: 'a pax "linkpath" record on a hard link',
    items: () => [{ name: 'f', data: 'x' }, { pax: { linkpath: '../outside/secret' } }, { name: 'h', type: '1', link: 'f' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "h" is a hard link to "\.\.\/outside\/secret", which escapes/,
  },
  {
    title: 'a GNU long name',
    items: () => [{ longName: '../outside/pwned' }, { name: 'harmless', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "\.\.\/outside\/pwned" escapes the target/,
  },
  {
    title: 'a GNU long link name',
    items: () => [{ name: 'f', data: 'x' }, { longLink: '../outside/secret' }, { name: 'h', type: '1', link: 'f' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "h" is a hard link to "\.\.\/outside\/secret", which escapes/,
  },
  {
    title: 'a ".." hidden in the ustar prefix field',
    items: () => [{ name: 'pwned', prefix: '../outside', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "\.\.\/outside\/pwned" escapes the target/,
  },
  {
    title: 'a header smuggled in the data of a directory entry (tar does not skip it)',
    items: () => {
      const smuggled = tarball([{ name: 'a', type: '2', link: OUT() }, { name: 'a/pwned', data: 'x' }], false);
      return [{ name: 'd/', type: '5', data: smuggled }];
    },
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "d\/" is a directory but carries 1536 bytes of data/,
  },
  {
    title: 'an unknown entry type (GNU tar would write it as a regular file)',
    items: () => [{ name: 'weird', type: 'Z', data: 'x' }],
    code: 'ERR_IMAGE_UNSAFE_ENTRY',
    message: /tar entry "weird" has unsupported type "Z"/,
  },
  {
    title: 'a global pax header renaming every entry',
    items: () => [{ pax: { path: '../outside/pwned' }, global: true }, { name: 'harmless', data: 'x' }],
    code: 'ERR_IMAGE_BAD_ARCHIVE',
    message: /global pax header at offset 0 sets "path"/,
  },
  {
    title: 'two pax headers for one entry',
    items: () => [{ pax: { path: 'ok' } }, { pax: { path: '../outside/pwned' } }, { name: 'harmless', data: 'x' }],
    code: 'ERR_IMAGE_BAD_ARCHIVE',
    message: /two pax headers for one entry/,
  },
  {
    title: 'a bad checksum (tar would resynchronise on the next header-looking block)',
    items: () => [{ name: 'ok', data: 'x' }, { name: 'bad', data: 'x', badChecksum: true }, { name: '../outside/pwned', data: 'x' }],
    code: 'ERR_IMAGE_BAD_ARCHIVE',
    message: /corrupt tar header at offset 1024 \(bad checksum\)/,
  },
  {
    title: 'a GNU sparse entry',
    items: () => [{ name: 'sparse', type: 'S', data: 'x', gnuMagic: true }],
    code: 'ERR_IMAGE_BAD_ARCHIVE',
    message: /tar entry "sparse" is a GNU sparse file, which is not supported/,
  },
];

describe('malicious archives', () => {
  for (const c of escapes) {
    test(`refuses ${c.title}`, async () => {
      const buf = tarball(c.items());
      const file = writeArchive(c.gzip ? gzipSync(buf) : buf);
      const roots = newRoots();
      await assert.rejects(importImage(roots, 'evil', file), (err: Error & { code?: string; entry?: string }) => {
        assert.equal(err.code, c.code, err.message);
        assert.match(err.message, c.message);
        if (c.entry !== undefined) assert.equal(err.entry, c.entry);
        return true;
      });
      assertOutsideUntouched();
      assertStoreEmpty(roots);
      assert.equal(resolveImage(roots, 'evil'), undefined);

      // Layer 2 alone: GNU tar with minipod's flags, no scanner, writes nothing outside either.
      const raw = rawTar(writeArchive(buf));
      assertOutsideUntouched();
      assert.ok(raw.status !== null, raw.stderr);
    });
  }

  test('an absolute name is stripped to a path inside the image, as GNU tar does', async () => {
    const roots = newRoots();
    const abs = path.join(outside, 'pwned-abs');
    const rec = await importImage(roots, 'abs', writeArchive(tarball([{ name: abs, data: 'inside\n' }])));
    assertOutsideUntouched();
    assert.equal(fs.readFileSync(path.join(rec.rootfs, abs.slice(1)), 'utf8'), 'inside\n');
  });

  test('nothing after the first zero block is read (GNU tar stops there too)', async () => {
    const roots = newRoots();
    const buf = Buffer.concat([tarball([{ name: 'first', data: '1' }], false), Buffer.alloc(512), tarball([{ name: 'a', type: '2', link: OUT() }, { name: 'a/pwned', data: 'x' }])]);
    const rec = await importImage(roots, 'lone', writeArchive(buf));
    assert.deepEqual(fs.readdirSync(rec.rootfs), ['first']);
    assertOutsideUntouched();
    const raw = rawTar(writeArchive(buf));
    assert.deepEqual(fs.readdirSync(raw.dir), ['first'], raw.stderr);
  });
});

// ---- fidelity (root) ---------------------------------------------------------------------------

/** security.capability v2 value for cap_net_raw (13), permitted + effective. */
const CAP_NET_RAW = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const MTIME = 1_600_000_000;

function fidelityArchive(): Buffer {
  return tarball([
    { name: './', type: '5', mode: 0o755 },
    { name: './bin/', type: '5' },
    { name: './bin/su', data: 'su-binary', mode: 0o4755, uid: 0, gid: 0 },
    { name: './bin/su-link', type: '1', link: './bin/su' },
    { name: './bin/wall', data: 'wall-binary', mode: 0o2755, uid: 0, gid: 5 },
    { pax: { 'SCHILY.xattr.security.capability': CAP_NET_RAW } },
    { name: './bin/ping', data: 'ping-binary', mode: 0o755 },
    { pax: { 'SCHILY.xattr.user.minipod': 'hello', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
    { name: './bin/tagged', data: 'x', mtime: MTIME },
    { name: './dev/', type: '5' },
    { name: './dev/null', type: '3', mode: 0o666, major: 1, minor: 3 },
    { name: './dev/loop9', type: '4', mode: 0o660, major: 7, minor: 9, gid: 6 },
    { name: './etc/', type: '5' },
    { name: './etc/localtime', type: '2', link: '/usr/share/zoneinfo/UTC' },
    { name: './home/u/', type: '5', mode: 0o700, uid: 1234, gid: 5678 },
    { name: './home/u/file', data: 'mine', uid: 1234, gid: 5678, uname: 'root' },
    { name: './run/', type: '5' },
    { name: './run/fifo', type: '6', mode: 0o600, uid: 42, gid: 43 },
    { name: './tmp/', type: '5', mode: 0o1777 },
    { name: './var/mail/', type: '5', mode: 0o2775, gid: 8 },
  ]);
}

/** xattrs of one file, read back through GNU tar (no getfattr needed). */
function xattrsOf(dir: string, rel: string): Buffer {
  const r = spawnSync('tar', ['--create', '--xattrs', '--xattrs-include=*', '--format=posix', '--file=-', '-C', dir, rel]);
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

function assertFidelity(rootfs: string): void {
  const st = (p: string) => fs.lstatSync(path.join(rootfs, p));
  const su = st('bin/su');
  assert.equal(su.mode & 0o7777, 0o4755, 'setuid kept');
  assert.equal(su.uid, 0);
  assert.equal(st('bin/su-link').ino, su.ino, 'hard link shares the inode');
  assert.equal(su.nlink, 2);
  const wall = st('bin/wall');
  assert.equal(wall.mode & 0o7777, 0o2755, 'setgid kept after chown');
  assert.equal(wall.gid, 5);
  const nul = st('dev/null');
  assert.ok(nul.isCharacterDevice());
  assert.equal(nul.rdev, (1 << 8) | 3);
  assert.equal(nul.mode & 0o7777, 0o666);
  const loop = st('dev/loop9');
  assert.ok(loop.isBlockDevice());
  assert.equal(loop.rdev, (7 << 8) | 9);
  assert.equal(loop.gid, 6);
  const fifo = st('run/fifo');
  assert.ok(fifo.isFIFO());
  assert.deepEqual([fifo.mode & 0o7777, fifo.uid, fifo.gid], [0o600, 42, 43]);
  assert.equal(fs.readlinkSync(path.join(rootfs, 'etc/localtime')), '/usr/share/zoneinfo/UTC', 'absolute symlink target kept');
  const home = st('home/u');
  assert.deepEqual([home.mode & 0o7777, home.uid, home.gid], [0o700, 1234, 5678]);
  assert.deepEqual([st('home/u/file').uid, st('home/u/file').gid], [1234, 5678], 'numeric owner, not the uname "root"');
  assert.equal(st('tmp').mode & 0o7777, 0o1777);
  assert.deepEqual([st('var/mail').mode & 0o7777, st('var/mail').gid], [0o2775, 8]);
  assert.equal(st('bin/tagged').mtimeMs, MTIME * 1000);
  assert.equal(st('.').mode & 0o7777, 0o755);
  const ping = xattrsOf(rootfs, 'bin/ping');
  assert.ok(ping.includes(Buffer.concat([Buffer.from('SCHILY.xattr.security.capability='), CAP_NET_RAW])), 'file capability kept');
  const tagged = xattrsOf(rootfs, 'bin/tagged');
  assert.ok(tagged.includes('SCHILY.xattr.user.minipod=hello'), 'user xattr kept');
  assert.ok(!tagged.includes('trusted.overlay'), 'trusted.* from an archive is not applied');
}

describe('fidelity', () => {
  test('a tarball keeps devices, FIFOs, owners, setuid/setgid, hard links, xattrs, absolute symlinks', { skip: NEEDS_ROOT }, async () => {
    const roots = newRoots();
    const rec = await importImage(roots, 'full', writeArchive(fidelityArchive()));
    assertFidelity(rec.rootfs);
  });

  test('so does a zstd-compressed one', { skip: NEEDS_ROOT || (spawnSync('zstd', ['--version']).status === 0 ? false : 'zstd is not installed') }, async () => {
    const roots = newRoots();
    const plain = writeArchive(fidelityArchive());
    const r = spawnSync('zstd', ['-q', '-f', plain, '-o', `${plain}.zst`]);
    assert.equal(r.status, 0, String(r.stderr));
    const rec = await importImage(roots, 'full-zst', `${plain}.zst`);
    assertFidelity(rec.rootfs);
  });

  test('and so does importing that tree as a directory', { skip: NEEDS_ROOT }, async () => {
    const roots = newRoots();
    const first = await importImage(roots, 'full', writeArchive(fidelityArchive()));
    const copy = await importImage(roots, 'copy', first.rootfs);
    assert.notEqual(copy.rootfs, first.rootfs);
    assertFidelity(copy.rootfs);
  });
});
