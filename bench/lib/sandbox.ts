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
    const fixed = process.argv.includes('--hybrid-fix') ? hybridFix() : [];
    try {
      const r = spawnSync('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', process.execPath, ...process.execArgv, self, ...process.argv.slice(2)], { stdio: 'inherit', env });
      process.exitCode = r.status ?? 1;
    } finally {
      hybridUndo(fixed);
    }
    process.exit();
  }
  const { sandboxMounts } = (await import(path.join(repoDir, 'scripts', 'sandbox.mjs'))) as { sandboxMounts: () => void };
  sandboxMounts();
}

/** `--name VALUE` of the command line, else dflt. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/**
 * --hybrid-fix: on a v1/v2 hybrid host whose cgroup2 mount holds controllers (hugetlb here),
 * crun 1.8.1 refuses to run ("cgroups in hybrid mode not supported"); for the run, each such
 * controller is mounted as a v1 hierarchy at /sys/fs/cgroup/NAME, and given back to cgroup2
 * after (hybridUndo). A change to the host while the bench runs: opt-in only.
 */
function hybridFix(): string[] {
  const v2 = '/sys/fs/cgroup/unified/cgroup.controllers';
  const ctrls = spawnSync('cat', [v2], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
  const mounted: string[] = [];
  for (const c of ctrls) {
    const at = `/sys/fs/cgroup/${c}`;
    if (spawnSync('mountpoint', ['-q', at]).status === 0) continue;
    if (spawnSync('sh', ['-c', `mkdir -p ${at} && mount -t cgroup -o ${c} cgroup ${at}`]).status === 0) mounted.push(at);
  }
  return mounted;
}

function hybridUndo(mounted: string[]): void {
  for (const at of mounted) {
    const c = path.basename(at);
    // Empty and unmounted, the hierarchy is destroyed and the controller goes back to cgroup2.
    spawnSync('sh', ['-c', `for t in 1 2 3 4 5 6 7 8 9 10; do mountpoint -q ${at} || mount -t cgroup -o ${c} cgroup ${at} || break; find ${at} -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null; umount ${at}; sleep 0.3; [ "$(awk -v c=${c} '$1 == c {print $2}' /proc/cgroups)" = 0 ] && break; done; mountpoint -q ${at} || rmdir ${at}`]);
  }
}
