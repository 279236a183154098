// Running the host's network tools (ip, nsenter, nft, conntrack): found in the sbin
// directories even when PATH lacks them (a supervisor or a sudo environment), fed on
// stdin so one process applies a whole batch.

import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

import { MinipodError } from '../errors.ts';

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

const found = new Map<string, string>();
const PACKAGE: Record<string, string> = { ip: 'iproute2', nft: 'nftables', conntrack: 'conntrack', nsenter: 'util-linux' };

/** Absolute path of a tool, or undefined when it is not installed. */
export function findTool(name: string): string | undefined {
  const hit = found.get(name);
  if (hit) return hit;
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      accessSync(p, constants.X_OK);
      found.set(name, p);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function toolPath(name: string): string {
  const p = findTool(name);
  if (!p) throw new MinipodError(`pod networking needs the \`${name}\` command (package ${PACKAGE[name] ?? name}), which is not installed`, { code: 'ENOENT' });
  return p;
}

/** Runs a tool to completion; never rejects for a non-zero exit (the caller decides). */
export function runTool(name: string, args: string[], input?: string): Promise<ToolResult> {
  const file = toolPath(name);
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(input ?? '');
  });
}

/** Runs a tool and throws a MinipodError saying what failed when it exits non-zero. */
export async function mustRun(what: string, name: string, args: string[], input?: string): Promise<ToolResult> {
  const r = await runTool(name, args, input);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(0, 6).join('; ');
    throw new MinipodError(`${what}: \`${[name, ...args].join(' ')}\` failed (exit ${r.code}): ${detail}`, { code: 'ERR_MINIPOD_NET' });
  }
  return r;
}
