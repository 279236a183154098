// Looking a path up through a stack of unpacked layers as overlayfs shows them (for hard
// links into a lower layer, and the image's /etc/passwd): the topmost layer wins, an opaque
// directory hides the layers below it, a symlink on the way is never followed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import { lookupInLayers } from '../../src/image/layers.ts';
import { FakeNative } from '../../src/native/fake.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-lookup-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const layer = (name: string, files: Record<string, string>) => {
  const root = path.join(dir, name);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    if (content.startsWith('->')) symlinkSync(content.slice(2), path.join(root, rel));
    else writeFileSync(path.join(root, rel), content);
  }
  mkdirSync(root, { recursive: true });
  return root;
};

test('the topmost layer that has the path wins', () => {
  const low = layer('l1', { 'a/x': 'low', 'a/y': 'low-y' });
  const high = layer('l2', { 'a/x': 'high' });
  const native = new FakeNative();
  assert.equal(lookupInLayers(native, [high, low], 'a/x')?.path, path.join(high, 'a/x'));
  assert.equal(lookupInLayers(native, [high, low], 'a/y')?.path, path.join(low, 'a/y'));
  assert.equal(lookupInLayers(native, [high, low], 'a/z'), undefined);
});

test('an opaque directory hides what the layers below have in it', () => {
  const low = layer('o1', { 'a/x': 'low', 'b/x': 'low' });
  const high = layer('o2', { 'a/other': 'high' });
  const native = new FakeNative();
  native.opaque(path.join(high, 'a'));
  assert.equal(lookupInLayers(native, [high, low], 'a/x'), undefined);
  assert.equal(lookupInLayers(native, [high, low], 'b/x')?.path, path.join(low, 'b/x'));
});

test('a symlink on the way hides the rest and is never followed', () => {
  const outside = layer('outside', { 'shadow': 'host secret' });
  const low = layer('s1', { 'keep/shadow': 'image file' });
  const high = layer('s2', { keep: `->${outside}` });
  assert.equal(lookupInLayers(new FakeNative(), [high, low], 'keep/shadow'), null);
});
