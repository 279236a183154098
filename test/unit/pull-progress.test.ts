// Drawing a pull's progress: plain lines (one per change of state) when not a terminal;
// on a terminal, one line per layer redrawn in place, and colour only without NO_COLOR.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { pullRenderer } from '../../src/cli/progress.ts';
import type { PullEvent } from '../../src/image/index.ts';

function stream(isTTY: boolean) {
  const out = { isTTY, text: '', write(s: string) { out.text += s; return true; } };
  return out as unknown as NodeJS.WriteStream & { text: string };
}

const a = `sha256:${'a'.repeat(64)}`;
const b = `sha256:${'b'.repeat(64)}`;
const resolved: PullEvent & { type: 'resolved' } = { type: 'resolved', ref: 'r.example/x:1', endpoint: 'r.example', digest: `sha256:${'c'.repeat(64)}`, layers: [{ digest: a, size: 2_000_000 }, { digest: b, size: 10 }] };

test('not a terminal: one line per change of state, never one per chunk', () => {
  const out = stream(false);
  const r = pullRenderer(out, {});
  r.event(resolved);
  r.event({ type: 'layer', digest: b, status: 'exists' });
  for (const bytes of [0, 1000, 2000]) r.event({ type: 'layer', digest: a, status: 'downloading', bytes, total: 2_000_000 });
  r.event({ type: 'layer', digest: a, status: 'downloading', bytes: 3000, total: 2_000_000, resumedAt: 3000 });
  r.event({ type: 'layer', digest: a, status: 'complete' });
  r.event({ type: 'stored', name: 'r.example/x:1', id: 'f'.repeat(32), digest: resolved.digest });
  r.end();
  assert.equal(
    out.text,
    [
      `r.example/x:1: pulling from r.example (2 layers, manifest ${resolved.digest})`,
      'bbbbbbbbbbbb: Already exists',
      'aaaaaaaaaaaa: Downloading 2.0 MB',
      'aaaaaaaaaaaa: Downloading 2.0 MB (resumed at 3.0 kB)',
      'aaaaaaaaaaaa: Pull complete',
      'stored r.example/x:1 (ffffffffffff)',
      '',
    ].join('\n'),
  );
});

test('a terminal: the layers are redrawn in place with a bar; colour unless NO_COLOR', async () => {
  for (const env of [{}, { NO_COLOR: '1' }]) {
    const out = stream(true);
    const r = pullRenderer(out, env);
    r.event(resolved);
    r.event({ type: 'layer', digest: a, status: 'downloading', bytes: 1_000_000, total: 2_000_000 });
    await sleep(150);
    r.event({ type: 'layer', digest: a, status: 'complete' });
    r.event({ type: 'layer', digest: b, status: 'complete' });
    r.end();
    assert.match(out.text, /aaaaaaaaaaaa: Downloading \[={15} {15}\] 1\.0 MB \/ 2\.0 MB/);
    assert.match(out.text, /\x1b\[2A/, 'the two lines are drawn again in place');
    if ('NO_COLOR' in env) assert.doesNotMatch(out.text, /\x1b\[32m/);
    else assert.match(out.text, /\x1b\[32mPull complete/);
  }
});
