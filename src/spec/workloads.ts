// Workload kinds as podman kube play takes them: Deployment, ReplicaSet, DaemonSet and Job
// become Pods from their template, once. minipod has no controller loop: nothing is
// reconciled later (a Deployment's replicas are not replaced when one is removed, a new
// template does not roll out); restarts come from restartPolicy, a Job's retries and
// completions from the pod's supervisor (src/plan/job.ts).
//
// Names follow Kubernetes' shape, but deterministically (the same file gives the same names,
// so `minipod down FILE` and `run --replace` find them):
//   Deployment  NAME-HASH-XXXXX   HASH: the pod-template-hash (fnv32a of the template, in
//                                 Kubernetes' safe alphabet), also set as a label
//   ReplicaSet, DaemonSet, Job    NAME-XXXXX
// XXXXX is five characters of that alphabet from the hash and the replica's index.

import type { Issue } from './structure.ts';
import type { Pod, PodSpec, Workload } from './types.ts';
import { validatePod } from './validate.ts';

/** A Job's part of one pod: how many successful runs it owes, how many failures it may have. */
export interface JobParams {
  completions: number;
  backoffLimit: number;
}

export interface WorkloadPod {
  pod: Pod;
  /** Field paths of the pod mapped to the workload document's (for positions in messages). */
  path: (podPath: string) => string;
  job?: JobParams;
}

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no 0, 1, 3 (no words, no look-alikes). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The pod-template-hash as Kubernetes writes it: the decimal digits of the hash, each mapped into the alphabet. */
export function templateHash(template: unknown): string {
  return [...String(fnv32a(JSON.stringify(template)))].map((d) => ALPHABET[Number(d)]).join('');
}

function suffix(seed: string, index: number): string {
  let h = fnv32a(`${seed}/${index}`);
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += ALPHABET[h % ALPHABET.length];
    h = Math.floor(h / ALPHABET.length) + fnv32a(`${seed}/${index}/${i}`);
  }
  return out;
}

const DEFAULTS = { replicas: 1, completions: 1, parallelism: 1, backoffLimit: 6 };

/** Checks a workload's own fields and its template (as a Pod), with paths in the workload's terms. */
export function validateWorkload(w: Workload, out: Issue[]): void {
  const want = w.kind === 'Job' ? 'batch/v1' : 'apps/v1';
  if (w.apiVersion !== want) out.push({ path: 'apiVersion', kind: 'error', message: `must be ${want} for a ${w.kind}, not "${w.apiVersion}"` });
  for (const k of ['replicas', 'completions', 'parallelism', 'backoffLimit', 'activeDeadlineSeconds'] as const) {
    const v = w.spec[k];
    if (v === undefined) continue;
    const min = k === 'backoffLimit' || k === 'replicas' ? 0 : 1;
    if (!Number.isInteger(v) || v < min) out.push({ path: `spec.${k}`, kind: 'error', message: `must be a whole number, at least ${min}` });
    else if (k !== 'backoffLimit' && k !== 'activeDeadlineSeconds' && v > 64) out.push({ path: `spec.${k}`, kind: 'error', message: `${v} pods are more than minipod makes from one workload (at most 64)` });
  }
  const rp = w.spec.template.spec.restartPolicy;
  if (w.kind === 'Job' && rp !== 'Never' && rp !== 'OnFailure') {
    out.push({ path: 'spec.template.spec.restartPolicy', kind: 'error', message: 'a Job\'s pods need restartPolicy Never or OnFailure' });
  }
  if (w.kind !== 'Job' && rp !== undefined && rp !== 'Always') {
    out.push({ path: 'spec.template.spec.restartPolicy', kind: 'error', message: `a ${w.kind}'s pods run with restartPolicy Always` });
  }
  const labels = w.spec.template.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(w.spec.selector?.matchLabels ?? {})) {
    if (labels[k] !== v) out.push({ path: `spec.selector.matchLabels['${k}']`, kind: 'error', message: `does not match the template's labels (${k}=${labels[k] ?? '(none)'}): the pods would not be selected` });
  }
  const first = expandWorkload(w)[0];
  if (!first) return;
  const issues: Issue[] = [];
  validatePod(first.pod, issues);
  for (const i of issues) out.push({ ...i, path: first.path(i.path) });
}

/** The pods of a workload, in order. */
export function expandWorkload(w: Workload): WorkloadPod[] {
  const t = w.spec.template;
  const hash = templateHash(t);
  const name = w.metadata.name;
  const owner = { apiVersion: w.apiVersion, kind: w.kind, name, controller: true };
  let count: number;
  const jobs: JobParams[] = [];
  if (w.kind === 'DaemonSet') count = 1; // one node: this host
  else if (w.kind === 'Job') {
    // completions spread over min(parallelism, completions) pods, each running its share in turn.
    const completions = w.spec.completions ?? DEFAULTS.completions;
    count = Math.min(w.spec.parallelism ?? DEFAULTS.parallelism, completions);
    for (let i = 0; i < count; i++) jobs.push({ completions: Math.floor(completions / count) + (i < completions % count ? 1 : 0), backoffLimit: w.spec.backoffLimit ?? DEFAULTS.backoffLimit });
  } else count = w.spec.replicas ?? DEFAULTS.replicas;
  const extraLabels: Record<string, string> =
    w.kind === 'Deployment' || w.kind === 'ReplicaSet' || w.kind === 'DaemonSet'
      ? { 'pod-template-hash': hash }
      : { 'job-name': name, 'batch.kubernetes.io/job-name': name };
  const out: WorkloadPod[] = [];
  for (let i = 0; i < count; i++) {
    const podName = w.kind === 'Deployment' ? `${name}-${hash}-${suffix(hash, i)}` : `${name}-${suffix(hash, i)}`;
    const spec: PodSpec = structuredClone(t.spec);
    if (w.kind === 'Job' && w.spec.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds ??= w.spec.activeDeadlineSeconds;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: podName,
        namespace: w.metadata.namespace ?? t.metadata?.namespace,
        labels: { ...t.metadata?.labels, ...extraLabels },
        ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        ownerReferences: [owner],
      },
      spec,
    };
    if (pod.metadata.namespace === undefined) delete pod.metadata.namespace;
    out.push({
      pod,
      path: (p) => (p === 'metadata.name' ? 'metadata.name' : p.startsWith('spec') ? `spec.template.${p}` : p.startsWith('metadata') ? `spec.template.${p}` : p),
      ...(jobs[i] ? { job: jobs[i] } : {}),
    });
  }
  return out;
}
