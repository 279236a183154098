// Processes and their memory, from /proc: what a runtime leaves running per pod.

import fs from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  argv: string[];
}

function read(p: string): string | null {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return null; // the process exited meanwhile
  }
}

export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = read(`/proc/${d}/stat`);
    if (!stat) continue;
    // comm is in parentheses and may contain spaces: parse around the last ')'
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(' ');
    const argv = (read(`/proc/${d}/cmdline`) ?? '').split('\0').filter(Boolean);
    out.push({ pid: Number(d), ppid: Number(ppid), comm, state, argv });
  }
  return out;
}

/** Live (non-zombie) processes whose comm is one of `names`. */
export function live(names: string[]): Proc[] {
  return processes().filter((p) => p.state !== 'Z' && names.includes(p.comm));
}

export interface Memory {
  /** VmRSS, kB. */
  rss: number;
  /** Pss from smaps_rollup, kB: shared pages divided among their users. */
  pss: number;
}

function kb(text: string | null, key: string): number {
  const m = text?.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${key} in /proc`);
  return Number(m[1]);
}

export function memory(pid: number): Memory {
  return { rss: kb(read(`/proc/${pid}/status`), 'VmRSS'), pss: kb(read(`/proc/${pid}/smaps_rollup`), 'Pss') };
}

export interface Member {
  role: string;
  pid: number;
}

/** The memory of a set of processes, summed, with the per-process figures for the report. */
export function sumMemory(members: Member[]): { total: Memory; parts: { role: string; pid: number; mem: Memory }[] } {
  const parts = members.map((m) => ({ ...m, mem: memory(m.pid) }));
  return {
    total: parts.reduce((a, p) => ({ rss: a.rss + p.mem.rss, pss: a.pss + p.mem.pss }), { rss: 0, pss: 0 }),
    parts,
  };
}
