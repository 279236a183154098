// The results table: one line per comparison, as text for the terminal and as markdown.

import { goalMet, ratio, type Comparison, type Sample } from './result.ts';
import { summarize } from './stats.ts';

function num(v: number, unit: Sample['unit']): string {
  if (Number.isNaN(v)) return '–';
  if (unit === 'kB') return `${(v / 1024).toFixed(2)} MB`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${v.toFixed(0)} ms`;
  if (v >= 10) return `${v.toFixed(1)} ms`;
  return `${v.toFixed(2)} ms`;
}

function cells(s: Sample | undefined): string[] {
  if (!s) return ['', '', '', '', ''];
  const m = summarize(s.values);
  return [s.label, num(m.median, s.unit), num(m.min, s.unit), num(m.max, s.unit), String(m.n)];
}

const HEAD = ['row', 'minipod', 'median', 'min', 'max', 'n', 'vs', 'median', 'min', 'max', 'n', 'ratio', 'goal'];

function line(c: Comparison): string[] {
  const r = ratio(c);
  const met = goalMet(c);
  const goal = c.goal ? `${c.goal.text}: ${met ? 'met' : 'MISSED'}` : (c.note ?? '');
  const goalCell = c.goal && c.note ? `${goal} (${c.note})` : goal;
  return [c.row, ...cells(c.a), ...cells(c.b), r === undefined ? '' : `${r.toFixed(2)}×`, goalCell];
}

export function markdownTable(rows: Comparison[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map((_, i) => ([2, 3, 4, 5, 7, 8, 9, 10, 11].includes(i) ? '---:' : '---')).join('|')}|`,
    ...rows.map((c) => `| ${line(c).map(esc).join(' | ')} |`),
  ].join('\n');
}

export function textTable(rows: Comparison[]): string {
  const all = [HEAD, ...rows.map(line)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
