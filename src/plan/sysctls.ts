// spec.securityContext.sysctls, as the kubelet decides them:
//
//   safe       Kubernetes' safe set: namespaced, and unable to affect other pods or the host
//   unsafe     namespaced (net.*, kernel.shm*/msg*/sem, fs.mqueue.*) but not in the safe
//              set: only when --allow-unsafe-sysctls (the kubelet's flag) names it
//   refused    not namespaced (vm.*, most kernel.*): setting one changes the host
//
// Each becomes a host operation: the supervisor writes /proc/sys/KEY from inside the pod's
// network or IPC namespace (entered by pause's pidfd) right after pause starts, before any
// container runs. Nothing is written on the host, so nothing needs undoing: the values go
// with the pod's namespaces.

import { FieldError } from '../errors.ts';
import type { Pod } from '../spec/types.ts';
import type { HostOp } from './host-ops.ts';

export const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
];

/** The namespace a sysctl belongs to, or undefined when it has none (it is the host's). */
export function sysctlNamespace(name: string): 'net' | 'ipc' | undefined {
  if (name.startsWith('net.')) return 'net';
  if (/^kernel\.(shm(all|max|mni|_rmid_forced)|msg(max|mnb|mni)|sem)$/.test(name) || name.startsWith('fs.mqueue.')) return 'ipc';
  return undefined;
}

/** Whether a pattern of --allow-unsafe-sysctls ("net.core.somaxconn", "net.core.*") names it. */
function allowed(name: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : p === name));
}

export function sysctlOps(pod: Pod, allowUnsafe: string[]): HostOp[] {
  const list = pod.spec.securityContext?.sysctls ?? [];
  const seen = new Set<string>();
  return list.map((s, i): HostOp => {
    const field = `spec.securityContext.sysctls[${i}]`;
    if (typeof s?.name !== 'string' || typeof s.value !== 'string') throw new FieldError(field, 'a sysctl needs a name and a value (strings)');
    // Kubernetes accepts "/" as the separator too ("net/ipv4/ip_local_port_range").
    const name = s.name.includes('/') ? s.name.replace(/\//g, '.') : s.name;
    if (!/^[a-z0-9_]+(\.[a-z0-9_*-]+)+$/.test(name) || name.includes('*')) throw new FieldError(`${field}.name`, `"${s.name}" is not a sysctl name`);
    if (seen.has(name)) throw new FieldError(`${field}.name`, `${name} is set twice`);
    seen.add(name);
    if (/[\n\0]/.test(s.value)) throw new FieldError(`${field}.value`, 'must be one line');
    const ns = sysctlNamespace(name);
    if (!ns) throw new FieldError(`${field}.name`, `${name} is not namespaced: setting it would change the host, so it cannot be set for a pod`);
    if (ns === 'net' && pod.spec.hostNetwork) throw new FieldError(`${field}.name`, `${name} would change the host's network namespace (hostNetwork: true)`);
    if (ns === 'ipc' && pod.spec.hostIPC) throw new FieldError(`${field}.name`, `${name} would change the host's IPC namespace (hostIPC: true)`);
    if (!SAFE_SYSCTLS.includes(name) && !allowed(name, allowUnsafe)) {
      throw new FieldError(`${field}.name`, `${name} is not in Kubernetes' safe set; allow it with --allow-unsafe-sysctls ${name} (or a pattern like ${name.split('.').slice(0, -1).join('.')}.*)`);
    }
    return { op: 'sysctl', ns, key: name.replace(/\./g, '/'), value: s.value };
  });
}
