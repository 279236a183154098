// minipod exec [-i] [-t] POD [-c CONTAINER] -- CMD [ARG...]

import tty from 'node:tty';

import { loadNative } from '../native/load.ts';
import { execPlan, exitCodeOf, openTarget, pickContainer, spawnAndWait } from '../runtime/exec.ts';
import { findPod } from '../runtime/pods.ts';
import { help, parse, rootsFrom, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod exec [options] POD [-c CONTAINER] -- COMMAND [ARG...]

Runs COMMAND inside a running container: in all of its namespaces (mount included, so it
sees the container's filesystem), as its user, with its capabilities, env and working
directory. The exit status is COMMAND's (128+N when a signal N ended it).

Options:
  -c, --container NAME  the container (needed when the pod has more than one)
  -i, --stdin           pass our standard input to COMMAND (otherwise it reads /dev/null)
  -t, --tty             allocate a pseudo-terminal for COMMAND (usually with -i)
      --root DIR        state root
  -h, --help            this help
`;

export const exec: Verb = {
  name: 'exec',
  summary: 'run a command in a running container',
  usage,
  async main(argv) {
    const dash = argv.indexOf('--');
    const own = dash < 0 ? argv : argv.slice(0, dash);
    const cmd = dash < 0 ? [] : argv.slice(dash + 1);
    const { values, positionals } = parse(own, {
      container: { type: 'string', short: 'c' },
      stdin: { type: 'boolean', short: 'i' },
      tty: { type: 'boolean', short: 't' },
    });
    if (values.help) return help(this);
    if (positionals.length !== 1 || !cmd.length) throw new UsageError('usage: minipod exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARG...]');
    const native = loadNative();
    const info = await findPod(native, rootsFrom(values), positionals[0]);
    const { plan, status } = pickContainer(info, values.container, 'exec');
    const p = execPlan(info, plan, status, cmd, !!values.tty);
    const refs = openTarget(native, info, plan.name, status);
    if (!values.tty) {
      const { exit } = spawnAndWait(native, p, [values.stdin ? 'inherit' : 'null', 'inherit', 'inherit'], refs);
      return exitCodeOf(await exit);
    }
    return runWithTty(native, p, !!values.stdin, `/proc/${status!.pid}/root`, refs);
  },
};

/** -t: the command gets a new pseudo-terminal; we relay between it and our own. */
async function runWithTty(native: ReturnType<typeof loadNative>, plan: Parameters<typeof spawnAndWait>[1], stdin: boolean, root: string, refs: Record<string, number>): Promise<number> {
  // From the container's own devpts, so that the command finds its terminal under /dev/pts.
  let pty;
  try {
    pty = native.openpty(root);
  } catch (e) {
    for (const fd of Object.values(refs)) native.close(fd);
    throw e;
  }
  if (process.stdout.isTTY) native.setWinsize(pty.master, process.stdout.rows, process.stdout.columns);
  let child;
  try {
    child = spawnAndWait(native, plan, [pty.slave, pty.slave, pty.slave], refs);
  } finally {
    native.close(pty.slave);
  }
  const master = new tty.ReadStream(pty.master);
  master.on('error', () => undefined); // EIO once the terminal's last user is gone
  master.pipe(process.stdout, { end: false });
  const input = process.stdin as tty.ReadStream;
  if (stdin) {
    if (input.isTTY) input.setRawMode(true);
    input.on('data', (d) => {
      try {
        master.write(d);
      } catch {
        // the command is gone
      }
    });
  }
  const onResize = () => native.setWinsize(pty.master, process.stdout.rows, process.stdout.columns);
  process.stdout.on('resize', onResize);
  const e = await child.exit;
  // Drain what the command wrote last, then let go of everything.
  await new Promise((r) => setTimeout(r, 20));
  process.stdout.off('resize', onResize);
  if (stdin) {
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    input.destroy();
  }
  master.destroy();
  return exitCodeOf(e);
}
