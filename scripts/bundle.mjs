// Bundles the CLI and the library into dist/ with esbuild: one file each, so that a
// `minipod` command loads one script instead of resolving dozens of modules (start
// latency is a goal; see README, Performance).
import { rmSync } from 'node:fs';

import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
  // The addon is loaded at run time from build/Release; never bundled.
  external: ['*.node'],
  banner: { js: "import { createRequire as __mpCreateRequire } from 'node:module'; const require = __mpCreateRequire(import.meta.url);" },
};

// Split: each verb of the CLI is a chunk loaded when it runs (src/cli/main.ts), so `--help`
// and `ps` do not load what `run` needs. Old chunks are removed first.
rmSync('dist/chunks', { recursive: true, force: true });
await build({ ...common, entryPoints: { minipod: 'src/cli/main.ts', api: 'src/api.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]' });
