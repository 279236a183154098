// Benchmark: minipod's image import of a ~50 MB rootfs tarball against plain GNU tar.
//
//   node --import tsx bench/image-import.ts [--runs N] [--dir DIR] [--mb MB] [--compress gzip|zstd|xz]
//                                           [--cleanup-each]
//
// Builds, under a temporary directory in DIR (default: the OS temp dir; the filesystem
// matters, so pass e.g. a tmpfs to take the disk out), the busybox tree of
// rootfs/build-busybox.sh plus a deterministic mix (bench/image-tree.ts), tars it, then
// measures N rounds (default 10), the variants rotating their order every round:
//   tar -xf          plain `tar -xf FILE -C fresh-dir` (the goal's baseline)
//   tar (minipod's flags)  the same tar with minipod's preserve-everything flags, reading stdin
//   minipod import   importImage() in this process: scan + extract + config + index + lock
//   minipod image import (CLI)  the same through bin/minipod, Node start included
// Each timed run extracts into a fresh directory on the same filesystem; the results are only
// deleted after the last run (so about runs x 4 x 50 MB of space is needed): on ext4 mounted
// with `discard`, deleting a tree makes the next extraction 10x slower for a while, which
// would measure the disk, not the import. On tmpfs, --cleanup-each (delete after every timed
// run, outside the timing) is steadier: it reuses memory pages instead of touching new ones. The goal is minipod import <= 1.2 x tar -xf.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importImage, removeImage, tarExtractArgs } from '../src/image/index.ts';
import type { StateRoots } from '../src/state/paths.ts';
import { buildBenchTree } from './image-tree.ts';

export interface ImportOpts {
  runs: number;
  dir: string;
  mb: number;
  compress?: 'gzip' | 'zstd' | 'xz';
  cleanupEach: boolean;
}

function parseArgs(argv: string[]): ImportOpts {
  const o: ImportOpts = { runs: 10, dir: os.tmpdir(), mb: 50, cleanupEach: false };
  for (let i = 0; i < argv.length; i++) {
    const v = (): string => argv[++i] ?? fail(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--runs':
        o.runs = Number(v());
        break;
      case '--dir':
        o.dir = v();
        break;
      case '--mb':
        o.mb = Number(v());
        break;
      case '--cleanup-each':
        o.cleanupEach = true;
        break;
      case '--compress': {
        const c = v();
        if (c !== 'gzip' && c !== 'zstd' && c !== 'xz') fail(`--compress: gzip, zstd or xz, not ${c}`);
        o.compress = c;
        break;
      }
      default:
        fail(`unknown argument ${argv[i]}`);
    }
  }
  if (!(o.runs >= 1) || !(o.mb >= 5)) fail('--runs must be >= 1 and --mb >= 5');
  return o;
}

function fail(msg: string): never {
  process.stderr.write(`image-import bench: ${msg}\n`);
  process.exit(2);
}

function spawnWait(cmd: string, args: string[], stdin: 'ignore' | number = 'ignore', env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: [stdin, 'ignore', 'inherit'], env });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}`))));
  });
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
};

export interface ImportResult {
  /** Size of the tarball, bytes, and a one-line description of its content. */
  size: number;
  description: string;
  /** Timings per variant ('tar -xf', "tar (minipod's flags)", 'minipod import'), ms. */
  times: Map<string, number[]>;
}

/** Builds the tarball, measures the variants interleaved, removes everything it made. */
export async function measureImport(o: ImportOpts): Promise<ImportResult> {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const base = fs.mkdtempSync(path.join(path.resolve(o.dir), 'minipod-bench-'));
  try {
    const tree = path.join(base, 'tree');
    const r = spawnSync(path.join(repo, 'rootfs/build-busybox.sh'), ['--no-import', '--dir', tree], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) fail('rootfs/build-busybox.sh failed');
    const mix = buildBenchTree(tree, o.mb * 1e6);
    let tarball = path.join(base, 'rootfs.tar');
    await spawnWait('tar', ['--create', `--file=${tarball}`, `--directory=${tree}`, '--sort=name', '--mtime=@0', '--numeric-owner', '--format=gnu', '.']);
    if (o.compress) {
      await spawnWait(o.compress, ['-k', '-q', tarball]);
      tarball += { gzip: '.gz', zstd: '.zst', xz: '.xz' }[o.compress];
    }
    fs.rmSync(tree, { recursive: true, force: true });
    const size = fs.statSync(tarball).size;
    const description = `${(size / 1e6).toFixed(1)} MB${o.compress ? ` (${o.compress})` : ''}; ${mix.files} files, ${mix.symlinks} symlinks, ${mix.hardlinks} hard links, ${mix.devices} device nodes, ${mix.fifos} FIFOs, setuid file; filesystem of ${base}`;

    const roots: StateRoots = { lib: path.join(base, 'root/lib'), run: path.join(base, 'root/run') };
    const out = path.join(base, 'out');
    fs.mkdirSync(out);
    const zflag = o.compress ? [`--use-compress-program=${o.compress}`] : [];
    const variants: { name: string; run: (i: number) => Promise<void>; cleanup: (i: number) => Promise<void> }[] = [
      {
        name: 'tar -xf',
        run: async (i) => {
          const d = path.join(out, `plain-${i}`);
          fs.mkdirSync(d);
          await spawnWait('tar', ['-xf', tarball, ...zflag, '-C', d]);
        },
        cleanup: async (i) => fs.rmSync(path.join(out, `plain-${i}`), { recursive: true, force: true }),
      },
      {
        name: "tar (minipod's flags)",
        run: async (i) => {
          const d = path.join(out, `flags-${i}`);
          fs.mkdirSync(d);
          const fd = fs.openSync(tarball, 'r');
          try {
            await spawnWait('tar', [...tarExtractArgs(d), ...zflag], fd);
          } finally {
            fs.closeSync(fd);
          }
        },
        cleanup: async (i) => fs.rmSync(path.join(out, `flags-${i}`), { recursive: true, force: true }),
      },
      {
        name: 'minipod import',
        run: async (i) => {
          await importImage(roots, `bench:run${i}`, tarball);
        },
        cleanup: async (i) => {
          await removeImage(roots, `bench:run${i}`);
        },
      },
      {
        // The same import through the command, Node start included (without
        // NODE_EXTRA_CA_CERTS, which would add ~80 ms to every Node start).
        name: 'minipod image import (CLI)',
        run: async (i) => {
          const env: NodeJS.ProcessEnv = { ...process.env, MINIPOD_ROOT: path.join(base, 'root') };
          delete env.NODE_EXTRA_CA_CERTS;
          await spawnWait(path.join(repo, 'bin/minipod'), ['image', 'import', `bench:cli${i}`, tarball], 'ignore', env);
        },
        cleanup: async (i) => {
          await removeImage(roots, `bench:cli${i}`);
        },
      },
    ];
    const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
    await variants[2].run(-1); // warm-up: page cache, GNU tar check, module JIT
    await variants[2].cleanup(-1);
    for (let i = 0; i < o.runs; i++) {
      // Rotate the order so that none always runs right after the others' deletions.
      const order = variants.map((_, k) => variants[(k + i) % variants.length]);
      for (const v of order) {
        const t0 = performance.now();
        await v.run(i);
        times.get(v.name)!.push(performance.now() - t0);
        if (o.cleanupEach) await v.cleanup(i);
      }
    }
    if (!o.cleanupEach) for (let i = 0; i < o.runs; i++) for (const v of variants) await v.cleanup(i);
    return { size, description, times };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const { description, times } = await measureImport(o);
  console.log(`tarball: ${description}`);
  console.log(`${o.runs} runs each, interleaved`);
  console.log(`${'variant'.padEnd(28)}${'median ms'.padStart(10)}${'min'.padStart(9)}${'max'.padStart(9)}`);
  for (const [name, xs] of times) {
    const s = stats(xs);
    console.log(`${name.padEnd(28)}${s.median.toFixed(1).padStart(10)}${s.min.toFixed(1).padStart(9)}${s.max.toFixed(1).padStart(9)}`);
  }
  const med = (n: string) => stats(times.get(n)!).median;
  const ratio = med('minipod import') / med('tar -xf');
  console.log(`ratio minipod import / tar -xf (medians): ${ratio.toFixed(2)}x (goal <= 1.20x)`);
  console.log(`ratio minipod import / tar with minipod's flags (medians): ${(med('minipod import') / med("tar (minipod's flags)")).toFixed(2)}x`);
}

// Run as a script (node --import tsx bench/image-import.ts); bench/index.ts imports measureImport.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
