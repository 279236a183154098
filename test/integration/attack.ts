// Pieces of the attack tests: static helper programs an attacker runs inside a root
// container (built here with gcc -static from test/fixtures, mounted through a read-only
// hostPath), and small readers of what minipod and the kernel say.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { repo, type TestHost } from './helpers.ts';

let dir: string | undefined;

/** Builds test/fixtures/NAME.c as a static binary; returns the directory holding them. */
export function attackTools(...names: string[]): string {
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-attack-'));
    process.once('exit', () => rmSync(dir!, { recursive: true, force: true }));
  }
  for (const n of names) {
    execFileSync('cc', ['-static', '-O2', '-Wall', '-o', path.join(dir, n), path.join(repo, 'test', 'fixtures', `${n}.c`)], { stdio: 'pipe' });
  }
  return dir;
}

export interface ContainerStatus {
  name: string;
  pid?: number;
  ready: boolean;
  restartCount: number;
  state: Record<string, { exitCode?: number; reason?: string; message?: string }>;
}

export interface Inspected {
  status: { phase: string; podIP?: string; containerStatuses: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  minipod: { pausePid?: number; supervisorPid?: number };
}

export async function inspect(h: TestHost, name: string): Promise<Inspected> {
  const r = await h.cli(['inspect', name]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Inspected;
}

export function statusOf(i: Inspected, container: string): ContainerStatus | undefined {
  return [...i.status.containerStatuses, ...(i.status.initContainerStatuses ?? [])].find((c) => c.name === container);
}

/** The Cap* lines of /proc/PID/status as numbers. */
export function capsOf(status: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)) out[m[1]] = BigInt(`0x${m[2]}`);
  return out;
}

/** The options of the overlay mounted at / in a process's mount namespace. */
export function rootOverlayOptions(pid: number): string {
  const line = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/' && l.includes(' - overlay '));
  return line ?? '';
}
