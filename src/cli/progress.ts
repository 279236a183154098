// Drawing a pull's progress (src/image/pull.ts events), as `docker pull` does.
//
// On a terminal: one line per layer, redrawn in place at most ten times a second —
// `a1b2c3d4e5f6: Downloading  12.3 MB / 58.0 MB  9.8 MB/s`, then "Extracting", then
// "Pull complete" — with a colour for the finished state unless NO_COLOR is set. Elsewhere
// (a log, a pipe): one plain line per change of state, never one per chunk.

import type { PullEvent } from '../image/index.ts';

export interface Renderer {
  event(e: PullEvent | RunPullEvent): void;
  /** Draws the last state (a terminal) and stops redrawing. */
  end(): void;
}

/** What `run` adds: which container an image is pulled for. */
export type RunPullEvent = { type: 'pulling'; ref: string; container: string };

const STATUS: Record<string, string> = {
  exists: 'Already exists',
  waiting: 'Waiting',
  downloading: 'Downloading',
  downloaded: 'Download complete',
  extracting: 'Extracting',
  complete: 'Pull complete',
};

export function mb(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(1)} kB`;
}

function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

export function pullRenderer(out: NodeJS.WriteStream & { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env, prefix = ''): Renderer {
  const tty = !!out.isTTY && env.TERM !== 'dumb';
  const color = tty && env.NO_COLOR === undefined;
  if (!tty) {
    const last = new Map<string, string>();
    return {
      event(e) {
        if (e.type === 'pulling') out.write(`${prefix}pulling ${e.ref} for container "${e.container}"\n`);
        else if (e.type === 'resolved') out.write(`${prefix}${e.ref}: pulling from ${e.endpoint} (${e.layers.length} layers, manifest ${e.digest})\n`);
        else if (e.type === 'mirror-failed') out.write(`${prefix}mirror ${e.endpoint} failed: ${e.message}\n`);
        else if (e.type === 'stored') out.write(`${prefix}stored ${e.name} (${e.id.slice(0, 12)})\n`);
        else if (e.type === 'layer' && e.status !== 'waiting') {
          const resumed = e.resumedAt !== undefined ? ` (resumed at ${mb(e.resumedAt)})` : '';
          const line = `${shortId(e.digest)}: ${STATUS[e.status]}${e.status === 'downloading' && e.total !== undefined ? ` ${mb(e.total)}` : ''}${resumed}`;
          if (last.get(e.digest) === line) return;
          last.set(e.digest, line);
          out.write(`${prefix}${line}\n`);
        }
      },
      end() {},
    };
  }
  // A terminal: a block of lines redrawn in place.
  const order: string[] = [];
  const state = new Map<string, { status: string; bytes: number; total?: number; started: number; at: number }>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const line = (d: string): string => {
    const s = state.get(d)!;
    const name = STATUS[s.status];
    if (s.status !== 'downloading') return `${shortId(d)}: ${color && s.status === 'complete' ? `\x1b[32m${name}\x1b[0m` : name}`;
    const secs = (Date.now() - s.started) / 1000;
    const speed = secs > 0.2 ? `  ${mb(s.bytes / secs)}/s` : '';
    const width = 30;
    const bar = s.total ? `[${'='.repeat(Math.floor((s.bytes / s.total) * width)).padEnd(width)}] ` : '';
    return `${shortId(d)}: Downloading ${bar}${mb(s.bytes)}${s.total ? ` / ${mb(s.total)}` : ''}${speed}`;
  };
  const draw = () => {
    timer = undefined;
    let text = drawn ? `\x1b[${drawn}A` : '';
    for (const d of order) text += `\r\x1b[2K${prefix}${line(d)}\n`;
    drawn = order.length;
    out.write(text);
  };
  const schedule = () => {
    timer ??= setTimeout(draw, 100);
  };
  const above = (text: string) => {
    // A line printed above the block: the block is drawn again below it.
    if (timer) clearTimeout(timer);
    timer = undefined;
    out.write(`${drawn ? `\x1b[${drawn}A\r\x1b[J` : ''}${prefix}${text}\n`);
    drawn = 0;
    if (order.length) draw();
  };
  return {
    event(e) {
      if (e.type === 'pulling') return above(`pulling ${e.ref} for container "${e.container}"`);
      if (e.type === 'resolved') {
        above(`${e.ref}: pulling from ${e.endpoint}`);
        for (const l of e.layers) if (!state.has(l.digest)) order.push(l.digest);
        for (const l of e.layers) state.set(l.digest, { status: 'waiting', bytes: 0, total: l.size, started: Date.now(), at: 0 });
        return schedule();
      }
      if (e.type === 'mirror-failed') return above(`mirror ${e.endpoint} failed: ${e.message}`);
      if (e.type === 'stored') {
        if (timer) draw();
        drawn = 0;
        order.length = 0;
        return void out.write(`${prefix}Digest: ${e.digest}\n${prefix}stored ${e.name}\n`);
      }
      const s = state.get(e.digest);
      if (!s) return;
      if (e.status === 'downloading' && s.status !== 'downloading') s.started = Date.now();
      s.status = e.status;
      if (e.bytes !== undefined) s.bytes = e.bytes;
      if (e.resumedAt !== undefined) s.started = Date.now() - 1; // speed of this attempt only
      schedule();
    },
    end() {
      if (timer) {
        clearTimeout(timer);
        draw();
      }
    },
  };
}
