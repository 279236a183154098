// Filling a fresh directory with an image's root filesystem, from a directory or a tarball.
//
// Tarballs (plain, gzip, zstd, xz, bzip2: detected by magic bytes, never by file name) are
// extracted by GNU tar, which keeps device nodes, FIFOs, absolute symlink targets, setuid and
// setgid bits, numeric ownership, hardlinks and xattrs (security.capability included, which
// needs --xattrs-include='*': plain --xattrs restores only user.*; trusted.* is left out).
//
// Safety, in layers:
//   1. TarScanner (tar-scan.ts) checks every header before tar sees it and refuses entries
//      that escape the target, go through a symlink planted earlier in the archive, or that it
//      cannot read exactly like GNU tar. A plain tarball is scanned in full first (cheap: the
//      scanner seeks over file data) and tar then reads the same open file; the file's
//      size/mtime/ctime are compared afterwards, so a file changed between scan and extraction
//      fails the import. A compressed tarball is decompressed once, and the decompressed bytes
//      pass through the scanner on their way to tar's stdin: tar only ever receives checked
//      bytes.
//   2. GNU tar's own defences, checked by experiment (and by test/integration/image-import):
//      it refuses members and hard-link targets containing "..", strips a leading "/", opens
//      files with O_EXCL (an existing symlink is replaced, not followed), and creates a symlink
//      whose target is absolute or contains ".." only at the end, as a placeholder regular file
//      until then, so writes "through" it fail with ENOTDIR. TAR_OPTIONS is removed from its
//      environment and --absolute-names / --keep-directory-symlink are never passed.
//   3. The target is a fresh staging directory (made by the store) that is renamed into place
//      only on success and removed on any failure.
// A chroot/mount-namespace jail for tar was considered and left out: GNU tar needs its binary
// and libraries inside the jail, and layers 1 and 2 each block every escape on their own.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { MinipodError, EXIT } from '../errors.ts';
import { TarScanner, TarEntryError } from './tar-scan.ts';

export { TarEntryError } from './tar-scan.ts';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export interface UnpackResult {
  source: { type: 'dir' | 'tar'; path: string; compression?: Compression };
  /** Bytes of regular-file content, each inode once. */
  size: number;
  entries: number;
}

/** An Error with a code, keeping Node's SystemError fields when the cause is a system call. */
export type ImageError = Error & { code: string; errno?: number; syscall?: string; path?: string; entry?: string };

export function imageError(message: string, code: string, cause?: unknown): ImageError {
  // Exit codes as podman's `image rm`: 1 no such image, 2 in use, 125 anything else.
  const exitCode = code === 'ERR_IMAGE_NOT_FOUND' ? EXIT.notFound : code === 'ERR_IMAGE_IN_USE' ? EXIT.inUse : EXIT.minipod;
  return new MinipodError(message, { code, cause, exitCode }) as ImageError;
}

/** `prefix: <system message>`, with code, errno, syscall and path copied from the cause. */
export function wrapSystemError(prefix: string, cause: unknown): Error {
  const e = cause as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string' || e instanceof TarEntryError) return e as Error;
  if (e.message.startsWith(prefix)) return e;
  const err = imageError(`${prefix}: ${e.message}`, e.code, e);
  if (e.errno !== undefined) err.errno = e.errno;
  if (e.syscall !== undefined) err.syscall = e.syscall;
  if (e.path !== undefined) err.path = e.path;
  return err;
}

const MAGIC: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

/** Compression of a file from its first bytes; 'none' for anything else (the scanner judges it). */
export function detectCompression(head: Buffer): Compression {
  for (const [name, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return name;
  }
  return 'none';
}

/** Arguments for GNU tar to extract stdin into `dest`, preserving everything. */
export function tarExtractArgs(dest: string): string[] {
  const root = process.getuid?.() === 0;
  return [
    '--extract',
    '--file=-',
    `--directory=${dest}`,
    '--numeric-owner',
    '--same-permissions',
    // As root, owners come from the archive; otherwise chown would fail on every entry.
    root ? '--same-owner' : '--no-same-owner',
    '--xattrs',
    '--xattrs-include=*',
    // trusted.overlay.* on the lower layer would steer overlayfs (opaque dirs, redirects,
    // metacopy): that is the host's business, never an archive's.
    '--xattrs-exclude=trusted.*',
  ];
}

/** Environment for tar: without TAR_OPTIONS, which could add --absolute-names. */
function toolEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' };
}

let gnuTar: Promise<void> | undefined;

/** The safety argument above is about GNU tar; refuse to run with another tar. */
export function ensureGnuTar(): Promise<void> {
  gnuTar ??= (async () => {
    const { code, stdout, stderr } = await run('tar', ['--version']);
    if (code !== 0 || !/GNU tar/.test(stdout)) {
      gnuTar = undefined;
      throw imageError(`minipod needs GNU tar to import images; "tar --version" said: ${(stdout || stderr).split('\n')[0]}`, 'ERR_IMAGE_NO_GNU_TAR');
    }
  })();
  return gnuTar;
}

/** Import `source` (a directory or a tarball) into `dest`, an existing empty directory. */
export async function unpack(source: string, dest: string, what: string): Promise<UnpackResult> {
  let st: fs.Stats;
  try {
    st = await fsp.stat(source);
  } catch (err) {
    throw wrapSystemError(`${what}: source`, err);
  }
  if (st.isDirectory()) return copyRootfsDir(source, dest, what);
  if (st.isFile()) return unpackTar(source, dest, what);
  throw imageError(`${what}: source ${JSON.stringify(source)} is neither a directory nor a tar file`, 'ERR_IMAGE_BAD_SOURCE');
}

/** Copy a rootfs tree. cp -a keeps owners, modes, links, devices, xattrs; -x skips mounts. */
export async function copyRootfsDir(source: string, dest: string, what: string): Promise<UnpackResult> {
  // `source/.` copies the contents (and the attributes of the top directory) even when
  // `source` is a symlink to the tree. (Not path.join: it would drop the "/.".)
  const r = await run('cp', ['-a', '--reflink=auto', '-x', '--', `${source.replace(/\/+$/, '')}/.`, dest]);
  if (r.code !== 0) throw imageError(`${what}: copying ${JSON.stringify(source)} failed: ${lastLines(r.stderr)}`, 'ERR_IMAGE_COPY');
  const { size, entries } = await measureTree(dest);
  return { source: { type: 'dir', path: path.resolve(source) }, size, entries };
}

/** Apparent size of regular files (each inode once) and entry count of a tree. */
export async function measureTree(dir: string): Promise<{ size: number; entries: number }> {
  const seen = new Set<number>();
  let size = 0;
  let entries = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      entries++;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const s = await fsp.lstat(p);
        if (s.nlink > 1) {
          if (seen.has(s.ino)) continue;
          seen.add(s.ino);
        }
        size += s.size;
      }
    }
  };
  await walk(dir);
  return { size, entries };
}

export async function unpackTar(source: string, dest: string, what: string): Promise<UnpackResult> {
  await ensureGnuTar();
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(source, 'r');
  } catch (err) {
    throw wrapSystemError(`${what}: source`, err);
  }
  try {
    const before = await fh.stat();
    const head = Buffer.alloc(6);
    fs.readSync(fh.fd, head, 0, head.length, 0);
    const compression = detectCompression(head);
    const scanner = new TarScanner(what);
    const summary = compression === 'none' ? await extractPlain(fh, before, dest, scanner, what) : await extractStream(fh.fd, compression, dest, scanner, what);
    return { source: { type: 'tar', path: path.resolve(source), compression }, ...summary, size: summary.bytes };
  } finally {
    await fh.close();
  }
}

async function extractPlain(fh: fsp.FileHandle, before: fs.Stats, dest: string, scanner: TarScanner, what: string) {
  // Synchronous positional reads: an async read per 64 KiB costs a thread-pool round trip
  // each, which is most of the scan time. Yield now and then so timers still run.
  const buf = Buffer.allocUnsafe(64 * 1024);
  let pos = 0;
  for (let reads = 1; !scanner.ended; reads++) {
    const n = fs.readSync(fh.fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    scanner.write(n === buf.length ? buf : buf.subarray(0, n));
    pos += n + scanner.takeSkip();
    if (reads % 256 === 0) await tick();
  }
  const summary = scanner.finish();
  // tar reads the very file we scanned (same open file description, offset still 0).
  const tar = spawn('tar', tarExtractArgs(dest), { stdio: [fh.fd, 'ignore', 'pipe'], env: toolEnv() });
  const res = await finished(tar);
  if (res.code !== 0) throw tarFailed(what, res);
  const after = await fh.stat();
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs || after.ino !== before.ino) {
    throw imageError(`${what}: the source file changed during the import`, 'ERR_IMAGE_SOURCE_CHANGED');
  }
  return summary;
}

async function extractStream(fd: number, compression: Compression, dest: string, scanner: TarScanner, what: string) {
  const dec = spawn(compression, ['-d', '-c'], { stdio: [fd, 'pipe', 'pipe'], env: toolEnv() });
  const decDone = finished(dec);
  const tar = spawn('tar', tarExtractArgs(dest), { stdio: ['pipe', 'ignore', 'pipe'], env: toolEnv() });
  const tarDone = finished(tar);
  const stdin = tar.stdin!;
  stdin.on('error', () => {}); // EPIPE when tar stops early: its exit status tells why
  let complete = false;
  try {
    for await (const chunk of dec.stdout! as AsyncIterable<Buffer>) {
      const n = scanner.write(chunk); // throws before anything of a refused entry is forwarded
      if (n > 0 && !stdin.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await drained(stdin);
      if (scanner.ended || stdin.destroyed) break;
    }
    if (!scanner.ended && stdin.destroyed) throw tarFailed(what, await tarDone); // tar gave up first
    const dres = scanner.ended ? undefined : await decDone;
    if (dres?.error || (dres && dres.code !== 0)) {
      const why = dres.error?.code === 'ENOENT' ? `the ${compression} program is not installed` : lastLines(dres.stderr) || `exit ${dres.code}`;
      throw imageError(`${what}: cannot decompress the ${compression} archive: ${why}`, 'ERR_IMAGE_DECOMPRESS');
    }
    const summary = scanner.finish();
    // Two zero blocks: tar sees a proper end of archive without the rest of the input.
    if (!stdin.destroyed) stdin.end(Buffer.alloc(512));
    const res = await tarDone;
    if (res.code !== 0) throw tarFailed(what, res);
    complete = true;
    return summary;
  } finally {
    if (!complete) {
      tar.kill('SIGKILL');
      await tarDone;
    }
    if (dec.exitCode === null && dec.signalCode === null) dec.kill('SIGTERM');
    await decDone;
  }
}

function tarFailed(what: string, res: RunResult): Error {
  if (res.error) return wrapSystemError(`${what}: cannot run tar`, res.error);
  return imageError(`${what}: tar failed (${res.signal ? `signal ${res.signal}` : `exit ${res.code}`}): ${lastLines(res.stderr)}`, 'ERR_IMAGE_EXTRACT');
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

/** Wait for a child; collects stderr (the last 8 KiB) and never rejects. */
function finished(child: ChildProcess): Promise<RunResult> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-8192);
  });
  return new Promise((resolve) => {
    let error: NodeJS.ErrnoException | undefined;
    child.on('error', (e) => {
      error = e;
      // A child that never started emits no 'close' of its own process.
      if (child.pid === undefined) resolve({ code: null, signal: null, stdout: '', stderr, error });
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout: '', stderr, error }));
  });
}

/** Run a command to completion, capturing its output. */
export function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: toolEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
    child.on('error', (error: NodeJS.ErrnoException) => resolve({ code: null, signal: null, stdout, stderr, error }));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function drained(w: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
  });
}

function lastLines(s: string, n = 6): string {
  return s.trim().split('\n').slice(-n).join('; ');
}
