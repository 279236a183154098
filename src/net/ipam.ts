// Address allocation: one file per address under <run>/net/<bridge>/leases/, created with
// O_EXCL (so two allocators can never both own an address, even without the lock) and
// holding the owner pod's name and uid. The caller holds the bridge's lock (lock.ts) so that
// the scan, the cursor and the subnet check are consistent.
//
// Like CNI's host-local, allocation continues after the last address handed out instead of
// reusing the lowest free one: an address just freed is not given to the next pod at once,
// so stale ARP and conntrack entries of the old pod do not hit the new one.

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { MinipodError } from '../errors.ts';
import { claimFile } from '../state/files.ts';
import { contains, formatIPv4, gatewayOf, hostRange, parseIPv4, type Subnet } from './cidr.ts';

export interface LeaseOwner {
  pod: string;
  uid: string;
}

export interface Lease extends LeaseOwner {
  ip: string;
  file: string;
}

export function leasesDir(netDir: string): string {
  return path.join(netDir, 'leases');
}

/** Every lease of a bridge directory; unreadable files are reported with an empty owner. */
export function listLeases(netDir: string): Lease[] {
  const dir = leasesDir(netDir);
  if (!existsSync(dir)) return [];
  const out: Lease[] = [];
  for (const name of readdirSync(dir)) {
    if (parseIPv4(name) === undefined) continue; // temp or foreign files
    const file = path.join(dir, name);
    let owner: LeaseOwner = { pod: '', uid: '' };
    try {
      owner = JSON.parse(readFileSync(file, 'utf8')) as LeaseOwner;
    } catch {
      // written half-way by a crashed allocator: its owner never learnt the address
    }
    out.push({ ip: name, file, pod: owner.pod ?? '', uid: owner.uid ?? '' });
  }
  return out.sort((a, b) => (parseIPv4(a.ip) ?? 0) - (parseIPv4(b.ip) ?? 0));
}

interface NetworkFile {
  bridge: string;
  subnet: string;
}

/** The subnet a bridge directory was set up with, if any. */
export function recordedSubnet(netDir: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(netDir, 'network.json'), 'utf8')) as NetworkFile).subnet;
  } catch {
    return undefined;
  }
}

/**
 * A bridge keeps the subnet it was created with while any pod uses it: another subnet on
 * the same bridge would put pods in two networks that cannot reach each other.
 */
function checkSubnet(netDir: string, bridge: string, subnet: Subnet): void {
  const before = recordedSubnet(netDir);
  if (before && before !== subnet.text) {
    const users = listLeases(netDir);
    if (users.length) {
      const pods = [...new Set(users.map((l) => l.pod || '?'))].slice(0, 5).join(', ');
      throw new MinipodError(
        `bridge "${bridge}" is in use with subnet ${before} (pods: ${pods}), not ${subnet.text}: use that subnet, or another bridge name`,
        { code: 'ERR_MINIPOD_SUBNET' },
      );
    }
  }
  if (before !== subnet.text) writeFileSync(path.join(netDir, 'network.json'), JSON.stringify({ bridge, subnet: subnet.text } satisfies NetworkFile) + '\n');
}

/** Allocates the next free address of subnet for owner (the caller holds the bridge lock). */
export function allocate(netDir: string, bridge: string, subnet: Subnet, owner: LeaseOwner): Lease {
  const dir = leasesDir(netDir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  checkSubnet(netDir, bridge, subnet);
  const taken = new Set<string>();
  for (const l of listLeases(netDir)) {
    if (l.uid === owner.uid && l.pod === owner.pod) return l; // asked twice: same answer
    taken.add(l.ip);
  }
  const { last } = hostRange(subnet);
  const first = gatewayOf(subnet) + 1;
  const size = last - first + 1;
  const cursorFile = path.join(netDir, 'last');
  let prev = first - 1;
  try {
    const c = parseIPv4(readFileSync(cursorFile, 'utf8').trim());
    if (c !== undefined && contains(subnet, c) && c >= first - 1 && c <= last) prev = c;
  } catch {
    // no cursor yet
  }
  for (let i = 1; i <= size; i++) {
    const n = first + ((prev - first + i + size) % size);
    const ip = formatIPv4(n);
    if (taken.has(ip)) continue;
    const file = path.join(dir, ip);
    if (!claimFile(file, owner, 0o644)) continue;
    writeFileSync(cursorFile, ip + '\n');
    return { ip, file, ...owner };
  }
  throw new MinipodError(
    `subnet ${subnet.text} of bridge "${bridge}" is exhausted: all ${size} pod addresses are allocated; remove pods, run \`minipod gc\`, or choose a larger subnet`,
    { code: 'ERR_MINIPOD_EXHAUSTED' },
  );
}

/** Frees a lease if it still belongs to uid (a later pod may own the same address). */
export function release(file: string, uid: string): boolean {
  let owner: LeaseOwner | undefined;
  try {
    owner = JSON.parse(readFileSync(file, 'utf8')) as LeaseOwner;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    // unreadable: written half-way by us (we recorded the name before creating it)
  }
  if (owner && owner.uid !== uid) return false;
  rmSync(file, { force: true });
  return true;
}
