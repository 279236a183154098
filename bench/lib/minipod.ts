// Driving minipod through its CLI, as a user would: bin/minipod, with the bench's state root.

import fs from 'node:fs';
import path from 'node:path';

import type { Ctx } from './context.ts';
import { attempt, benchEnv, must, run, type Ran } from './exec.ts';
import { processes, type Member } from './proc.ts';

export class Minipod {
  readonly bin: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(private ctx: Ctx) {
    this.bin = path.join(ctx.repo, 'bin/minipod');
    this.env = benchEnv({ MINIPOD_ROOT: ctx.root });
  }

  run(args: string[]): Ran {
    return run(this.bin, args, this.env);
  }

  must(args: string[]): number {
    return must(this.bin, args, this.env);
  }

  /** `minipod run -d FILE`: returns once every container has started. */
  up(file: string): number {
    return this.must(['run', '-d', file]);
  }

  /**
   * `minipod rm -f`: SIGKILL at once. podman kube down stops with a zero timeout (it passes
   * PodStopOptions{} whose Timeout is 0), i.e. also without a grace period; a plain
   * `minipod rm` would wait terminationGracePeriodSeconds for httpd, which as a pid
   * namespace's PID 1 without a SIGTERM handler never dies of SIGTERM (in any runtime).
   */
  down(...pods: string[]): number {
    return this.must(['rm', '-f', ...pods]);
  }

  /** Names of every pod under the bench root, running or not. */
  pods(): string[] {
    const names = new Set<string>();
    for (const d of ['run/pods', 'lib/pods']) {
      try {
        for (const n of fs.readdirSync(path.join(this.ctx.root, d))) names.add(n);
      } catch {
        // no pods yet
      }
    }
    return [...names];
  }

  removeAll(): void {
    const pods = this.pods();
    if (pods.length) attempt(this.bin, ['rm', '-f', ...pods], this.env);
  }

  /** What minipod keeps running for one pod: its supervisor and the pause process. */
  helpers(pod: string): Member[] {
    const all = processes();
    const dir = path.join(this.ctx.root, 'run/pods', pod);
    const shim = all.find((p) => p.comm === 'minipod-shim' && p.state !== 'Z' && p.argv.includes(dir));
    if (!shim) throw new Error(`no minipod-shim for ${dir}`);
    const pause = all.filter((p) => p.ppid === shim.pid && p.comm === 'minipod-pause' && p.state !== 'Z');
    if (pause.length !== 1) throw new Error(`expected one minipod-pause under shim ${shim.pid}, found ${pause.length}`);
    return [
      { role: 'minipod-shim', pid: shim.pid },
      { role: 'minipod-pause', pid: pause[0].pid },
    ];
  }
}
