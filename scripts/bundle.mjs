// Bundles the CLI and the library into dist/ with esbuild: one file each, so that a
// `minipod` command loads one script instead of resolving dozens of modules (start
// latency is a goal; see README, Performance).
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

await build({ ...common, entryPoints: { minipod: 'src/cli/main.ts', api: 'src/api.ts' }, outdir: 'dist' });
