// minipod image import|pull|ls|rm

import { stringify } from 'yaml';

import { importImage, listImages, pullImage, removeImage, type ImageRecord } from '../image/index.ts';
import { podNames, podInfo, readPlan } from '../runtime/pods.ts';
import { ageText } from '../runtime/view.ts';
import type { StateRoots } from '../state/paths.ts';
import { help, outputFormat, parse, requireRoot, rootsFrom, table, UsageError, type Verb } from './common.ts';

const usage = `
Usage:
  minipod image import [--env K=V]... [--cmd JSON] [--entrypoint JSON] [--workdir DIR] [--user USER[:GROUP]] [--stop-signal SIG] NAME[:TAG] SOURCE
  minipod image pull [-q] [--platform OS/ARCH[/VARIANT]] REF
  minipod image ls [-o json|yaml]
  minipod image rm NAME[:TAG]...

Local images. SOURCE is an OCI image layout, an oci-archive or a docker-archive (stored
as its layers, with its config), or a root filesystem: a directory, or a tarball (plain,
gzip, xz, zstd or bzip2; detected from its content). "pull" fetches REF from its registry
(busybox: docker.io/library/busybox:latest; loopback registries over plain HTTP;
credentials from REGISTRY_AUTH_FILE or ~/.docker/config.json) and stores it under that
full name. Unpacking keeps device nodes, absolute symlink
targets, setuid/setgid bits, ownership and hardlinks, and refuses entries that would land
outside the image. NAME follows the image reference grammar (busybox, localhost/busybox:1,
registry.k8s.io/pause:3.10); busybox means busybox:latest. A manifest's image: names an
imported image, or an absolute path to a rootfs tree.

Options:
      --env K=V         default environment of the image (repeatable; PATH has a default)
      --cmd JSON        default command, e.g. '["sh"]' (Kubernetes args replaces it)
      --entrypoint JSON default entrypoint (Kubernetes command replaces it)
      --workdir DIR     default working directory
      --user USER[:GROUP]  default user: a uid or a name from the image's /etc/passwd,
                        optionally with a gid or a group name (OCI User)
      --stop-signal SIG the signal that stops the container when its manifest sets no
                        lifecycle.stopSignal (OCI StopSignal)
  -o, --output FORMAT   json or yaml (ls)
      --root DIR        state root
  -h, --help            this help
`;

/** Pods whose plan uses an image's tree: such a tree is not deleted under them. */
function usedBy(roots: StateRoots) {
  return (rec: ImageRecord) => {
    const users = podNames(roots).filter((name) => {
      const plan = readPlan(podInfo(roots, name).dirs);
      return [...(plan?.initContainers ?? []), ...(plan?.containers ?? [])].some((c) => c.imageDir === rec.rootfs);
    });
    return users.length ? `pod ${users.join(', pod ')}` : false;
  };
}

function jsonList(flag: string, v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  try {
    const a = JSON.parse(v);
    if (Array.isArray(a) && a.every((x) => typeof x === 'string')) return a;
  } catch {
    // reported below
  }
  throw new UsageError(`${flag} takes a JSON array of strings, e.g. '["sh","-c","echo hi"]'`);
}

export const image: Verb = {
  name: 'image',
  summary: 'import, list and remove local images',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, {
      env: { type: 'string', multiple: true },
      cmd: { type: 'string' },
      entrypoint: { type: 'string' },
      workdir: { type: 'string' },
      user: { type: 'string' },
      'stop-signal': { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      platform: { type: 'string' },
      output: { type: 'string', short: 'o' },
    });
    if (values.help) return help(this);
    const [sub, ...args] = positionals;
    const roots = rootsFrom(values);
    if (sub === 'import') {
      if (args.length !== 2) throw new UsageError('usage: minipod image import NAME[:TAG] SOURCE');
      requireRoot('minipod image import');
      for (const e of values.env ?? []) if (!/^[^=]+=/.test(e)) throw new UsageError(`--env takes K=V, not "${e}"`);
      const config = {
        ...(values.env ? { env: values.env } : {}),
        ...(values.cmd !== undefined ? { cmd: jsonList('--cmd', values.cmd) } : {}),
        ...(values.entrypoint !== undefined ? { entrypoint: jsonList('--entrypoint', values.entrypoint) } : {}),
        ...(values.workdir ? { workingDir: values.workdir } : {}),
        ...(values.user ? { user: values.user } : {}),
        ...(values['stop-signal'] ? { stopSignal: values['stop-signal'] } : {}),
      };
      const rec = await importImage(roots, args[0], args[1], { config, inUse: usedBy(roots) });
      process.stdout.write(`${rec.name} ${rec.id}\n`);
      return 0;
    }
    if (sub === 'pull') {
      if (args.length !== 1) throw new UsageError('usage: minipod image pull [-q] [--platform OS/ARCH[/VARIANT]] REF');
      const rec = await pullImage(roots, args[0], { inUse: usedBy(roots), platform: values.platform, onProgress: values.quiet ? undefined : (l) => process.stderr.write(`${l}\n`) });
      process.stdout.write(`${rec.name} ${rec.id}\n`);
      return 0;
    }
    if (sub === 'ls' || sub === 'list') {
      const format = outputFormat(values.output, ['json', 'yaml']);
      const list = listImages(roots);
      if (format) {
        process.stdout.write(format === 'json' ? JSON.stringify(list, null, 2) + '\n' : stringify(list));
        return 0;
      }
      const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
      process.stdout.write(table(['NAME', 'ID', 'SIZE', 'CREATED'], list.map((r) => [r.name, r.id.slice(0, 12), mb(r.size), ageText(r.created)])));
      return 0;
    }
    if (sub === 'rm' || sub === 'remove') {
      if (!args.length) throw new UsageError('usage: minipod image rm NAME[:TAG]...');
      for (const ref of args) {
        const rec = await removeImage(roots, ref, { inUse: usedBy(roots) });
        process.stdout.write(`${rec.name}\n`);
      }
      return 0;
    }
    throw new UsageError(sub ? `unknown image command "${sub}" (import, pull, ls, rm)` : 'image needs a command: import, pull, ls or rm');
  },
};
