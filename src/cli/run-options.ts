// The options `run` and `plan` share: what shapes a pod's plan (network, cgroups, sysctls,
// seccomp, the ConfigMaps and Secrets it reads), so that `minipod plan` with run's flags
// prints exactly what `minipod run` with them would do.

import type { StartOptions } from '../runtime/start.ts';
import type { ConfigMap, Secret } from '../spec/types.ts';
import { UsageError, warn } from './common.ts';
import { loadManifest, type LoadedManifest } from './manifest.ts';

export const PLAN_OPTIONS = {
  strict: { type: 'boolean' },
  configmap: { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  bridge: { type: 'string' },
  subnet: { type: 'string' },
  'no-masquerade': { type: 'boolean' },
  'cgroup-parent': { type: 'string' },
  cgroups: { type: 'string' },
  'allow-unsafe-sysctls': { type: 'string', multiple: true },
  'seccomp-default': { type: 'boolean' },
} as const;

export const PLAN_OPTIONS_HELP = `      --configmap FILE  ConfigMaps and Secrets the pods refer to (repeatable; the manifest's
                        own stream may carry them too); --secret is the same flag
      --bridge NAME     host bridge for the pod network (default minipod0; env MINIPOD_BRIDGE)
      --subnet CIDR     pod subnet of that bridge (default 10.90.0.0/16; env MINIPOD_SUBNET)
      --no-masquerade   do not masquerade the pod's traffic leaving the subnet
      --cgroup-parent PATH  the cgroup the pod's cgroup is made under (default /minipod;
                        env MINIPOD_CGROUP_PARENT)
      --allow-unsafe-sysctls PATTERNS  namespaced sysctls outside Kubernetes' safe set the
                        pod may set: names or "prefix.*", comma-separated (the kubelet's flag;
                        env MINIPOD_ALLOW_UNSAFE_SYSCTLS)
      --seccomp-default RuntimeDefault seccomp for containers whose manifest does not set a
                        seccompProfile (the kubelet's flag; env MINIPOD_SECCOMP_DEFAULT=1)
      --cgroups enabled|disabled  disabled: no cgroups, as podman's --cgroups=disabled
                        (refused for a pod with cpu or memory resources; env MINIPOD_CGROUPS)
      --strict          treat "not supported yet" manifest fields as errors`;

interface PlanValues {
  strict?: boolean;
  configmap?: string[];
  secret?: string[];
  bridge?: string;
  subnet?: string;
  'no-masquerade'?: boolean;
  'cgroup-parent'?: string;
  cgroups?: string;
  'allow-unsafe-sysctls'?: string[];
  'seccomp-default'?: boolean;
}

function cgroupsOption(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'enabled' || v === 'disabled') return v === 'enabled';
  throw new UsageError(`--cgroups: enabled or disabled, not "${v}"`);
}

/** The manifest and the --configmap files: every ConfigMap and Secret the pods may read. */
export function loadWithObjects(file: string, values: PlanValues): { manifest: LoadedManifest; configMaps: ConfigMap[]; secrets: Secret[] } {
  const manifest = loadManifest(file, !!values.strict, warn);
  const configMaps = manifest.configMaps.map((c) => c.value);
  const secrets = manifest.secrets.map((s) => s.value);
  for (const f of [...(values.configmap ?? []), ...(values.secret ?? [])]) {
    const extra = loadManifest(f, !!values.strict, warn);
    if (extra.pods.length) throw new UsageError(`--configmap ${f}: holds a Pod; give ConfigMaps and Secrets only`);
    configMaps.push(...extra.configMaps.map((c) => c.value));
    secrets.push(...extra.secrets.map((s) => s.value));
  }
  return { manifest, configMaps, secrets };
}

/** What of StartOptions those flags decide. */
export function planOptions(values: PlanValues): Pick<StartOptions, 'network' | 'cgroupParent' | 'cgroups' | 'allowUnsafeSysctls' | 'seccompDefault'> {
  return {
    network: { bridge: values.bridge, subnet: values.subnet, ...(values['no-masquerade'] && { masquerade: false }) },
    cgroupParent: values['cgroup-parent'],
    cgroups: cgroupsOption(values.cgroups),
    allowUnsafeSysctls: values['allow-unsafe-sysctls']?.flatMap((v) => v.split(',')).filter(Boolean),
    ...(values['seccomp-default'] ? { seccompDefault: true } : {}),
  };
}
