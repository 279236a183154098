// Reading container logs: CRI files written by the supervisor, one per start of a
// container (LOGDIR/N.log, N = restartCount at that start).
//   <RFC3339Nano> <stdout|stderr> <P|F> <text>   (P: the line continues in the next entry)

import { closeSync, existsSync, openSync, readSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { MinipodError } from '../errors.ts';
import { logDir } from '../plan/container.ts';
import type { PodDirs } from '../state/paths.ts';
import type { ContainerStatus } from '../state/status.ts';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

const CRI = /^(\S+) (stdout|stderr) ([PF]) (.*)$/;

/** Parses CRI text, joining partial (P) entries to their line. Incomplete last lines wait. */
export class CriParser {
  private rest = '';
  private partial: Partial<Record<'stdout' | 'stderr', string>> = {};

  push(chunk: string): LogLine[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    const out: LogLine[] = [];
    for (const l of lines) {
      const m = CRI.exec(l);
      if (!m) continue;
      const stream = m[2] as 'stdout' | 'stderr';
      if (m[3] === 'P') {
        this.partial[stream] = (this.partial[stream] ?? '') + m[4];
        continue;
      }
      out.push({ time: m[1], stream, text: (this.partial[stream] ?? '') + m[4] });
      delete this.partial[stream];
    }
    return out;
  }
}

export function logFile(dirs: PodDirs, container: string, n: number): string {
  return path.join(logDir(dirs, container), `${n}.log`);
}

/** Which file holds the current (or, with previous, the last finished) run. */
export function logIndex(status: ContainerStatus | undefined, previous: boolean, container: string): number {
  const n = status?.restartCount ?? 0;
  if (!previous) return n;
  if (n === 0) throw new MinipodError(`previous terminated container "${container}" not found`, { exitCode: 1 });
  return n - 1;
}

export function readLog(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  return new CriParser().push(readFileSync(file, 'utf8') + '\n');
}

export function formatLine(l: LogLine, timestamps: boolean): string {
  return timestamps ? `${l.time} ${l.text}\n` : `${l.text}\n`;
}

/**
 * Follows a log file from an offset: calls emit for each new line until stop() says the
 * writer is done and nothing more came. Polls (the file is appended by another process).
 */
export async function follow(file: string, from: number, emit: (l: LogLine) => void, stop: () => boolean, intervalMs = 100): Promise<void> {
  const parser = new CriParser();
  let pos = from;
  const buf = Buffer.alloc(65536);
  let finishing = false;
  for (;;) {
    let grew = false;
    if (existsSync(file) && statSync(file).size > pos) {
      const fd = openSync(file, 'r');
      try {
        let n;
        while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
          pos += n;
          grew = true;
          for (const l of parser.push(buf.subarray(0, n).toString('utf8'))) emit(l);
        }
      } finally {
        closeSync(fd);
      }
    }
    if (grew) continue;
    if (finishing) return;
    if (stop()) finishing = true; // one more read: the last lines may have come just now
    else await sleep(intervalMs);
  }
}
