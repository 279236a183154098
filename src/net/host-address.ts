// The host's own address: a hostNetwork pod's IP and every pod's status.hostIP (as the
// node's InternalIP in Kubernetes). The address of the interface that holds the default
// route, else the first global IPv4 address that is not one of minipod's bridges.

import { readFileSync } from 'node:fs';
import os from 'node:os';

function defaultRouteInterface(): string | undefined {
  try {
    for (const line of readFileSync('/proc/net/route', 'utf8').split('\n').slice(1)) {
      const [iface, dest, , , , , , mask] = line.trim().split(/\s+/);
      if (dest === '00000000' && mask === '00000000') return iface;
    }
  } catch {
    // no /proc/net/route
  }
  return undefined;
}

export function hostAddress(exclude: string[] = []): string | undefined {
  const ifs = os.networkInterfaces();
  const v4 = (name: string) => (ifs[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const def = defaultRouteInterface();
  if (def && v4(def)) return v4(def);
  for (const name of Object.keys(ifs).sort()) {
    if (exclude.includes(name) || name.startsWith('mp')) continue;
    const a = v4(name);
    if (a) return a;
  }
  return undefined;
}

export interface Route {
  iface: string;
  /** Destination network and mask as 32-bit numbers. */
  dest: number;
  mask: number;
}

/** IPv4 routes of this network namespace other than the default route (/proc/net/route). */
export function networkRoutes(): Route[] {
  let text = '';
  try {
    text = readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  // The file prints addresses as host-order (little-endian) hex.
  const le = (h: string) => (Buffer.from(h, 'hex').readUInt32LE(0) >>> 0);
  const out: Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const mask = le(f[7]);
    if (mask === 0) continue;
    out.push({ iface: f[0], dest: le(f[1]), mask });
  }
  return out;
}
