// minipod image import|pull|ls|rm


import { imageOrigin, importImage, listImages, parseImageRef, pruneImages, pullImage, removeImage, resolveImage, tagImage, type ImageRecord } from '../image/index.ts';
import { imageError } from '../image/unpack.ts';
import { podNames, podInfo, readPlan } from '../runtime/pods.ts';
import { ageText } from '../runtime/view.ts';
import type { StateRoots } from '../state/paths.ts';
import { mb, pullRenderer } from './progress.ts';
import { help, outputFormat, parse, requireRoot, rootsFrom, table, toYaml, UsageError, type Verb } from './common.ts';

const usage = `
Usage:
  minipod image import [--env K=V]... [--cmd JSON] [--entrypoint JSON] [--workdir DIR] [--user USER[:GROUP]] [--stop-signal SIG] NAME[:TAG] SOURCE
  minipod image pull [-q] [--platform OS/ARCH[/VARIANT]] [--registries-conf FILE] REF
  minipod image ls [-o json|yaml]
  minipod image inspect [-o json|yaml] REF
  minipod image tag SOURCE NAME[:TAG]
  minipod image rm NAME[:TAG]...
  minipod image prune

Local images. SOURCE is an OCI image layout, an oci-archive or a docker-archive (stored
as its layers, with its config), or a root filesystem: a directory, or a tarball (plain,
gzip, xz, zstd or bzip2; detected from its content). "pull" fetches REF from its registry
(busybox: docker.io/library/busybox:latest; loopback registries over plain HTTP;
mirrors and plain-HTTP registries from the registries configuration; credentials from
\`minipod login\`, REGISTRY_AUTH_FILE or ~/.docker/config.json) and stores it under that
full name, layer by layer (a layer the store has is not downloaded again). "rm" removes a
name, and the image's layers no other image uses; "prune" removes images no name points
at and no pod uses, and downloads an interrupted pull left. Unpacking keeps device nodes, absolute symlink
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
  -q, --quiet           pull: no progress
      --platform P      pull: OS/ARCH[/VARIANT] instead of this host's
      --registries-conf FILE  pull: mirrors and plain-HTTP registries (default
                        /etc/minipod/registries.yaml; env MINIPOD_REGISTRIES_CONF)
  -o, --output FORMAT   json or yaml (ls, inspect)
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
  summary: 'pull, import, list, inspect, tag and remove images',
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
      'registries-conf': { type: 'string' },
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
      const progress = values.quiet ? undefined : pullRenderer(process.stderr);
      try {
        const rec = await pullImage(roots, args[0], { inUse: usedBy(roots), platform: values.platform, registries: values['registries-conf'], onProgress: progress && ((e) => progress.event(e)) });
        process.stdout.write(`${rec.name} ${rec.id}\n`);
      } finally {
        progress?.end();
      }
      return 0;
    }
    if (sub === 'ls' || sub === 'list') {
      const format = outputFormat(values.output, ['json', 'yaml']);
      const list = listImages(roots);
      if (format) {
        process.stdout.write(format === 'json' ? JSON.stringify(list, null, 2) + '\n' : await toYaml(list));
        return 0;
      }
      const rows = list.map((r) => {
        const ref = parseImageRef(r.name);
        const repo = ref.domain ? `${ref.domain}/${ref.path}` : ref.path;
        return [repo, ref.tag ?? '<none>', r.id.slice(0, 12), ageText(r.created), mb(r.size)];
      });
      process.stdout.write(table(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
      return 0;
    }
    if (sub === 'inspect') {
      if (args.length !== 1) throw new UsageError('usage: minipod image inspect [-o json|yaml] REF');
      const format = outputFormat(values.output, ['json', 'yaml']) ?? 'json';
      const rec = resolveImage(roots, args[0]);
      if (!rec) throw imageError(`image inspect ${args[0]}: no such image`, 'ERR_IMAGE_NOT_FOUND');
      const origin = imageOrigin(roots, rec);
      const out = { ...rec, ...(origin.manifest !== undefined && { manifest: origin.manifest }), ...(origin.config !== undefined && { imageConfig: origin.config }) };
      process.stdout.write(format === 'json' ? JSON.stringify(out, null, 2) + '\n' : await toYaml(out));
      return 0;
    }
    if (sub === 'tag') {
      if (args.length !== 2) throw new UsageError('usage: minipod image tag SOURCE NAME[:TAG]');
      const rec = await tagImage(roots, args[0], args[1], { inUse: usedBy(roots) });
      process.stdout.write(`${rec.name} ${rec.id}\n`);
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
    if (sub === 'prune') {
      if (args.length) throw new UsageError('usage: minipod image prune');
      for (const id of await pruneImages(roots, { inUse: usedBy(roots) })) process.stdout.write(`${id}\n`);
      return 0;
    }
    throw new UsageError(sub ? `unknown image command "${sub}" (pull, import, ls, inspect, tag, rm, prune)` : 'image needs a command: pull, import, ls, inspect, tag, rm or prune');
  },
};
