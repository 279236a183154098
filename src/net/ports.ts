// hostPort: which ports a pod publishes on the host, and whether it may.
//
// Unlike CNI portmap ("last write wins"), a port held by another minipod pod or by a host
// process is refused before any container starts. The check runs under the network lock
// and the claim is recorded in the pod's state.json in the same critical section, so two
// pods starting at once cannot both get a port.

import dgram from 'node:dgram';
import net from 'node:net';

import { FieldError, MinipodError } from '../errors.ts';
import { podInfo, podNames } from '../runtime/pods.ts';
import type { Pod } from '../spec/types.ts';
import type { StateRoots } from '../state/paths.ts';
import { parseIPv4 } from './cidr.ts';

export interface HostPort {
  protocol: 'tcp' | 'udp';
  /** A host address; undefined means every address (hostIP empty or 0.0.0.0). */
  hostIP?: string;
  hostPort: number;
  containerPort: number;
  container: string;
}

function portNumber(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new FieldError(field, `must be a port number between 1 and 65535, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The pod's published ports, validated. With hostNetwork the container's ports are the
 * host's: hostPort must equal containerPort (Kubernetes' rule) and defaults to it.
 */
export function hostPorts(pod: Pod): HostPort[] {
  const hostNetwork = pod.spec.hostNetwork === true;
  const out: HostPort[] = [];
  const lists: [string, Pod['spec']['containers']][] = [
    ['spec.initContainers', pod.spec.initContainers ?? []],
    ['spec.containers', pod.spec.containers],
  ];
  for (const [base, list] of lists) {
    for (const [i, c] of list.entries()) {
      for (const [j, p] of (c.ports ?? []).entries()) {
        const field = `${base}[${i}].ports[${j}]`;
        const containerPort = portNumber(p.containerPort, `${field}.containerPort`);
        if (p.hostPort === undefined && !hostNetwork) continue;
        const hostPort = p.hostPort === undefined ? containerPort : portNumber(p.hostPort, `${field}.hostPort`);
        if (hostNetwork && hostPort !== containerPort) {
          throw new FieldError(`${field}.hostPort`, `with hostNetwork, hostPort must equal containerPort (${containerPort}), got ${hostPort}`);
        }
        const proto = p.protocol ?? 'TCP';
        if (proto !== 'TCP' && proto !== 'UDP') throw new FieldError(`${field}.protocol`, `${proto} is not supported (TCP or UDP)`);
        let hostIP: string | undefined;
        if (p.hostIP && p.hostIP !== '0.0.0.0') {
          if (parseIPv4(p.hostIP) === undefined) throw new FieldError(`${field}.hostIP`, `"${p.hostIP}" is not an IPv4 address`);
          hostIP = p.hostIP;
        }
        const hp: HostPort = { protocol: proto === 'TCP' ? 'tcp' : 'udp', hostPort, containerPort, container: c.name, ...(hostIP ? { hostIP } : {}) };
        const dup = out.find((o) => clash(o, hp));
        if (dup) throw new FieldError(`${field}.hostPort`, `${describePort(hp)} is published twice in this pod (also by container "${dup.container}")`);
        out.push(hp);
      }
    }
  }
  return out;
}

/** Two claims collide on the same protocol and port when either covers every address or both name the same one. */
export function clash(a: HostPort, b: HostPort): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (!a.hostIP || !b.hostIP || a.hostIP === b.hostIP);
}

export function describePort(p: HostPort): string {
  return `hostPort ${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}/${p.protocol.toUpperCase()}`;
}

/** Ports other pods of this state root hold (recorded in their state.json and not yet undone). */
export function claimsOfOtherPods(roots: StateRoots, selfUid: string): { pod: string; stale: boolean; port: HostPort }[] {
  const out: { pod: string; stale: boolean; port: HostPort }[] = [];
  for (const name of podNames(roots)) {
    const info = podInfo(roots, name);
    const rec = info.host;
    if (!rec || rec.uid === selfUid || rec.torndown) continue;
    const ports = (rec.network as { hostPorts?: HostPort[] } | undefined)?.hostPorts ?? [];
    for (const port of ports) out.push({ pod: name, stale: info.liveness === 'stale', port });
  }
  return out;
}

/** Tries to bind the port on the host: a listener there makes it fail. */
export function probeBind(p: HostPort): Promise<NodeJS.ErrnoException | undefined> {
  const host = p.hostIP ?? '0.0.0.0';
  return new Promise((resolve) => {
    if (p.protocol === 'tcp') {
      const srv = net.createServer();
      srv.once('error', (e) => resolve(e as NodeJS.ErrnoException));
      srv.listen({ host, port: p.hostPort, exclusive: true, backlog: 1 }, () => srv.close(() => resolve(undefined)));
    } else {
      const sock = dgram.createSocket({ type: 'udp4' });
      sock.once('error', (e) => {
        sock.close();
        resolve(e as NodeJS.ErrnoException);
      });
      sock.bind({ address: host, port: p.hostPort, exclusive: true }, () => sock.close(() => resolve(undefined)));
    }
  });
}

/** Refuses the first port that another pod holds or a host process uses. */
export async function checkHostPorts(roots: StateRoots, pod: string, uid: string, ports: HostPort[]): Promise<void> {
  if (!ports.length) return;
  const others = claimsOfOtherPods(roots, uid);
  for (const p of ports) {
    const holder = others.find((o) => clash(o.port, p));
    if (holder) {
      const hint = holder.stale ? ' (its supervisor is gone: `minipod gc` releases it)' : '';
      throw new MinipodError(`pod "${pod}": ${describePort(p)} is already taken by pod "${holder.pod}"${hint}`, { code: 'EADDRINUSE' });
    }
  }
  for (const p of ports) {
    const e = await probeBind(p);
    if (!e) continue;
    if (e.code === 'EADDRINUSE') {
      throw new MinipodError(`pod "${pod}": ${describePort(p)} is in use on this host: a host process listens on it`, { code: 'EADDRINUSE' });
    }
    if (e.code === 'EADDRNOTAVAIL') {
      throw new MinipodError(`pod "${pod}": ${describePort(p)}: hostIP ${p.hostIP} is not an address of this host`, { code: 'EADDRNOTAVAIL' });
    }
    throw new MinipodError(`pod "${pod}": cannot check ${describePort(p)}: ${e.message}`, { code: e.code });
  }
}
