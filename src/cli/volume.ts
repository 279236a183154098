// minipod volume create | ls | inspect | rm | prune

import { createVolume, getVolume, listVolumes, pruneVolumes, removeVolume, volumeUsers } from '../volumes/named.ts';
import { help, outputFormat, parse, report, requireRoot, rootsFrom, table, UsageError, type Verb } from './common.ts';

const usage = `
Usage: minipod volume create [--label KEY=VALUE]... NAME
       minipod volume ls [-q] [-o json]
       minipod volume inspect NAME...
       minipod volume rm NAME...
       minipod volume prune

Named local volumes: directories that outlive pods, as podman's. A pod mounts one with a
persistentVolumeClaim volume whose claimName is the volume's name; a PersistentVolumeClaim
in a manifest creates its volume when \`minipod run\` meets it (and leaves one that exists
as it is). Several pods may mount one volume at once. A volume a pod uses (one not yet
removed) cannot be removed.

  create    make an empty volume
  ls        volumes, with the pods that use them
  inspect   a volume as JSON: its name, mount point, labels, creation time, users
  rm        remove volumes no pod uses
  prune     remove every volume no pod uses

Options:
      --label KEY=VALUE  (create) a label, repeatable
  -q, --quiet           (ls) names only
  -o, --output json     (ls) as JSON
      --root DIR        state root
  -h, --help            this help
`;

export const volumeVerb: Verb = {
  name: 'volume',
  summary: 'create, list, inspect and remove named volumes (PersistentVolumeClaims)',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { label: { type: 'string', multiple: true }, quiet: { type: 'boolean', short: 'q' }, output: { type: 'string', short: 'o' } });
    if (values.help) return help(this);
    const roots = rootsFrom(values);
    const [sub, ...names] = positionals;
    switch (sub) {
      case 'create': {
        if (names.length !== 1) throw new UsageError('volume create needs one name');
        requireRoot('minipod volume create');
        const labels: Record<string, string> = {};
        for (const l of values.label ?? []) {
          const i = l.indexOf('=');
          if (i < 1) throw new UsageError(`--label: KEY=VALUE, not "${l}"`);
          labels[l.slice(0, i)] = l.slice(i + 1);
        }
        process.stdout.write(`${createVolume(roots, names[0], { labels }).name}\n`);
        return 0;
      }
      case 'ls':
      case 'list': {
        if (names.length) throw new UsageError(`volume ls: unexpected argument "${names[0]}"`);
        const format = outputFormat(values.output, ['json']);
        const vols = listVolumes(roots).map((v) => ({ ...v, usedBy: volumeUsers(roots, v.name) }));
        if (format === 'json') process.stdout.write(JSON.stringify(vols, null, 2) + '\n');
        else if (values.quiet) process.stdout.write(vols.map((v) => `${v.name}\n`).join(''));
        else process.stdout.write(table(['NAME', 'CREATED', 'USED BY', 'MOUNTPOINT'], vols.map((v) => [v.name, v.createdAt, v.usedBy.join(',') || '-', v.mountpoint])));
        return 0;
      }
      case 'inspect': {
        if (!names.length) throw new UsageError('volume inspect needs a name');
        let rc = 0;
        const out = [];
        for (const n of names) {
          try {
            const v = getVolume(roots, n);
            if (!v) throw Object.assign(new Error(`no volume named "${n}"`), { exitCode: 1 });
            out.push({ ...v, usedBy: volumeUsers(roots, n) });
          } catch (e) {
            rc = report(e);
          }
        }
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return rc;
      }
      case 'rm':
      case 'remove': {
        if (!names.length) throw new UsageError('volume rm needs a name');
        requireRoot('minipod volume rm');
        let rc = 0;
        for (const n of names) {
          try {
            removeVolume(roots, n);
            process.stdout.write(`${n}\n`);
          } catch (e) {
            rc = report(e);
          }
        }
        return rc;
      }
      case 'prune': {
        requireRoot('minipod volume prune');
        for (const n of pruneVolumes(roots)) process.stdout.write(`${n}\n`);
        return 0;
      }
      default:
        throw new UsageError(sub ? `volume: unknown subcommand "${sub}" (create, ls, inspect, rm, prune)` : 'volume needs a subcommand: create, ls, inspect, rm or prune');
    }
  },
};
