// Kubernetes' $(VAR) expansion rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expand, expandEnvList } from '../../src/plan/expand.ts';

const env = new Map([
  ['A', 'x'],
  ['EMPTY', ''],
]);
const look = (n: string) => env.get(n);

test('defined variables are replaced, undefined ones stay as written', () => {
  assert.equal(expand('$(A)-$(B)', look), 'x-$(B)');
  assert.equal(expand('[$(EMPTY)]', look), '[]');
});

test('$$ escapes, other $ are kept, unterminated references stay', () => {
  assert.equal(expand('$$(A)', look), '$(A)');
  assert.equal(expand('$$$(A)', look), '$x');
  assert.equal(expand('cost: $5 $', look), 'cost: $5 $');
  assert.equal(expand('$(A', look), '$(A');
  assert.equal(expand('$()', look), '$()');
});

test('env lists expand against earlier entries only; valueFrom values are not expanded', () => {
  const r = expandEnvList([
    { name: 'B', value: '$(A)' },
    { name: 'A', value: 'a' },
    { name: 'C', value: '$(A)$(B)' },
    { name: 'D', value: '$(A)', expand: false },
  ]);
  assert.deepEqual([...r], [
    ['B', '$(A)'],
    ['A', 'a'],
    ['C', 'a$(A)'],
    ['D', '$(A)'],
  ]);
});
