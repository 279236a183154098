// Where minipod's time goes: `sudo bench/run.sh --profile`.
//
//   1. starts: `node -e 0` (with and without NODE_EXTRA_CA_CERTS), `minipod --help` (the
//      bundle loaded and parsed), `minipod ps` (plus a state read), medians of 20
//   2. `minipod run -d` of the bench pod and `minipod rm -f` under strace -f (execve, exit,
//      fsync, mount and directory syscalls only, through seccomp-bpf to keep the overhead
//      low): when the first helper process starts (= Node start + module load + parse +
//      plan), which programs run and for how long (ip, nft, sysctl ...), how many files are
//      fsynced and renamed, when the command exits. strace slows every traced syscall, so
//      the traced totals are above the untraced ones; the shares are what matter.
//   3. the same two commands under node --cpu-prof: time by kind (idle = waiting for child
//      processes and I/O, GC, Node internals, the bundle) and by minipod function.
// Prints markdown and writes it to bench/results/profile.md (or --out).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { log, repoDir, type Ctx } from './lib/context.ts';
import { benchEnv, must, run, sleep } from './lib/exec.ts';
import { waitServing } from './lib/http.ts';
import { Minipod } from './lib/minipod.ts';
import { summarizeProfile } from './lib/cpuprofile.ts';
import { summarize } from './lib/stats.ts';

const RUNS = 20;

function median(f: () => number, n = RUNS): number {
  f(); // warm-up
  return summarize(Array.from({ length: n }, f)).median;
}

interface Exec {
  pid: number;
  prog: string;
  argv: string;
  start: number;
  end?: number;
}

interface Trace {
  start: number;
  exit: number;
  execs: Exec[];
  syscalls: Map<string, number>;
}

/** Parses `strace -f -ttt` output: execs with their lifetimes, counts of the other syscalls. */
function parseTrace(text: string): Trace {
  const execs = new Map<number, Exec>();
  const all: Exec[] = [];
  const syscalls = new Map<string, number>();
  const pending = new Map<number, [string, string]>();
  let start = Infinity;
  let exit = 0;
  let first = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^(\d+)\s+(\d+\.\d+)\s+(.*)$/);
    if (!m) continue;
    const [pid, ts, rest] = [Number(m[1]), Number(m[2]) * 1000, m[3]];
    if (!first) first = pid;
    start = Math.min(start, ts);
    if (exit) continue; // after the command exited: the pod's own processes
    // an execve interrupted by another process' syscall comes in two lines
    const un = rest.match(/^execve\("([^"]+)", \[(.*?)\].*<unfinished \.\.\.>$/);
    if (un) {
      pending.set(pid, [un[1], un[2]]);
      continue;
    }
    const resumed = /^<\.\.\. execve resumed>.*= 0$/.test(rest) ? pending.get(pid) : undefined;
    const ex = resumed ? [rest, ...resumed] : rest.match(/^execve\("([^"]+)", \[(.*?)\](?:, 0x[0-9a-f]+ \/\* \d+ vars? \*\/)?\) = 0/);
    if (ex) {
      const prev = execs.get(pid);
      if (prev && prev.end === undefined) prev.end = ts; // exec replaced the previous program
      const e: Exec = { pid, prog: path.basename(ex[1]), argv: ex[2].replace(/"/g, '').slice(0, 80), start: ts };
      execs.set(pid, e);
      all.push(e);
      continue;
    }
    if (/^\+\+\+ (exited|killed)/.test(rest)) {
      const e = execs.get(pid);
      if (e && e.end === undefined) e.end = ts;
      if (pid === first) exit = ts;
      continue;
    }
    const sc = rest.match(/^([a-z0-9_]+)\(/) ?? rest.match(/^<\.\.\. ([a-z0-9_]+) resumed>/);
    if (sc && !rest.includes('<unfinished') && !rest.includes('= -1 ')) syscalls.set(sc[1], (syscalls.get(sc[1]) ?? 0) + 1);
  }
  return { start, exit, execs: all, syscalls };
}

/**
 * Runs a minipod command under strace -f until the command itself exits. strace -f would
 * otherwise stay attached to the supervisor `run -d` leaves behind (and wait for it): once the
 * first traced pid has exited, strace is interrupted, which detaches it from the rest.
 */
async function traced(mp: Minipod, args: string[], out: string): Promise<Trace> {
  fs.rmSync(out, { force: true });
  const st = spawn(
    'strace',
    ['-f', '-q', '--seccomp-bpf', '-ttt', '-o', out, '-e', 'trace=execve,fsync,fdatasync,rename,renameat2,mkdir,mkdirat,mount,umount2,unlinkat,rmdir', mp.bin, ...args],
    { env: mp.env, stdio: 'ignore' },
  );
  const gone = new Promise<void>((resolve) => st.on('exit', () => resolve()));
  const deadline = performance.now() + 60000;
  for (;;) {
    const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
    const first = text.match(/^(\d+) /)?.[1];
    if (first && new RegExp(`^${first}\\s+\\S+\\s+\\+\\+\\+ (exited|killed)`, 'm').test(text)) break;
    if (st.exitCode !== null || performance.now() > deadline) break;
    await sleep(20);
  }
  st.kill('SIGINT');
  const timer = setTimeout(() => st.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
  return parseTrace(fs.readFileSync(out, 'utf8'));
}

function describe(title: string, untracedMs: number, t: Trace): string[] {
  const self = t.execs.filter((e) => e.pid === t.execs[0]?.pid);
  const node = self[self.length - 1];
  const children = t.execs.filter((e) => e.pid !== t.execs[0]?.pid);
  const firstChild = children[0];
  const byProg = new Map<string, { n: number; ms: number; open: number }>();
  for (const e of children) {
    const b = byProg.get(e.prog) ?? { n: 0, ms: 0, open: 0 };
    b.n++;
    if (e.end === undefined || e.end > t.exit) b.open++;
    else b.ms += e.end - e.start;
    byProg.set(e.prog, b);
  }
  const lines = [
    `### ${title}`,
    '',
    `Untraced median: ${untracedMs.toFixed(0)} ms. Under strace: ${(t.exit - t.start).toFixed(0)} ms to exit; Node is exec'd at ${node ? (node.start - t.start).toFixed(0) : '–'} ms; the first other process starts at ${firstChild ? (firstChild.start - t.start).toFixed(0) : '–'} ms (before it: Node start, bundle load, manifest, plan, state files).`,
    '',
    '| program | runs | total ms (exited before the command) | still running at exit |',
    '|---|---:|---:|---:|',
    ...[...byProg].map(([p, b]) => `| ${p} | ${b.n} | ${b.ms.toFixed(1)} | ${b.open} |`),
    '',
    'Timeline (ms from start): ' +
      children.map((e) => `${(e.start - t.start).toFixed(0)} ${e.prog}${e.end !== undefined && e.end <= t.exit ? `–${(e.end - t.start).toFixed(0)}` : '…'}`).join(', ') +
      `, ${(t.exit - t.start).toFixed(0)} exit.`,
    '',
    'Syscalls (all processes): ' +
      [...t.syscalls]
        .filter(([k]) => k !== 'execve')
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    '',
  ];
  return lines;
}

async function main(): Promise<void> {
  const work = process.argv[process.argv.indexOf('--work') + 1];
  const outIdx = process.argv.indexOf('--out');
  const outFile = outIdx > 0 ? path.resolve(process.argv[outIdx + 1]) : path.join(repoDir, 'bench/results/profile.md');
  if (!work || process.argv.indexOf('--work') < 0) throw new Error('--work DIR is required (bench/run.sh --profile passes it)');
  const ctx: Ctx = {
    repo: repoDir,
    work,
    root: path.join(work, 'minipod-root'),
    podFile: path.join(repoDir, 'bench/pod.yaml'),
    hostPort: 8888,
    body: 'hello from writer',
    runs: { pod: 0, spawn: 0, e2e: 0, many: {}, import: 0 },
    log,
  };
  const mp = new Minipod(ctx);
  mp.must(['image', 'import', 'localhost/busybox:latest', path.join(work, 'busybox.tar')]);
  const md: string[] = ['## Where minipod\'s time goes', ''];

  log('profile: starts');
  const ca = '/etc/ssl/certs/ca-certificates.crt';
  const starts: [string, number][] = [
    ['`node -e 0`', median(() => must('node', ['-e', '0']))],
    ...(fs.existsSync(ca) ? ([[`\`node -e 0\` with NODE_EXTRA_CA_CERTS=${ca}`, median(() => must('node', ['-e', '0'], benchEnv({ NODE_EXTRA_CA_CERTS: ca })))]] as [string, number][]) : []),
    ['`minipod --help` (Node + bundle load)', median(() => mp.must(['--help']))],
    ['`minipod ps` (no pods)', median(() => mp.must(['ps']))],
    ['`minipod image ls`', median(() => mp.must(['image', 'ls']))],
  ];
  md.push('| start | median ms |', '|---|---:|', ...starts.map(([k, v]) => `| ${k} | ${v.toFixed(1)} |`), '');

  log('profile: run -d / rm -f untraced');
  const up: number[] = [];
  const down: number[] = [];
  for (let i = 0; i < 5; i++) {
    up.push(mp.up(ctx.podFile));
    await waitServing(ctx.hostPort, ctx.body, 30000);
    await sleep(300);
    down.push(mp.down('web'));
  }
  log('profile: run -d / rm -f under strace');
  const tUp = await traced(mp, ['run', '-d', ctx.podFile], path.join(work, 'strace-up.txt'));
  await waitServing(ctx.hostPort, ctx.body, 30000);
  await sleep(300);
  const tDown = await traced(mp, ['rm', '-f', 'web'], path.join(work, 'strace-down.txt'));
  md.push(...describe('`minipod run -d` (the bench pod)', summarize(up).median, tUp));
  md.push(...describe('`minipod rm -f web`', summarize(down).median, tDown));

  log('profile: run -d / rm -f under --cpu-prof');
  const profDir = path.join(work, 'cpuprof');
  const cpu = async (what: string, args: string[], after?: () => Promise<void>) => {
    const d = path.join(profDir, what);
    fs.rmSync(d, { recursive: true, force: true });
    const ms = must('node', ['--cpu-prof', `--cpu-prof-dir=${d}`, mp.bin, ...args], mp.env);
    if (after) await after();
    const p = summarizeProfile(d);
    md.push(
      `### ${what} under node --cpu-prof (${ms.toFixed(0)} ms, profile span ${p.spanMs.toFixed(0)} ms)`,
      '',
      'By kind (ms): ' + p.kinds.slice(0, 10).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') + '.',
      '',
      'Inclusive, minipod functions (ms): ' + p.functions.slice(0, 20).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ') + '.',
      '',
    );
  };
  await cpu('`minipod run -d`', ['run', '-d', ctx.podFile], async () => {
    await waitServing(ctx.hostPort, ctx.body, 30000);
    await sleep(300);
  });
  await cpu('`minipod rm -f web`', ['rm', '-f', 'web']);

  log('profile: run (foreground) of one `true` container under strace');
  const truePod = path.join(work, 'true-pod.yaml');
  fs.writeFileSync(
    truePod,
    'apiVersion: v1\nkind: Pod\nmetadata:\n  name: mpb-true\nspec:\n  restartPolicy: Never\n  containers:\n' +
      '    - name: "true"\n      image: localhost/busybox:latest\n      command: ["/bin/true"]\n',
  );
  const e2e = median(() => mp.must(['run', truePod]), 5);
  md.push(...describe('`minipod run` (foreground, one `true` container, restartPolicy Never)', e2e, await traced(mp, ['run', truePod], path.join(work, 'strace-true.txt'))));
  mp.removeAll();
  run('true', []);

  const text = md.join('\n');
  process.stdout.write(`${text}\n`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, text);
  log(`wrote ${outFile}`);
}

main().catch((err) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
