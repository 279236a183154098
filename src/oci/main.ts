// minipod-oci's TypeScript half: the verbs that translate JSON into a plan (create, exec,
// update, features). The binary containerd runs is the native front end (native/oci/main.c),
// which runs start, state, kill, delete, ps, pause, resume and list itself and execs this
// (dist/minipod-oci.js, src/oci/cli.ts) with its whole command line for the others:
//
//   minipod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] VERB ...
//
// Errors go to stderr and, with --log, as one JSON line each ({"level":"error","msg":...,
// "time":...}) to the log file, which is where containerd reads them. Exit status 0 or 1.

import { appendFileSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { loadNative } from '../native/load.ts';
import { create, exec, features, update, type Globals, OCI_VERSION } from './verbs.ts';

export const VERSION = '0.1.0';

const USAGE = `Usage: minipod-oci [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup] COMMAND

minipod as an OCI runtime (runc's command line), for containerd's runc v2 shim.

Commands:
  create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] ID
  start ID            state ID            kill [--all] ID [SIGNAL]
  delete [--force] ID exec --process FILE [--console-socket S] [--detach] [--pid-file F] ID
  ps [--format json|table] ID           list               pause ID          resume ID
  update --resources FILE|- ID          features           --version
`;

function logger(file: string | undefined, format: string) {
  return (level: 'error' | 'warning', msg: string) => {
    if (!file) return;
    const line = format === 'json' ? JSON.stringify({ level, msg, time: new Date().toISOString() }) : `${new Date().toISOString()} ${level}: ${msg}`;
    try {
      appendFileSync(file, line + '\n');
    } catch {
      // a log that cannot be written must not hide the error on stderr
    }
  };
}

/** Splits the global options from the verb and its arguments (runc takes globals first). */
function splitGlobals(argv: string[]): { globals: Record<string, string | boolean>; rest: string[] } {
  const globals: Record<string, string | boolean> = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) break;
    const [k, inline] = a.replace(/^--?/, '').split(/=(.*)/s, 2);
    if (k === 'systemd-cgroup' || k === 'debug' || k === 'version' || k === 'v' || k === 'help' || k === 'h') globals[k] = true;
    else if (['root', 'log', 'log-format', 'criu', 'rootless'].includes(k)) globals[k] = inline ?? argv[++i];
    else throw new Error(`unknown global option ${a}`);
  }
  return { globals, rest: argv.slice(i) };
}

export async function main(argv: string[]): Promise<number> {
  let log = logger(undefined, 'text');
  try {
    const { globals, rest } = splitGlobals(argv);
    log = logger(globals.log as string | undefined, (globals['log-format'] as string) ?? 'text');
    if (globals.version || globals.v) {
      process.stdout.write(`minipod-oci version ${VERSION}\nspec: ${OCI_VERSION}\n`);
      return 0;
    }
    const [verb, ...args] = rest;
    if (!verb || globals.help || globals.h) {
      process.stdout.write(USAGE);
      return verb ? 0 : 1;
    }
    if (globals.rootless && globals.rootless !== 'false') throw new Error('--rootless is not supported');
    const warn = (msg: string) => {
      log('warning', msg);
      process.stderr.write(`minipod-oci: warning: ${msg}\n`);
    };
    const g = (): Globals => ({ root: (globals.root as string) ?? '/run/minipod-oci', systemdCgroup: !!globals['systemd-cgroup'], native: loadNative(), warn });
    const opts = (o: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>) => parseArgs({ args, options: o, allowPositionals: true, strict: true });
    const one = (positionals: string[]) => {
      if (!positionals[0]) throw new Error(`${verb} needs a container id`);
      return positionals[0];
    };
    switch (verb) {
      case 'create': {
        const { values, positionals } = opts({ bundle: { type: 'string', short: 'b' }, 'pid-file': { type: 'string' }, 'console-socket': { type: 'string' }, 'no-pivot': { type: 'boolean' }, 'no-new-keyring': { type: 'boolean' }, 'preserve-fds': { type: 'string' } });
        // --no-pivot: pivot_root is always used (it is what keeps the host's root out of reach);
        // --no-new-keyring: no session keyring is made either way.
        create(g(), one(positionals), { bundle: (values.bundle as string) ?? '.', pidFile: values['pid-file'] as string | undefined, consoleSocket: values['console-socket'] as string | undefined });
        return 0;
      }
      case 'run':
        throw new Error('run is not supported: use create and start');
      case 'exec': {
        const { values, positionals } = opts({ process: { type: 'string', short: 'p' }, 'console-socket': { type: 'string' }, detach: { type: 'boolean', short: 'd' }, 'pid-file': { type: 'string' }, tty: { type: 'boolean', short: 't' }, 'preserve-fds': { type: 'string' } });
        if (!values.process) throw new Error('exec needs --process FILE (a command line of its own is not supported)');
        return await exec(g(), one(positionals), { process: values.process as string, consoleSocket: values['console-socket'] as string | undefined, detach: !!values.detach, pidFile: values['pid-file'] as string | undefined });
      }
      case 'update': {
        const { values, positionals } = opts({ resources: { type: 'string', short: 'r' } });
        if (!values.resources) throw new Error('update needs --resources FILE (or - for stdin)');
        const text = values.resources === '-' ? readFileSync(0, 'utf8') : readFileSync(values.resources as string, 'utf8');
        update(g(), one(positionals), JSON.parse(text));
        return 0;
      }
      case 'features':
        process.stdout.write(JSON.stringify(features(), null, 2) + '\n');
        return 0;
      case 'start':
      case 'state':
      case 'kill':
      case 'delete':
      case 'ps':
      case 'pause':
      case 'resume':
      case 'list':
        throw new Error(`${verb} is run by the native minipod-oci (build/Release/minipod-oci), not by this script`);
      default:
        throw new Error(`unknown command "${verb}"`);
    }
  } catch (e) {
    const msg = (e as { description?: string }).description ?? (e as Error).message;
    log('error', msg);
    process.stderr.write(`minipod-oci: ${msg}\n`);
    return 1;
  }
}
