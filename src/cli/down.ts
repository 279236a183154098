// minipod down FILE: removes what `minipod run FILE` created (podman's kube down).

import path from 'node:path';

import { loadNative } from '../native/load.ts';
import { removePod } from '../runtime/control.ts';
import { findPod, PodNotFound } from '../runtime/pods.ts';
import { graceOption, help, parse, report, requireRoot, rootsFrom, UsageError, type Verb } from './common.ts';
import { streamPods } from './manifest.ts';
import { loadWithObjects } from './run-options.ts';

const usage = `
Usage: minipod down [options] FILE

Removes the pods \`minipod run FILE\` created, as podman kube down does: every Pod of FILE
and the pods of its Deployments, ReplicaSets, DaemonSets and Jobs (their names are made
from the file the same way each time). A pod of one of those names that was created from
another file is left alone, and said so. Named volumes (PersistentVolumeClaims) stay: their
data outlives the pods (minipod volume rm removes them).

Options:
  -f, --force           do not wait for a grace period: SIGKILL at once
  -t, --time SECONDS    grace period instead of the pods' terminationGracePeriodSeconds
      --root DIR        state root
  -h, --help            this help
`;

export const down: Verb = {
  name: 'down',
  summary: 'remove the pods a manifest file created',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, { force: { type: 'boolean', short: 'f' }, time: { type: 'string', short: 't' }, strict: { type: 'boolean' } });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('down needs exactly one manifest file');
    const grace = graceOption(values.time);
    const roots = rootsFrom(values);
    const { manifest } = loadWithObjects(positionals[0], values);
    const file = manifest.file === '-' ? undefined : path.resolve(manifest.file);
    const pods = streamPods(manifest);
    requireRoot('minipod down');
    const native = loadNative();
    let rc = 0;
    for (const p of pods) {
      const name = p.value.metadata.name;
      try {
        const info = await findPod(native, roots, name);
        const from = info.host?.manifest;
        if (file && from && from !== file) {
          process.stderr.write(`minipod: pod "${name}" was created from ${from}, not ${file}: left alone\n`);
          continue;
        }
        await removePod(native, roots, info, !!values.force, grace);
        process.stdout.write(`${name}\n`);
      } catch (e) {
        if (e instanceof PodNotFound) continue; // never started, or removed already
        rc = report(e);
      }
    }
    return rc;
  },
};
