// minipod's command line: one verb per file, this file only dispatches.

import '../runtime/all-hooks.ts';
import { EXIT } from '../errors.ts';
import { report, requireRoot, type Verb } from './common.ts';
import { exec } from './exec.ts';
import { gcVerb } from './gc.ts';
import { image } from './image.ts';
import { inspect } from './inspect.ts';
import { login, logout } from './login.ts';
import { logs } from './logs.ts';
import { networkVerb } from './network.ts';
import { plan } from './plan.ts';
import { ps } from './ps.ts';
import { rm } from './rm.ts';
import { run } from './run.ts';
import { stop } from './stop.ts';
import { teardown } from './teardown.ts';

const verbs: Verb[] = [run, plan, ps, inspect, logs, exec, stop, rm, gcVerb, image, login, logout, networkVerb];
const hidden: Verb[] = [teardown];

function usage(): string {
  const width = Math.max(...verbs.map((v) => v.name.length));
  return [
    'Usage: minipod COMMAND [options]',
    '',
    'A pod runtime for one Linux host: Kubernetes Pod manifests on real namespaces.',
    '',
    'Commands:',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'Run `minipod COMMAND --help` for the options of a command.',
    'Global options: --root DIR (state root; env MINIPOD_ROOT), -h/--help.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write('minipod 0.1.0\n');
    return EXIT.ok;
  }
  const verb = [...verbs, ...hidden].find((v) => v.name === name);
  if (!verb) {
    process.stderr.write(`minipod: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  try {
    // The state is root's only (0700): every command but plan, login, logout and help needs
    // root, and a user must hear so rather than "no pods". login writes only an auth file.
    if (!['plan', 'login', 'logout'].includes(verb.name) && !rest.includes('--help') && !rest.includes('-h')) requireRoot(`minipod ${verb.name}`);
    return await verb.main(rest);
  } catch (e) {
    return report(e);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.exitCode = report(e);
  },
);
