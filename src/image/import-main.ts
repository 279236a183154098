// Minimal entry point for importing an image before the CLI exists, used by
// rootfs/build-busybox.sh:
//   node --import tsx src/image/import-main.ts NAME SOURCE [--cmd ARG]... [--entrypoint ARG]...
//        [--env K=V]... [--workdir DIR] [--user USER]
// SOURCE is a rootfs directory or a tarball. MINIPOD_ROOT moves the store like everywhere else.
// The CLI's `minipod image import` calls the same importImage().

import { stateRoots } from '../state/paths.ts';
import { importImage, type ImageConfig } from './store.ts';

function usage(msg?: string): never {
  if (msg) process.stderr.write(`import-main: ${msg}\n`);
  process.stderr.write('usage: import-main.ts NAME SOURCE [--cmd ARG]... [--entrypoint ARG]... [--env K=V]... [--workdir DIR] [--user USER]\n');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const pos: string[] = [];
  const config: Partial<ImageConfig> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = (): string => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--cmd') (config.cmd ??= []).push(val());
    else if (a === '--entrypoint') (config.entrypoint ??= []).push(val());
    else if (a === '--env') (config.env ??= []).push(val());
    else if (a === '--workdir') config.workingDir = val();
    else if (a === '--user') config.user = val();
    else if (a === '-h' || a === '--help') usage();
    else if (a.startsWith('--')) usage(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) usage('expected NAME and SOURCE');
  const rec = await importImage(stateRoots(), pos[0], pos[1], { config });
  process.stdout.write(`imported ${rec.name} ${rec.id} (${rec.size} bytes) at ${rec.rootfs}\n`);
}

main(process.argv.slice(2)).catch((err: Error & { code?: string }) => {
  process.stderr.write(`minipod: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
  process.exit(1);
});
