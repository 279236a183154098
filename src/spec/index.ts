// The manifest front end: text → typed Pods, ConfigMaps and Secrets, or diagnostics that
// name FILE:LINE:COL FIELD-PATH. Fields minipod does not implement are named in warnings
// (errors with --strict), never silently dropped.

import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';

import { MinipodError } from '../errors.ts';
import { parseStream, type Diagnostic, type Located, type RawDocument } from './parse.ts';
import { configMapFields, podFields, secretFields, type Fields } from './schema.ts';
import { checkFields, isObject, type Issue } from './structure.ts';
import type { ConfigMap, PersistentVolumeClaim, Pod, Secret, Workload } from './types.ts';
import { validateConfigMap, validatePod, validatePvc, validateSecret } from './validate.ts';
import { daemonSetFields, deploymentFields, jobFields, pvcFields, replicaSetFields } from './workload-schema.ts';
import { expandWorkload, validateWorkload, type JobParams } from './workloads.ts';

export type { Diagnostic, Located, Position } from './parse.ts';
export { parseQuantity } from './quantity.ts';

export interface ParseOptions {
  /** Unsupported and unknown fields are errors instead of warnings. */
  strict?: boolean;
}

/** A Pod of the stream: written as one, or made from a workload's template (then its owner and, for a Job, its share). */
export type StreamPod = Located<Pod> & { job?: JobParams };

export interface ParsedManifests {
  pods: StreamPod[];
  configMaps: Located<ConfigMap>[];
  secrets: Located<Secret>[];
  claims: Located<PersistentVolumeClaim>[];
  warnings: Diagnostic[];
}

/** A manifest that cannot be used; message has one `FILE:LINE:COL path: message` per line. */
export class ManifestError extends MinipodError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), { code: 'ERR_MANIFEST' });
    this.name = 'ManifestError';
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file}:${d.line}:${d.col}`;
  const text = d.path ? `${d.path}: ${d.message}` : d.message;
  return d.severity === 'warning' ? `warning: ${where} ${text}` : `${where} ${text}`;
}

/** Kubernetes treats an explicit null like an absent field; so does minipod (`env:` with nothing under it). */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = dropNulls(x);
  return out;
}

/** `hostPort: 0` means no host port, as in Kubernetes (generated manifests carry it). */
function normalize(v: Record<string, unknown>): Record<string, unknown> {
  const spec = (v.kind === 'Pod' ? v.spec : (v.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec) as { containers?: unknown; initContainers?: unknown } | undefined;
  for (const list of [spec?.containers, spec?.initContainers]) {
    for (const c of Array.isArray(list) ? list : []) {
      for (const p of Array.isArray(c?.ports) ? c.ports : []) if (p && p.hostPort === 0) delete p.hostPort;
    }
  }
  return v;
}

/** The API server's defaults that minipod's behaviour depends on, made visible in `plan -o json`. */
function withDefaults(pod: Pod): Pod {
  pod.metadata.namespace ??= 'default';
  pod.spec.restartPolicy ??= 'Always';
  pod.spec.terminationGracePeriodSeconds ??= 30;
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
  return pod;
}

const KINDS: Record<string, { fields: Fields; check: (v: never, out: Issue[]) => void }> = {
  Pod: { fields: podFields, check: validatePod as (v: never, out: Issue[]) => void },
  ConfigMap: { fields: configMapFields, check: validateConfigMap as (v: never, out: Issue[]) => void },
  Secret: { fields: secretFields, check: validateSecret as (v: never, out: Issue[]) => void },
  PersistentVolumeClaim: { fields: pvcFields, check: validatePvc as (v: never, out: Issue[]) => void },
  Deployment: { fields: deploymentFields, check: validateWorkload as (v: never, out: Issue[]) => void },
  ReplicaSet: { fields: replicaSetFields, check: validateWorkload as (v: never, out: Issue[]) => void },
  DaemonSet: { fields: daemonSetFields, check: validateWorkload as (v: never, out: Issue[]) => void },
  Job: { fields: jobFields, check: validateWorkload as (v: never, out: Issue[]) => void },
};

/**
 * The largest manifest stream read: Kubernetes' API server takes at most 3 MiB per request.
 * A larger one is refused before it is parsed (a 10 MB annotation once cost 455 MB).
 */
export const MANIFEST_MAX_BYTES = 3 * 1024 * 1024;

export function parseManifests(text: string, file: string, opts: ParseOptions = {}): ParsedManifests {
  if (Buffer.byteLength(text) > MANIFEST_MAX_BYTES) {
    throw new MinipodError(`${file}: the manifest is ${Buffer.byteLength(text)} bytes; at most ${MANIFEST_MAX_BYTES} (3 MiB, as Kubernetes' API server) are read`, { code: 'EFBIG' });
  }
  const stream = parseStream(text, file);
  const errors: Diagnostic[] = [...stream.errors];
  const warnings: Diagnostic[] = [];
  const result: ParsedManifests = { pods: [], configMaps: [], secrets: [], claims: [], warnings };

  const diag = (doc: RawDocument, i: Issue): void => {
    const p = doc.pos(i.path) ?? { line: 1, col: 1 };
    const severity = i.kind === 'error' || opts.strict ? 'error' : 'warning';
    const d: Diagnostic = { severity, file, line: p.line, col: p.col, path: i.path, message: i.message };
    (severity === 'error' ? errors : warnings).push(d);
  };

  for (const doc of stream.docs) {
    if (!isObject(doc.value)) {
      diag(doc, { path: '', kind: 'error', message: 'a manifest document must be an object (apiVersion, kind, metadata, ...)' });
      continue;
    }
    const kind = doc.value.kind;
    const known = typeof kind === 'string' && Object.hasOwn(KINDS, kind) ? KINDS[kind] : undefined;
    if (!known) {
      const what = typeof kind === 'string' ? `kind ${kind}` : 'a document without kind';
      diag(doc, { path: 'kind', kind: typeof kind === 'string' ? 'unsupported' : 'error', message: `${what}: minipod runs Pods (and Deployments, ReplicaSets, DaemonSets and Jobs as pods) and reads ConfigMaps, Secrets and PersistentVolumeClaims; this document is ignored` });
      continue;
    }
    const value = normalize(dropNulls(doc.value) as Record<string, unknown>);
    const issues: Issue[] = [];
    checkFields(value, known.fields, '', issues);
    // Semantic checks trust the types, so they only run on a structurally sound document.
    if (!issues.some((i) => i.kind === 'error')) known.check(value as never, issues);
    for (const i of issues) diag(doc, i);
    if (issues.some((i) => i.kind === 'error')) continue;
    const located = <T>(v: T): Located<T> => ({ value: v, file, doc: doc.doc, pos: doc.pos });
    if (kind === 'Pod') result.pods.push(located(withDefaults(value as unknown as Pod)));
    else if (kind === 'ConfigMap') result.configMaps.push(located(value as unknown as ConfigMap));
    else if (kind === 'Secret') result.secrets.push(located(value as unknown as Secret));
    else if (kind === 'PersistentVolumeClaim') result.claims.push(located(value as unknown as PersistentVolumeClaim));
    else {
      for (const wp of expandWorkload(value as unknown as Workload)) {
        result.pods.push({ value: withDefaults(wp.pod), file, doc: doc.doc, pos: (p) => doc.pos(wp.path(p)), ...(wp.job ? { job: wp.job } : {}) });
      }
    }
  }
  if (!stream.docs.length && !errors.length) errors.push({ severity: 'error', file, line: 1, col: 1, path: '', message: 'no manifest in this file (empty)' });
  checkDuplicates(result, errors);
  if (errors.length) throw new ManifestError(errors);
  return result;
}

/** Two objects of one kind with one name in one stream: the second would shadow the first. */
function checkDuplicates(r: ParsedManifests, errors: Diagnostic[]): void {
  for (const list of [r.configMaps, r.secrets, r.pods, r.claims] as Located<ConfigMap | Secret | Pod | PersistentVolumeClaim>[][]) {
    const seen = new Set<string>();
    for (const o of list) {
      const n = o.value.metadata.name;
      if (seen.has(n)) {
        const p = o.pos('metadata.name') ?? { line: 1, col: 1 };
        errors.push({ severity: 'error', file: o.file, line: p.line, col: p.col, path: 'metadata.name', message: `${o.value.kind} "${n}" is defined twice` });
      }
      seen.add(n);
    }
  }
}

export function parseManifestFile(file: string, opts: ParseOptions = {}): ParsedManifests {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MinipodError(`${file}: ${(e as Error).message}`, { code: (e as NodeJS.ErrnoException).code });
  }
  return parseManifests(text, file, opts);
}

/** Validates an object given through the API (no file: positions refer to its JSON form). */
export function parseManifestObject(obj: unknown, opts: ParseOptions = {}): ParsedManifests {
  return parseManifests(JSON.stringify(obj, null, 2), '<manifest object>', opts);
}
