// A deterministic mix of files added to a rootfs tree, for the import benchmark: many small
// files in nested directories, a few large ones, relative and absolute symlinks, hard links, a
// setuid binary and a setgid directory, a FIFO and (as root) device nodes. Same seed, same tree.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TreeMix {
  files: number;
  symlinks: number;
  hardlinks: number;
  devices: number;
  fifos: number;
  bytes: number;
}

/** xorshift32: fast, deterministic, and incompressible enough for a tar benchmark. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function fill(buf: Buffer, next: () => number): Buffer {
  const words = buf.length >> 2;
  for (let i = 0; i < words; i++) buf.writeUInt32LE(next(), i * 4);
  for (let i = words * 4; i < buf.length; i++) buf[i] = next() & 0xff;
  return buf;
}

/** Add about `target` bytes of content under `root` (which already holds the busybox tree). */
export function buildBenchTree(root: string, target: number): TreeMix {
  const next = prng(0x6d696e69);
  const mix: TreeMix = { files: 0, symlinks: 0, hardlinks: 0, devices: 0, fifos: 0, bytes: 0 };
  const write = (rel: string, size: number, mode = 0o644): void => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, fill(Buffer.allocUnsafe(size), next), { mode });
    fs.chmodSync(p, mode); // the umask must not decide the mode
    mix.files++;
    mix.bytes += size;
  };

  // ~1/3 of the bytes in small files (100 B - 12 KiB), 2/3 in 4 MiB files.
  const bigSize = 4 << 20;
  const bigCount = Math.max(1, Math.round((target * 2) / 3 / bigSize));
  const smallBudget = target - bigCount * bigSize;
  const small: string[] = [];
  for (let used = 0, i = 0; used < smallBudget; i++) {
    const size = 100 + (next() % 12188);
    const rel = `usr/share/bench/d${String(i % 64).padStart(2, '0')}/s${Math.floor(i / 64) % 8}/f${i}.dat`;
    write(rel, size);
    small.push(rel);
    used += size;
  }
  for (let i = 0; i < bigCount; i++) write(`usr/lib/bench/big${i}.bin`, bigSize);

  // Relative symlinks to small files, and the classic absolute one.
  for (let i = 0; i < 200; i++) {
    const target = small[next() % small.length];
    const link = path.join(root, `usr/share/bench/links/l${i}`);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(root, target)), link);
    mix.symlinks++;
  }
  write('usr/share/zoneinfo/UTC', 114);
  fs.symlinkSync('/usr/share/zoneinfo/UTC', path.join(root, 'etc/localtime'));
  mix.symlinks++;

  // Hard links to small files.
  for (let i = 0; i < 100; i++) {
    const target = small[(i * 37) % small.length];
    const link = path.join(root, `usr/share/bench/hard/h${i}`);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.linkSync(path.join(root, target), link);
    mix.hardlinks++;
  }

  write('usr/bin/bench-setuid', 20_000, 0o755);
  fs.chmodSync(path.join(root, 'usr/bin/bench-setuid'), 0o4755);
  fs.mkdirSync(path.join(root, 'var/mail'), { recursive: true });
  fs.chmodSync(path.join(root, 'var/mail'), 0o2775);

  if (spawnSync('mkfifo', [path.join(root, 'run/initctl')]).status === 0) mix.fifos++;
  if (process.getuid?.() === 0) {
    for (const [name, major, minor] of [['null', 1, 3], ['zero', 1, 5], ['random', 1, 8], ['tty', 5, 0]] as const) {
      if (spawnSync('mknod', ['-m', '0666', path.join(root, 'dev', name), 'c', String(major), String(minor)]).status === 0) mix.devices++;
    }
  }
  return mix;
}
