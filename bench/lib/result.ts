// What a row produces: named samples, and comparisons between two of them.

import { summarize, type Summary } from './stats.ts';

export type Unit = 'ms' | 'kB';

export interface Sample {
  /** What was measured, e.g. "minipod run -d" or "podman kube play (crun)". */
  label: string;
  unit: Unit;
  values: number[];
}

export interface Comparison {
  row: string;
  /** minipod's side. */
  a: Sample;
  /** The peer (or the reference) it is compared with; absent for a reference line. */
  b?: Sample;
  /** Goal on median(a) / median(b). */
  goal?: { max: number; text: string };
  note?: string;
}

export function sample(label: string, unit: Unit = 'ms'): Sample {
  return { label, unit, values: [] };
}

export function ratio(c: Comparison): number | undefined {
  if (!c.b) return undefined;
  return summarize(c.a.values).median / summarize(c.b.values).median;
}

export function goalMet(c: Comparison): boolean | undefined {
  const r = ratio(c);
  return c.goal && r !== undefined ? r <= c.goal.max : undefined;
}

export type { Summary };
