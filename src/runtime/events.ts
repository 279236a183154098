// A pod's events, as `kubectl describe` and `kubectl get events` show them.
//
// RUN_DIR/events.jsonl holds one JSON object per line: TypeScript writes the first ones
// (Scheduled, Pulling, Pulled: before the supervisor runs), the supervisor every later one as
// it happens (native/shim/events.c: Created, Started, Killing, BackOff, Unhealthy, Failed,
// FailedPostStartHook, Completed, BackoffLimitExceeded, DeadlineExceeded). Repeats of one
// event (same type, reason, container and message) are counted here, as the API server
// counts them.

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { PodDirs } from '../state/paths.ts';

export interface PodEvent {
  time: string;
  type: 'Normal' | 'Warning';
  reason: string;
  /** The container it is about; null: the pod. */
  container: string | null;
  message: string;
  /** Who recorded it: "minipod" (before the supervisor ran) or "supervisor". */
  from?: string;
}

export interface CountedEvent extends PodEvent {
  count: number;
  firstTime: string;
  lastTime: string;
}

export function eventsFile(dirs: PodDirs): string {
  return path.join(dirs.run, 'events.jsonl');
}

export function recordEvent(dirs: PodDirs, e: Omit<PodEvent, 'time'> & { time?: string }): void {
  const line = JSON.stringify({ time: e.time ?? new Date().toISOString(), type: e.type, reason: e.reason, container: e.container, message: e.message, from: e.from ?? 'minipod' });
  appendFileSync(eventsFile(dirs), line + '\n', { mode: 0o600 });
}

/** Every event of the pod, oldest first; a line cut short by a crash is skipped. */
export function readEvents(dirs: PodDirs): PodEvent[] {
  const file = eventsFile(dirs);
  if (!existsSync(file)) return [];
  const out: PodEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as PodEvent;
      if (e && typeof e.reason === 'string') out.push({ ...e, container: e.container ?? null });
    } catch {
      // half a line
    }
  }
  return out;
}

/** Repeats counted: one entry per distinct event, in the order of their last occurrence. */
export function countEvents(events: PodEvent[]): CountedEvent[] {
  const byKey = new Map<string, CountedEvent>();
  for (const e of events) {
    const key = JSON.stringify([e.type, e.reason, e.container, e.message]);
    const seen = byKey.get(key);
    if (seen) {
      seen.count++;
      seen.lastTime = e.time;
      byKey.delete(key); // re-inserted: ordered by last occurrence
      byKey.set(key, seen);
    } else {
      byKey.set(key, { ...e, count: 1, firstTime: e.time, lastTime: e.time });
    }
  }
  return [...byKey.values()];
}

/** kubectl's short durations: 45s, 3m12s, 5h, 2d. */
export function shortAge(fromIso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** kubectl describe's Age column: "12s", or "3s (x4 over 40s)" for a repeated event. */
export function eventAge(e: CountedEvent, now = Date.now()): string {
  return e.count > 1 ? `${shortAge(e.lastTime, now)} (x${e.count} over ${shortAge(e.firstTime, now)})` : shortAge(e.lastTime, now);
}

/** The object column: the pod, or spec.containers{NAME} as kubectl writes a container's. */
export function eventObject(e: PodEvent, pod: string): string {
  return e.container ? `pod/${pod} spec.containers{${e.container}}` : `pod/${pod}`;
}
