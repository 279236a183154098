// ConfigMaps and Secrets given with the pod, looked up by name the way the kubelet does:
// in the pod's namespace (an object without a namespace belongs to whichever pod uses it).

import { MinipodError } from '../errors.ts';
import type { ConfigMap, Pod, Secret } from '../spec/types.ts';

export interface DataInput {
  pod: Pod;
  configMaps: ConfigMap[];
  secrets: Secret[];
}

function podNamespace(pod: Pod): string {
  return pod.metadata.namespace ?? 'default';
}

function inNamespace(pod: Pod, o: { metadata: { name: string; namespace?: string } }, name: string): boolean {
  return o.metadata.name === name && (o.metadata.namespace ?? podNamespace(pod)) === podNamespace(pod);
}

export function findConfigMap(input: DataInput, name: string): ConfigMap | undefined {
  return input.configMaps.find((c) => inNamespace(input.pod, c, name));
}

export function findSecret(input: DataInput, name: string): Secret | undefined {
  return input.secrets.find((s) => inNamespace(input.pod, s, name));
}

/** What to say when an object is missing: where objects come from. */
export function notFound(kind: 'ConfigMap' | 'Secret', name: string, pod: Pod): string {
  const ns = podNamespace(pod);
  return `${kind} "${name}" not found${ns !== 'default' ? ` in namespace "${ns}"` : ''}: put it in the manifest (a separate YAML document) or give it with --configmap FILE, or set optional: true`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict standard base64 (line breaks allowed, as Go's decoder allows them). */
function decodeBase64(text: string, what: string): Buffer {
  const s = typeof text === 'string' ? text.replace(/[\r\n]/g, '') : '';
  if (typeof text !== 'string' || !BASE64.test(s)) throw new MinipodError(`${what}: not valid base64`, { code: 'EINVAL' });
  return Buffer.from(s, 'base64');
}

/** A ConfigMap's keys and contents: data (UTF-8 text) and binaryData (base64). */
export function configMapData(cm: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data ?? {})) out.set(k, Buffer.from(String(v), 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) out.set(k, decodeBase64(v, `ConfigMap "${cm.metadata.name}" binaryData.${k}`));
  return out;
}

/** A Secret's keys and contents: data (base64) with stringData written over it, as the API server merges them. */
export function secretData(s: Secret): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(s.data ?? {})) out.set(k, decodeBase64(v, `Secret "${s.metadata.name}" data.${k}`));
  for (const [k, v] of Object.entries(s.stringData ?? {})) out.set(k, Buffer.from(String(v), 'utf8'));
  return out;
}

/** The text-only view env uses: ConfigMap env references read `data` only, as the kubelet does. */
export function configMapEnvData(cm: ConfigMap): Map<string, string> {
  return new Map(Object.entries(cm.data ?? {}).map(([k, v]) => [k, String(v)]));
}
