// The volumes hook's part of the plan: per container, its volume mounts and its resolved env
// list; for the pod, the host steps that make the volumes. Pure (reads nothing from the host),
// so `minipod plan` shows the same as `minipod run` does, without root.

import { FieldError } from '../errors.ts';
import { expandEnvList, type EnvEntry } from '../plan/expand.ts';
import type { HostStep, MountOp } from '../plan/types.ts';
import type { Volume } from '../spec/types.ts';
import type { Contribution, HookContext } from '../runtime/phases.ts';
import { resolveEnv } from './env.ts';
import { volumeLayout, type VolumeLayout } from './layout.ts';
import { containerMounts } from './mounts.ts';
import { projectVolume } from './projection.ts';
import { volumeHostSteps } from './steps.ts';
import { validateVolumes } from './validate.ts';

export type VolumeInput = Pick<HookContext, 'pod' | 'uid' | 'dirs' | 'configMaps' | 'secrets' | 'facts'>;

/** In words, where a volume's content comes from (for `minipod plan`). */
function sourceOf(v: Volume): string {
  if (v.emptyDir) return v.emptyDir.medium === 'Memory' ? 'emptyDir, medium Memory' : 'emptyDir';
  if (v.hostPath) return `hostPath${v.hostPath.type ? `, type ${v.hostPath.type}` : ''}`;
  if (v.persistentVolumeClaim) return `persistentVolumeClaim "${v.persistentVolumeClaim.claimName}" (named volume)`;
  if (v.configMap) return `ConfigMap "${v.configMap.name}"${v.configMap.optional ? ', optional' : ''}`;
  if (v.secret) return `Secret "${v.secret.secretName}"${v.secret.optional ? ', optional' : ''}`;
  if (v.projected) return `projected: ${(v.projected.sources ?? []).map((s) => sourceOf({ name: v.name, ...s } as Volume)).join(', ')}`;
  return 'downwardAPI';
}

export function contributeVolumes(ctx: VolumeInput): Contribution {
  const pod = ctx.pod;
  const problems = validateVolumes(pod);
  if (problems.length) throw new FieldError(problems[0].field, problems[0].message);

  const layouts = new Map<string, VolumeLayout>();
  const hostSteps: HostStep[] = [];
  (pod.spec.volumes ?? []).forEach((v, i) => {
    const field = `spec.volumes[${i}]`;
    const l = volumeLayout(ctx.dirs, v, field);
    layouts.set(v.name, l);
    // Computing the files now is what makes a missing ConfigMap or key fail before the host is touched.
    hostSteps.push(...volumeHostSteps(l, projectVolume(ctx, v, field), sourceOf(v)));
  });

  const mounts = new Map<string, MountOp[]>();
  const env = new Map<string, EnvEntry[]>();
  const each = [
    ...(pod.spec.initContainers ?? []).map((c, i) => ({ c, field: `spec.initContainers[${i}]` })),
    ...pod.spec.containers.map((c, i) => ({ c, field: `spec.containers[${i}]` })),
  ];
  for (const { c, field } of each) {
    const list = resolveEnv(ctx, c, field);
    env.set(c.name, list);
    mounts.set(c.name, containerMounts(layouts, c, field, expandEnvList(list)));
  }
  return { mounts, env, hostSteps };
}
