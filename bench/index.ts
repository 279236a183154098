// minipod's side-by-side benchmark: every row for minipod and its peers in one run.
//
//   sudo bench/run.sh [--quick] [--rows P1,P3,...] [--out FILE]
//
// bench/run.sh installs the peers and calls this with NODE_EXTRA_CA_CERTS unset. Rows:
//   P1/P2/P5  pod up until serving, teardown, memory per pod (rows/pod-lifecycle.ts)
//   P3        one container running `true` (rows/one-container.ts)
//   P4        1, 10, 50 pods up then down (rows/many-pods.ts)
//   P6        unpack of a ~50 MB rootfs tarball (rows/image-import.ts)
// Prints the table and writes it as markdown (default bench/results/latest.md).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { log, repoDir, type Ctx } from './lib/context.ts';
import { Minipod } from './lib/minipod.ts';
import { Podman } from './lib/podman.ts';
import { markdownTable, textTable } from './lib/report.ts';
import type { Comparison } from './lib/result.ts';
import { machine } from './lib/machine.ts';
import { summarize } from './lib/stats.ts';
import { imageImport } from './rows/image-import.ts';
import { manyPods } from './rows/many-pods.ts';
import { oneContainer } from './rows/one-container.ts';
import { podLifecycle } from './rows/pod-lifecycle.ts';

interface Args {
  quick: boolean;
  rows: Set<string>;
  out: string;
  work: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, rows: new Set(['P1', 'P2', 'P3', 'P4', 'P5', 'P6']), out: path.join(repoDir, 'bench/results/latest.md'), work: '' };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i] ?? usage(`${argv[i - 1]} needs a value`);
    switch (argv[i]) {
      case '--quick':
        a.quick = true;
        break;
      case '--rows':
        a.rows = new Set(v().toUpperCase().split(','));
        break;
      case '--out':
        a.out = path.resolve(v());
        break;
      case '--work':
        a.work = path.resolve(v());
        break;
      default:
        usage(`unknown argument ${argv[i]}`);
    }
  }
  if (!a.work) usage('--work DIR is required (bench/run.sh passes it)');
  return a;
}

function usage(msg: string): never {
  process.stderr.write(`bench: ${msg}\nusage: sudo bench/run.sh [--quick] [--rows P1,P2,P3,P4,P5,P6] [--out FILE]\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.env.NODE_EXTRA_CA_CERTS) usage('NODE_EXTRA_CA_CERTS is set: it adds ~80 ms to every Node start; run through bench/run.sh');
  const ctx: Ctx = {
    repo: repoDir,
    work: args.work,
    root: path.join(args.work, 'minipod-root'),
    podFile: path.join(repoDir, 'bench/pod.yaml'),
    hostPort: 8888,
    body: 'hello from writer',
    runs: args.quick
      ? { pod: 3, spawn: 20, e2e: 5, many: { 1: 1, 10: 1 }, import: 3 }
      : { pod: 10, spawn: 100, e2e: 20, many: { 1: 5, 10: 3, 50: 1 }, import: 10 },
    log,
  };
  const counts = Object.keys(ctx.runs.many).map(Number);
  const mp = new Minipod(ctx);
  const pm = new Podman();
  const has = (r: string) => args.rows.has(r);
  const rows: Comparison[] = [];
  const notes: string[] = [];
  const started = Date.now();
  const loadBefore = os.loadavg()[0];

  if (has('P1') || has('P2') || has('P3') || has('P4') || has('P5')) {
    // the busybox tree bench/peers.sh built, as minipod's image
    mp.must(['image', 'import', 'localhost/busybox:latest', path.join(ctx.work, 'busybox.tar')]);
  }
  pm.removeBenchPods();
  try {
    if (has('P3')) {
      log('P3: one container running true');
      rows.push(...(await oneContainer(ctx, mp)));
    }
    if (has('P1') || has('P2') || has('P5')) {
      log('P1/P2/P5: the bench pod up, memory, down');
      const r = await podLifecycle(ctx, mp, pm);
      rows.unshift(...r.rows.filter((c) => has(c.row.slice(0, 2))));
      if (has('P5')) {
        notes.push(
          'P5 breakdown (median PSS per role): ' +
            r.breakdown.map((b) => `${b.runtime} ${b.role} ${(summarize(b.pssKb).median / 1024).toFixed(2)} MB`).join(', '),
        );
      }
    }
    if (has('P4')) {
      log(`P4: ${counts.join(', ')} pods`);
      rows.push(...(await manyPods(ctx, mp, pm, counts)));
    }
    if (has('P6')) {
      log('P6: image import vs GNU tar');
      const r = await imageImport(ctx);
      rows.push(...r.rows);
      notes.push(`P6 tarball: ${r.description}`);
    }
  } finally {
    mp.removeAll();
    pm.removeBenchPods();
  }

  rows.sort((x, y) => x.row.slice(0, 2).localeCompare(y.row.slice(0, 2)));
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const mins = ((Date.now() - started) / 60000).toFixed(1);
  process.stdout.write(`\n${textTable(rows)}\n\n${notes.join('\n')}\n`);
  const md = [
    `# minipod benchmark, ${when}${args.quick ? ' (--quick)' : ''}`,
    '',
    `Machine: ${machine()}.`,
    '',
    'Command: `sudo bench/run.sh` (the CLI runs without NODE_EXTRA_CA_CERTS). Times are wall clock from the start of a command to its exit (P1: to the first HTTP 200 with the writer\'s page on 127.0.0.1:8888); minipod and its peers alternate within every row. Ratio = median(minipod) / median(peer).',
    '',
    markdownTable(rows),
    '',
    ...notes.map((n) => `- ${n}`),
    `- ${mins} minutes for the whole run; 1-minute load average ${loadBefore.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end (other work on the machine makes every figure noisier and larger).`,
    '',
  ].join('\n');
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, md);
  log(`wrote ${args.out}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
