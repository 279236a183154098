// What the network part of a pod's host record (state.json's host.network) says: the
// facts of its network (bridge, address, ports), read by port checks, `network ls` and gc.
// (How to undo it is the journal's: src/state/host.ts.) Every field is optional past
// `mode`: a record may stop at any point if minipod died half-way.

import type { HostRecord } from '../state/host.ts';
import type { HostPort } from './ports.ts';

export interface NetRecord {
  mode: 'bridge' | 'host';
  bridge?: string;
  subnet?: string;
  gateway?: string;
  /** minipod's nftables table of the bridge. */
  table?: string;
  /** The bridge's state directory (leases, lock). */
  netDir?: string;
  /** Published ports: the claim other pods are checked against. */
  hostPorts?: HostPort[];
  /** The pod's address and its lease file. */
  ip?: string;
  lease?: string;
  /** Host end of the veth pair (recorded before it is created). */
  veth?: string;
  /** The hostPort elements are (being) added to the table. */
  dnat?: boolean;
}

export function netRecord(rec: HostRecord): NetRecord | undefined {
  return rec.network as NetRecord | undefined;
}
