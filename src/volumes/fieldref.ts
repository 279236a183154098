// The downward API: pod fields (fieldRef) and container resources (resourceFieldRef) as
// strings, shared by env values and downwardAPI volume files. Formats follow the kubelet
// (pkg/fieldpath and pkg/api/v1/resource): whole maps as `key="value"` lines sorted by
// key, resources rounded up to whole divisors.

import { statfsSync } from 'node:fs';
import os from 'node:os';

import type { Container, Pod, ResourceFieldSelector } from '../spec/types.ts';
import { milliUnits, parseQuantity, wholeUnits } from './quantity.ts';

export interface FieldInput {
  pod: Pod;
  /** The pod's uid as minipod assigned it. */
  uid: string;
  facts: { podIP?: string; hostIP?: string; podIPs?: unknown; hostIPs?: unknown };
}

/** Fields an env var may refer to (besides labels['k'] / annotations['k']). */
export const ENV_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
] as const;

/** Fields a downwardAPI volume file may hold (besides labels['k'] / annotations['k']). */
export const VOLUME_FIELDS = ['metadata.name', 'metadata.namespace', 'metadata.uid', 'metadata.labels', 'metadata.annotations'] as const;

export const RESOURCES = [
  'limits.cpu',
  'limits.memory',
  'limits.ephemeral-storage',
  'requests.cpu',
  'requests.memory',
  'requests.ephemeral-storage',
] as const;

/** `metadata.labels['app']` -> ['metadata.labels', 'app']. */
export function splitSubscript(fieldPath: string): [string, string | undefined] {
  const m = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/.exec(fieldPath);
  return m ? [m[1], m[2]] : [fieldPath, undefined];
}

/** A problem with a fieldPath for env (forVolume false) or a volume file, or undefined. */
export function fieldPathProblem(fieldPath: unknown, forVolume: boolean): string | undefined {
  if (typeof fieldPath !== 'string' || !fieldPath) return 'fieldPath is required';
  const [base, key] = splitSubscript(fieldPath);
  if (key !== undefined) return key ? undefined : `fieldPath "${fieldPath}": the key in [''] must not be empty`;
  const allowed: readonly string[] = forVolume ? VOLUME_FIELDS : ENV_FIELDS;
  if (allowed.includes(base)) return undefined;
  const labelsHint = !forVolume && (base === 'metadata.labels' || base === 'metadata.annotations') ? ` (env needs one key: ${base}['KEY'])` : '';
  return `fieldPath "${fieldPath}" is not supported${labelsHint}; supported: ${[...allowed, "metadata.labels['KEY']", "metadata.annotations['KEY']"].join(', ')}`;
}

/** Go's %q of a string (strconv.Quote), as the kubelet writes label and annotation values. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c === 0x20 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (c < 0x10000) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += `\\U${c.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A whole label or annotation map as a downwardAPI file: sorted `key="value"` lines, no final newline. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(String(m![k]))}`)
    .join('\n');
}

function addresses(list: unknown, single: string | undefined): string {
  if (Array.isArray(list) && list.length) return list.map(String).join(',');
  return single ?? '';
}

/** The value of a pod field (already checked with fieldPathProblem). Unset addresses are empty. */
export function podFieldValue(input: FieldInput, fieldPath: string): string {
  const { pod, facts } = input;
  const [base, key] = splitSubscript(fieldPath);
  if (key !== undefined) {
    const map = base === 'metadata.labels' ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[key] ?? '';
  }
  switch (base) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return input.uid;
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      // The kubelet's pods are bound to its node: this host.
      return pod.spec.nodeName ?? os.hostname();
    case 'spec.serviceAccountName':
      // The API server defaults it to "default".
      return pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';
    case 'status.podIP':
      return facts.podIP ?? '';
    case 'status.podIPs':
      return addresses(facts.podIPs, facts.podIP);
    case 'status.hostIP':
      return facts.hostIP ?? '';
    case 'status.hostIPs':
      return addresses(facts.hostIPs, facts.hostIP);
  }
  throw new Error(`unsupported fieldPath "${fieldPath}"`);
}

const CPU_DIVISORS = ['1m', '1'];
const BYTE_DIVISORS = ['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei'];

/** A problem with a resourceFieldRef's resource or divisor, or undefined. */
export function resourceProblem(ref: ResourceFieldSelector): string | undefined {
  if (!(RESOURCES as readonly string[]).includes(ref.resource)) return `resource "${ref.resource}" is not supported; supported: ${RESOURCES.join(', ')}`;
  if (ref.divisor === undefined) return undefined;
  const d = parseQuantity(ref.divisor);
  const allowed = ref.resource.endsWith('.cpu') ? CPU_DIVISORS : BYTE_DIVISORS;
  if (d === undefined || !allowed.some((a) => parseQuantity(a) === d)) return `divisor "${ref.divisor}" is not valid for ${ref.resource}; use one of ${allowed.join(', ')}`;
  return undefined;
}

/** What the node has, used for a limit the container does not set (the kubelet uses allocatable). */
function nodeCapacity(resource: 'cpu' | 'memory' | 'ephemeral-storage'): number {
  if (resource === 'cpu') return os.availableParallelism();
  if (resource === 'memory') return os.totalmem();
  const fs = statfsSync('/');
  return fs.blocks * fs.bsize;
}

function quantityOf(v: string | number | undefined): number | undefined {
  return v === undefined ? undefined : parseQuantity(v);
}

/**
 * A container's resource as the kubelet exposes it: limits default to the node's capacity,
 * requests to the limit when only a limit is set (API defaulting), else 0. Rounded up to
 * whole divisors.
 */
export function resourceValue(c: Container, ref: ResourceFieldSelector): string {
  const [kind, name] = ref.resource.split('.', 2) as ['limits' | 'requests', 'cpu' | 'memory' | 'ephemeral-storage'];
  const limit = quantityOf(c.resources?.limits?.[name]);
  const request = quantityOf(c.resources?.requests?.[name]);
  const value = kind === 'limits' ? (limit ?? nodeCapacity(name)) : (request ?? limit ?? 0);
  const divisor = parseQuantity(ref.divisor ?? '1') ?? 1;
  if (name === 'cpu') return String(Math.ceil(milliUnits(value) / milliUnits(divisor)));
  return String(Math.ceil(wholeUnits(value) / wholeUnits(divisor)));
}
