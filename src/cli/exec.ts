// minipod exec [-i] [-t] POD [-c CONTAINER] -- CMD [ARG...]

import tty from 'node:tty';

import { loadNative } from '../native/load.ts';
import { openSync, closeSync } from 'node:fs';

import { execInContainer, execPlan, exitCodeOf, pickContainer } from '../runtime/exec.ts';
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
    if (!values.tty) {
      // Our own stdout and stderr, and stdin or /dev/null, go to the command as they are.
      const input = values.stdin ? 0 : openSync('/dev/null', 'r');
      try {
        const { exit } = execInContainer(native, info, plan.name, p, { tty: false, stdio: [input, 1, 2] });
        return exitCodeOf(await exit);
      } finally {
        if (input !== 0) closeSync(input);
      }
    }
    return runWithTty(native, execInContainer(native, info, plan.name, p, { tty: true }), !!values.stdin);
  },
};

/** -t: the command got a new pseudo-terminal (from the container's devpts); we relay between it and our own. */
async function runWithTty(native: ReturnType<typeof loadNative>, child: ReturnType<typeof execInContainer>, stdin: boolean): Promise<number> {
  const pty = { master: child.master! };
  if (process.stdout.isTTY) native.setWinsize(pty.master, process.stdout.rows, process.stdout.columns);
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
