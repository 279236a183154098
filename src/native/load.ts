// Finds minipod's native pieces: the addon and the two helper binaries built next to it.
//
// They live in build/Release of the package (node-gyp's output). The package root is found
// from this file's location, which works both from src/ (tsx) and from the bundle in dist/.
// MINIPOD_NATIVE_DIR overrides the directory (for a build kept elsewhere).

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { wrapAddon, type NativeBinding } from './binding.ts';

let root: string | undefined;

/** The directory holding minipod's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'minipod') return (root = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('minipod: cannot find the package root (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function nativeDir(): string {
  return process.env.MINIPOD_NATIVE_DIR ?? path.join(packageRoot(), 'build', 'Release');
}

/** Path of a helper binary (minipod-pause, minipod-shim); throws a setup hint if missing. */
export function helperBinary(name: 'minipod-pause' | 'minipod-shim'): string {
  const p = path.join(nativeDir(), name);
  if (!existsSync(p)) throw new Error(`minipod: ${p} is missing; build it with \`npm run build\``);
  return p;
}

let native: NativeBinding | undefined;

export function loadNative(): NativeBinding {
  if (native) return native;
  const file = path.join(nativeDir(), 'minipod.node');
  if (!existsSync(file)) throw new Error(`minipod: the native addon ${file} is missing; build it with \`npm run build\``);
  const require = createRequire(import.meta.url);
  native = wrapAddon(require(file));
  return native;
}

/**
 * The binding, loaded at its first use: for commands (`ps`, `logs`, `inspect`) that need it
 * only when they find something to clean up, so that they do not pay for loading the addon.
 */
export function lazyNative(): NativeBinding {
  let real: NativeBinding | undefined;
  return new Proxy({} as NativeBinding, {
    get(_t, key) {
      real ??= loadNative();
      const v = (real as unknown as Record<string | symbol, unknown>)[key];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(real) : v;
    },
  });
}
