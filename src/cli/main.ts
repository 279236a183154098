// minipod's command line: one verb per file, this file only dispatches.
//
// Each verb is loaded when it is run (a chunk of its own in the bundle), so that `--help`
// or `ps` never parse the YAML library or the pod-start machinery: every command pays
// Node's start, and only what it uses on top.

import { EXIT } from '../errors.ts';
import { report, requireRoot, type Verb } from './common.ts';

interface VerbEntry {
  name: string;
  summary: string;
  load(): Promise<Verb>;
}

const verbs: VerbEntry[] = [
  { name: 'run', summary: 'run a pod from a manifest', load: async () => (await import('./run.ts')).run},
  { name: 'down', summary: 'remove the pods a manifest file created', load: async () => (await import('./down.ts')).down },
  { name: 'plan', summary: 'print what running a manifest would do', load: async () => (await import('./plan.ts')).plan},
  { name: 'ps', summary: 'list pods', load: async () => (await import('./ps.ts')).ps },
  { name: 'inspect', summary: "show a pod's full status", load: async () => (await import('./inspect.ts')).inspect },
  { name: 'describe', summary: 'show a pod, its containers and its events, as kubectl describe', load: async () => (await import('./describe.ts')).describe },
  { name: 'events', summary: 'list the events of pods (-w: follow them)', load: async () => (await import('./describe.ts')).events },
  { name: 'logs', summary: "print a container's logs", load: async () => (await import('./logs.ts')).logs },
  { name: 'exec', summary: 'run a command in a running container', load: async () => (await import('./exec.ts')).exec },
  { name: 'top', summary: 'show the CPU and memory use of pods', load: async () => (await import('./top.ts')).top },
  { name: 'stop', summary: 'stop pods gracefully (keeps their status and logs)', load: async () => (await import('./stop.ts')).stop},
  { name: 'rm', summary: 'stop if needed, then remove pods and everything they left', load: async () => (await import('./rm.ts')).rm},
  { name: 'gc', summary: 'clean up after pods whose supervisor died', load: async () => (await import('./gc.ts')).gcVerb},
  { name: 'image', summary: 'pull, import, list, inspect, tag and remove images', load: async () => (await import('./image.ts')).image },
  { name: 'login', summary: 'keep credentials for a registry', load: async () => (await import('./login.ts')).login },
  { name: 'logout', summary: 'forget the credentials for a registry', load: async () => (await import('./login.ts')).logout },
  { name: 'volume', summary: 'create, list, inspect and remove named volumes (PersistentVolumeClaims)', load: async () => (await import('./volume.ts')).volumeVerb },
  { name: 'network', summary: 'list or remove the pod bridge and its addresses', load: async () => (await import('./network.ts')).networkVerb},
];
const hidden: VerbEntry[] = []; // internal verbs, not in --help

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
  const entry = [...verbs, ...hidden].find((v) => v.name === name);
  if (!entry) {
    process.stderr.write(`minipod: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.usage;
  }
  try {
    // The state is root's only (0700): every command but plan, login, logout and help needs
    // root, and a user must hear so rather than "no pods". login writes only an auth file.
    if (!['plan', 'login', 'logout'].includes(entry.name) && !rest.includes('--help') && !rest.includes('-h')) requireRoot(`minipod ${entry.name}`);
    const verb = await entry.load();
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
