// Reads a V8 .cpuprofile (node --cpu-prof): where a CLI run spent its time, by function
// (inclusive, functions of minipod's bundle only) and by kind (idle = waiting on a child
// process, a socket or the disk; GC; Node internals).

import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  spanMs: number;
  /** ms per kind: (idle), (garbage collector), minipod bundle, node:internal/..., native */
  kinds: [string, number][];
  /** inclusive ms per bundle function, largest first */
  functions: [string, number][];
}

function kind(cf: CallFrame): string {
  if (cf.functionName.startsWith('(')) return cf.functionName;
  if (cf.url.includes('/dist/minipod.js')) return cf.url.includes('node_modules') ? 'yaml (bundled)' : 'minipod bundle';
  if (cf.url.startsWith('node:')) return cf.url.split('/').slice(0, 2).join('/');
  return cf.url ? path.basename(cf.url) : '(native)';
}

export function summarizeProfile(dir: string): ProfileSummary {
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const p = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const kinds = new Map<string, number>();
  const fns = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const ms = (p.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(id)!.callFrame;
    // the bundled yaml library shows under its original file names (source maps are not read)
    kinds.set(kind(leaf), (kinds.get(kind(leaf)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const cf = byId.get(n)!.callFrame;
      if (!cf.url.includes('/dist/minipod.js') || !cf.functionName) continue;
      if (seen.has(cf.functionName)) continue;
      seen.add(cf.functionName);
      fns.set(cf.functionName, (fns.get(cf.functionName) ?? 0) + ms);
    }
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { spanMs: (p.endTime - p.startTime) / 1000, kinds: sorted(kinds), functions: sorted(fns) };
}
