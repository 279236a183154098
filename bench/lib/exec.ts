// Running the commands under test, timed from spawn to exit.
//
// spawnSync, not spawn: the harness has nothing else to do while a command runs, and a
// blocking wait adds no event-loop latency to the figure. Output goes to a file, never to a
// pipe: `minipod run -d` leaves a supervisor behind, and a pipe it inherited would keep
// spawnSync waiting for that supervisor's exit instead of the command's.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Children run without NODE_EXTRA_CA_CERTS (unless `extra` sets it): it can cost ~80 ms at every Node start. */
export function benchEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return { ...env, ...extra };
}

const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-log-'));
const logFile = path.join(logDir, 'out.log');
process.on('exit', () => fs.rmSync(logDir, { recursive: true, force: true }));

export interface Ran {
  ms: number;
  status: number | null;
  output: string;
}

/** Runs a command to its exit and returns the wall time; stdout+stderr are kept for errors. */
export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = benchEnv()): Ran {
  const fd = fs.openSync(logFile, 'w');
  try {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', fd, fd], env });
    const ms = performance.now() - t0;
    if (r.error) throw r.error;
    return { ms, status: r.status, output: fs.readFileSync(logFile, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** run(), throwing with the command's output when it fails. */
export function must(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const r = run(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.output.trim()}`);
  return r.ms;
}

/** Best effort (cleanup): never throws. */
export function attempt(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  try {
    run(cmd, args, env);
  } catch {
    // cleanup is best effort
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
