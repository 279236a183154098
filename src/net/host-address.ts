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
