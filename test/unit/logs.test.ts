// CRI log parsing: partial lines, streams kept apart, chunks split anywhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CriParser, logIndex } from '../../src/runtime/logs.ts';

test('full and partial entries, split across chunks', () => {
  const p = new CriParser();
  const text =
    '2026-01-01T00:00:00.000000001Z stdout F hello\n' +
    '2026-01-01T00:00:00.000000002Z stderr P par\n' +
    '2026-01-01T00:00:00.000000003Z stdout F between\n' +
    '2026-01-01T00:00:00.000000004Z stderr F tial\n';
  const cut = 70;
  const lines = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
  assert.deepEqual(
    lines.map((l) => [l.stream, l.text]),
    [
      ['stdout', 'hello'],
      ['stdout', 'between'],
      ['stderr', 'partial'],
    ],
  );
  assert.equal(lines[0].time, '2026-01-01T00:00:00.000000001Z');
});

test('an empty line and spaces inside a line survive', () => {
  const lines = new CriParser().push('t stdout F \nt stdout F a  b \n');
  assert.deepEqual(lines.map((l) => l.text), ['', 'a  b ']);
});

test('--previous needs a restart', () => {
  assert.equal(logIndex({ restartCount: 2 } as never, false, 'c'), 2);
  assert.equal(logIndex({ restartCount: 2 } as never, true, 'c'), 1);
  assert.throws(() => logIndex({ restartCount: 0 } as never, true, 'c'), /previous terminated container "c" not found/);
});
