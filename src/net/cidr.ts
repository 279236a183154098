// IPv4 addresses and subnets as numbers: parsing, validation and the host range.
// Pure; used by the planner (no root) as well as by address allocation.

import { MinipodError } from '../errors.ts';

export interface Subnet {
  /** The network address, as a 32-bit unsigned number. */
  base: number;
  prefix: number;
  /** "10.90.0.0/16" */
  text: string;
}

/** "10.0.0.1" -> number, or undefined when it is not a dotted-quad IPv4 address. */
export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  // Leading zeros are ambiguous (octal in some parsers): refuse them.
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses the pod subnet. It must leave room for the gateway and at least one pod (prefix
 * at most 30), and be written with its network address (10.90.0.0/16, not 10.90.0.1/16):
 * a typo there would otherwise silently move every pod.
 */
export function parseSubnet(s: string, what = 'subnet'): Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s.trim());
  const bad = (why: string) => new MinipodError(`${what} "${s}" is not a valid IPv4 CIDR: ${why}`, { code: 'ERR_MINIPOD_CIDR' });
  if (!m) throw bad('expected ADDRESS/PREFIX, e.g. 10.90.0.0/16');
  const addr = parseIPv4(m[1]);
  if (addr === undefined) throw bad(`"${m[1]}" is not an IPv4 address`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw bad(`prefix /${prefix} is larger than 32`);
  if (prefix > 30) throw bad(`prefix /${prefix} leaves no room for a gateway and a pod (at most /30)`);
  if (prefix < 8) throw bad(`prefix /${prefix} is implausibly large for a pod network (at least /8)`);
  const base = (addr & maskOf(prefix)) >>> 0;
  if (base !== addr) throw bad(`host bits are set; the network is ${formatIPv4(base)}/${prefix}`);
  return { base, prefix, text: `${formatIPv4(base)}/${prefix}` };
}

/** The first and last address a host may use (network and broadcast excluded). */
export function hostRange(n: Subnet): { first: number; last: number } {
  const size = 2 ** (32 - n.prefix);
  return { first: n.base + 1, last: n.base + size - 2 };
}

/** The bridge's own address: the subnet's first host address. */
export function gatewayOf(n: Subnet): number {
  return n.base + 1;
}

export function contains(n: Subnet, ip: number): boolean {
  return ((ip & maskOf(n.prefix)) >>> 0) === n.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & maskOf(p)) >>> 0) === ((b.base & maskOf(p)) >>> 0);
}
