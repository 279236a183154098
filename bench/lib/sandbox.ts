// Benchmarks that make namespaces re-run themselves as root inside throwaway network, mount
// and pid namespaces (the same sandbox as npm test: sysfs of its own, the cgroup
// hierarchies mounted again), without NODE_EXTRA_CA_CERTS (it costs ~80 ms per Node start).

import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { repoDir } from './context.ts';

/** In the sandbox: returns. Outside: runs `self` again in one and exits with its status. */
export async function inSandbox(self: string, name: string): Promise<void> {
  if (!process.env.MINIPOD_BENCH_SANDBOX) {
    if (process.getuid?.() !== 0) {
      process.stderr.write(`${name} needs root\n`);
      process.exit(2);
    }
    const env: NodeJS.ProcessEnv = { ...process.env, MINIPOD_BENCH_SANDBOX: '1' };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', process.execPath, ...process.execArgv, self, ...process.argv.slice(2)], { stdio: 'inherit', env });
    process.exit(r.status ?? 1);
  }
  const { sandboxMounts } = (await import(path.join(repoDir, 'scripts', 'sandbox.mjs'))) as { sandboxMounts: () => void };
  sandboxMounts();
}

/** `--name VALUE` of the command line, else dflt. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
