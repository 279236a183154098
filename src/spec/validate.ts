// Semantic checks, after the structural pass has established the types: names, references,
// ranges and the rules Kubernetes' API server applies that a user would otherwise meet as
// a confusing failure at start time.

import { Buffer } from 'node:buffer';

import { validateVolumes } from '../volumes/validate.ts';
import type { Issue } from './structure.ts';
import type { ConfigMap, Container, PersistentVolumeClaim, Pod, Secret } from './types.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dnsLabelError(v: string): string | undefined {
  if (v.length > 63) return `"${v}" is longer than 63 characters`;
  if (!DNS_LABEL.test(v)) return `"${v}" is not a DNS-1123 label (lower case letters, digits and '-', starting and ending with a letter or digit)`;
  return undefined;
}

export function dnsSubdomainError(v: string): string | undefined {
  if (v.length > 253) return `"${v}" is longer than 253 characters`;
  if (!DNS_SUBDOMAIN.test(v)) return `"${v}" is not a DNS-1123 subdomain (lower case letters, digits, '-' and '.')`;
  return undefined;
}

/** Keys of ConfigMap/Secret data: they become file names and env names. */
export function configKeyError(k: string): string | undefined {
  if (k.length > 253) return `key "${k}" is longer than 253 characters`;
  if (!CONFIG_KEY.test(k) || k === '.' || k === '..') return `key "${k}" must consist of letters, digits, '-', '_' or '.' (and not be "." or "..")`;
  return undefined;
}

function base64Error(v: string): string | undefined {
  const s = v.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return 'is not valid base64';
  return Buffer.from(s, 'base64').toString('base64') === s ? undefined : 'is not valid base64';
}

/** Kubernetes' limit on all of an object's annotations together (keys and values). */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;

/** Ids as Kubernetes takes them: integers 0..2^31-1 (a -1 or 2^32 must never become root). */
const MAX_ID = 2 ** 31 - 1;

/**
 * The longest duration, in seconds, minipod's timers hold (milliseconds in a 32-bit int):
 * about 24.8 days. Longer ones are refused rather than wrapped around to a short one.
 */
export const MAX_DURATION_S = Math.floor((2 ** 31 - 1) / 1000);

function idError(v: number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Number.isInteger(v) && v >= 0 && v <= MAX_ID ? undefined : `${v} is out of range (0 to ${MAX_ID})`;
}

function durationError(v: number | undefined, min = 0): string | undefined {
  if (v === undefined) return undefined;
  if (v < min) return `must be at least ${min}`;
  return v > MAX_DURATION_S ? `${v} is longer than minipod can time (at most ${MAX_DURATION_S} s, about 24 days)` : undefined;
}

function metadata(meta: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }, out: Issue[], label: boolean): void {
  let size = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) size += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  if (size > ANNOTATIONS_MAX_BYTES) {
    out.push({ path: 'metadata.annotations', kind: 'error', message: `the annotations take ${size} bytes; Kubernetes allows at most ${ANNOTATIONS_MAX_BYTES} (256 KiB) in all` });
  }
  const nameErr = label ? dnsLabelError(meta.name) : dnsSubdomainError(meta.name);
  if (nameErr) out.push({ path: 'metadata.name', kind: 'error', message: nameErr });
  if (meta.namespace !== undefined) {
    const e = dnsLabelError(meta.namespace);
    if (e) out.push({ path: 'metadata.namespace', kind: 'error', message: e });
  }
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    if (v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v)) {
      out.push({ path: `metadata.labels['${k}']`, kind: 'error', message: `label value "${v}" must be at most 63 characters of letters, digits, '-', '_' or '.'` });
    }
  }
}

function containerChecks(c: Container, base: string, init: boolean, out: Issue[]): void {
  const err = (p: string, message: string) => out.push({ path: `${base}.${p}`, kind: 'error', message });
  const nameErr = dnsLabelError(c.name);
  if (nameErr) err('name', nameErr);
  if (!c.image.trim()) err('image', 'must not be empty');
  if (c.restartPolicy !== undefined) {
    if (!init) err('restartPolicy', 'only init containers take a restartPolicy (Always makes a sidecar)');
    else if (c.restartPolicy !== 'Always') err('restartPolicy', `must be Always (a sidecar), not "${c.restartPolicy}"`);
  }
  if (c.workingDir !== undefined && !c.workingDir.startsWith('/')) err('workingDir', `"${c.workingDir}" must be an absolute path`);
  if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy)) {
    err('imagePullPolicy', `must be Always, IfNotPresent or Never, not "${c.imagePullPolicy}"`);
  }
  const envNames = new Set<string>();
  (c.env ?? []).forEach((e, i) => {
    if (!e.name || e.name.includes('=')) err(`env[${i}].name`, `"${e.name}" is not a valid environment variable name`);
    if (e.value !== undefined && e.valueFrom) err(`env[${i}].valueFrom`, 'may not be given together with value');
    if (e.valueFrom) {
      const n = ['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'].filter((k) => (e.valueFrom as Record<string, unknown>)[k]).length;
      if (n !== 1) err(`env[${i}].valueFrom`, 'must have exactly one of configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef');
    }
    envNames.add(e.name);
  });
  (c.envFrom ?? []).forEach((e, i) => {
    if (!!e.configMapRef === !!e.secretRef) err(`envFrom[${i}]`, 'must have exactly one of configMapRef, secretRef');
  });
  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    if (p.containerPort < 1 || p.containerPort > 65535) err(`ports[${i}].containerPort`, `${p.containerPort} is not a port number (1-65535)`);
    if (p.hostPort !== undefined && (p.hostPort < 1 || p.hostPort > 65535)) err(`ports[${i}].hostPort`, `${p.hostPort} is not a port number (1-65535)`);
    if (p.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) err(`ports[${i}].protocol`, `must be TCP, UDP or SCTP, not "${p.protocol}"`);
    if (p.protocol === 'SCTP' && p.hostPort !== undefined) err(`ports[${i}].protocol`, 'an SCTP hostPort is not supported');
    if (p.hostIP !== undefined && !/^(\d{1,3}\.){3}\d{1,3}$|:/.test(p.hostIP)) err(`ports[${i}].hostIP`, `"${p.hostIP}" is not an IP address`);
    if (p.name !== undefined) {
      if (p.name.length > 15 || !PORT_NAME.test(p.name) || !/[a-z]/.test(p.name) || p.name.includes('--')) {
        err(`ports[${i}].name`, `"${p.name}" is not a port name (at most 15 lower case letters, digits and '-', with a letter)`);
      } else if (portNames.has(p.name)) err(`ports[${i}].name`, `"${p.name}" is used twice`);
      portNames.add(p.name);
    }
  });
  const sc = c.securityContext;
  for (const k of ['runAsUser', 'runAsGroup'] as const) {
    const e = idError(sc?.[k]);
    if (e) err(`securityContext.${k}`, e);
  }
  const probes = { livenessProbe: c.livenessProbe, readinessProbe: c.readinessProbe, startupProbe: c.startupProbe };
  for (const [name, pr] of Object.entries(probes)) {
    if (!pr) continue;
    for (const k of ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'terminationGracePeriodSeconds'] as const) {
      const e = durationError(pr[k]);
      if (e) err(`${name}.${k}`, e);
    }
  }
  for (const h of ['postStart', 'preStop'] as const) {
    const e = durationError(c.lifecycle?.[h]?.sleep?.seconds);
    if (e) err(`lifecycle.${h}.sleep.seconds`, e);
  }
}

export function validatePod(pod: Pod, out: Issue[]): void {
  if (pod.apiVersion !== 'v1') out.push({ path: 'apiVersion', kind: 'error', message: `must be v1 for a Pod, not "${pod.apiVersion}"` });
  metadata(pod.metadata, out, true);
  const s = pod.spec;
  if (s.restartPolicy !== undefined && !['Always', 'OnFailure', 'Never'].includes(s.restartPolicy)) {
    out.push({ path: 'spec.restartPolicy', kind: 'error', message: `must be Always, OnFailure or Never, not "${s.restartPolicy}"` });
  }
  if (s.terminationGracePeriodSeconds !== undefined && s.terminationGracePeriodSeconds < 0) {
    out.push({ path: 'spec.terminationGracePeriodSeconds', kind: 'error', message: 'must not be negative' });
  } else {
    const e = durationError(s.terminationGracePeriodSeconds);
    if (e) out.push({ path: 'spec.terminationGracePeriodSeconds', kind: 'error', message: e });
  }
  if (s.activeDeadlineSeconds !== undefined) {
    const e = s.activeDeadlineSeconds < 1 ? 'must be at least 1' : durationError(s.activeDeadlineSeconds);
    if (e) out.push({ path: 'spec.activeDeadlineSeconds', kind: 'error', message: e });
  }
  const psc = s.securityContext;
  for (const k of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
    const e = idError(psc?.[k]);
    if (e) out.push({ path: `spec.securityContext.${k}`, kind: 'error', message: e });
  }
  (psc?.supplementalGroups ?? []).forEach((g, i) => {
    const e = idError(g);
    if (e) out.push({ path: `spec.securityContext.supplementalGroups[${i}]`, kind: 'error', message: e });
  });
  if (s.hostname !== undefined) {
    const e = dnsLabelError(s.hostname);
    if (e) out.push({ path: 'spec.hostname', kind: 'error', message: e });
  }
  if (s.dnsPolicy !== undefined && !['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'].includes(s.dnsPolicy)) {
    out.push({ path: 'spec.dnsPolicy', kind: 'error', message: `must be ClusterFirst, ClusterFirstWithHostNet, Default or None, not "${s.dnsPolicy}"` });
  }
  if (s.dnsPolicy === 'None' && !s.dnsConfig) out.push({ path: 'spec.dnsConfig', kind: 'error', message: 'is required when dnsPolicy is None' });
  if (!s.containers.length) out.push({ path: 'spec.containers', kind: 'error', message: 'must have at least one container' });

  const seen = new Map<string, string>();
  const lists: [string, Container[], boolean][] = [
    ['spec.initContainers', s.initContainers ?? [], true],
    ['spec.containers', s.containers, false],
  ];
  for (const [base, list, init] of lists) {
    list.forEach((c, i) => {
      const p = `${base}[${i}]`;
      containerChecks(c, p, init, out);
      if (seen.has(c.name)) out.push({ path: `${p}.name`, kind: 'error', message: `"${c.name}" is used twice (also ${seen.get(c.name)})` });
      else seen.set(c.name, p);
    });
  }
  // Containers share the pod's network namespace: one port can be bound once.
  const ports = new Map<string, string>();
  s.containers.forEach((c, i) =>
    (c.ports ?? []).forEach((p, j) => {
      const key = `${p.containerPort}/${p.protocol ?? 'TCP'}`;
      const at = `spec.containers[${i}].ports[${j}]`;
      const prev = ports.get(key);
      if (prev && !prev.startsWith(`spec.containers[${i}]`)) {
        out.push({ path: `${at}.containerPort`, kind: 'unsupported', message: `${key} is also declared by ${prev}: containers share the pod's network, so the second bind will fail with EADDRINUSE` });
      } else if (!prev) ports.set(key, at);
    }),
  );
  if (s.hostNetwork) {
    s.containers.forEach((c, i) =>
      (c.ports ?? []).forEach((p, j) => {
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort) {
          out.push({ path: `spec.containers[${i}].ports[${j}].hostPort`, kind: 'error', message: `must equal containerPort (${p.containerPort}) with hostNetwork` });
        }
      }),
    );
  }
  // Volumes, mounts, subPaths, item paths, modes, and env references to ConfigMaps/Secrets.
  for (const p of validateVolumes(pod)) out.push({ path: p.field, kind: 'error', message: p.message });
  (s.hostAliases ?? []).forEach((a, i) => {
    if (!/^(\d{1,3}\.){3}\d{1,3}$|:/.test(a.ip)) out.push({ path: `spec.hostAliases[${i}].ip`, kind: 'error', message: `"${a.ip}" is not an IP address` });
  });
}

export function validateConfigMap(cm: ConfigMap, out: Issue[]): void {
  if (cm.apiVersion !== 'v1') out.push({ path: 'apiVersion', kind: 'error', message: `must be v1, not "${cm.apiVersion}"` });
  metadata(cm.metadata, out, false);
  for (const [field, data] of [['data', cm.data], ['binaryData', cm.binaryData]] as const) {
    for (const [k, v] of Object.entries(data ?? {})) {
      const e = configKeyError(k);
      if (e) out.push({ path: `${field}['${k}']`, kind: 'error', message: e });
      if (field === 'binaryData') {
        const b = base64Error(v);
        if (b) out.push({ path: `binaryData['${k}']`, kind: 'error', message: b });
        if (cm.data && Object.hasOwn(cm.data, k)) out.push({ path: `binaryData['${k}']`, kind: 'error', message: `key "${k}" is also in data` });
      }
    }
  }
}

export function validateSecret(s: Secret, out: Issue[]): void {
  if (s.apiVersion !== 'v1') out.push({ path: 'apiVersion', kind: 'error', message: `must be v1, not "${s.apiVersion}"` });
  metadata(s.metadata, out, false);
  for (const [field, data] of [['data', s.data], ['stringData', s.stringData]] as const) {
    for (const [k, v] of Object.entries(data ?? {})) {
      const e = configKeyError(k);
      if (e) out.push({ path: `${field}['${k}']`, kind: 'error', message: e });
      if (field === 'data') {
        const b = base64Error(v);
        if (b) out.push({ path: `data['${k}']`, kind: 'error', message: `${b} (use stringData for plain text)` });
      }
    }
  }
}

/** A claim names a local volume (a directory): a DNS label, as a volume name. */
export function validatePvc(c: PersistentVolumeClaim, out: Issue[]): void {
  if (c.apiVersion !== 'v1') out.push({ path: 'apiVersion', kind: 'error', message: `must be v1 for a PersistentVolumeClaim, not "${c.apiVersion}"` });
  metadata(c.metadata, out, true);
  if (c.spec.volumeMode !== undefined && c.spec.volumeMode !== 'Filesystem') out.push({ path: 'spec.volumeMode', kind: 'error', message: 'only Filesystem: a claim is a local directory' });
}
