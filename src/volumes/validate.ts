// Static checks of a pod's volumes, volumeMounts and env references: everything that can be
// said from the manifest alone, before any ConfigMap is looked up or any path is touched.
// The spec validator runs this and turns each field into FILE:LINE:COL; the hook runs it too,
// so a pod built in code (the API) gets the same answers.

import path from 'node:path';

import type { Container, EnvVar, Pod, Volume } from '../spec/types.ts';
import { fieldPathProblem, resourceProblem } from './fieldref.ts';
import { HOSTPATH_TYPES } from './hostpath.ts';
import { declaredSources, VOLUME_KINDS } from './layout.ts';
import { dnsLabelProblem, isEnvVarName, keyProblem, modeProblem, relativePathProblem } from './names.ts';
import { parseQuantity } from './quantity.ts';

export interface VolumeProblem {
  /** Path of the field in the Pod, e.g. `spec.volumes[2].hostPath.path`. */
  field: string;
  message: string;
}

type Report = (field: string, message: string | undefined) => void;

function checkItems(
  items: { key: string; path: string; mode?: number }[] | undefined,
  f: string,
  report: Report,
): void {
  if (items === undefined) return;
  if (!Array.isArray(items)) return report(`${f}.items`, 'must be a list');
  const seen = new Map<string, number>();
  items.forEach((it, k) => {
    report(`${f}.items[${k}].key`, keyProblem(it?.key));
    report(`${f}.items[${k}].path`, relativePathProblem(it?.path, 'path', { reserved: true }));
    report(`${f}.items[${k}].mode`, modeProblem(it?.mode));
    const p = typeof it?.path === 'string' ? path.normalize(it.path) : undefined;
    if (p !== undefined && seen.has(p)) report(`${f}.items[${k}].path`, `path "${it.path}" is used twice (also items[${seen.get(p)}])`);
    else if (p !== undefined) seen.set(p, k);
  });
}

function checkVolume(pod: Pod, vol: Volume, f: string, report: Report): void {
  const sources = declaredSources(vol);
  if (sources.length === 0) return report(f, `volume "${vol.name}" needs a source, one of ${VOLUME_KINDS.join(', ')}`);
  if (sources.length > 1) return report(`${f}.${sources[1]}`, `a volume has exactly one source; "${vol.name}" has ${sources.join(' and ')}`);
  const kind = sources[0];
  if (!(VOLUME_KINDS as readonly string[]).includes(kind)) return report(`${f}.${kind}`, `volume source "${kind}" is not supported; minipod has ${VOLUME_KINDS.join(', ')}`);
  if (typeof vol[kind] !== 'object') return report(`${f}.${kind}`, 'must be an object');
  if (vol.emptyDir) {
    const e = vol.emptyDir;
    if (e.medium !== undefined && e.medium !== '' && e.medium !== 'Memory') report(`${f}.emptyDir.medium`, `medium "${e.medium}" is not supported: "" (disk) or "Memory" (tmpfs)`);
    if (e.sizeLimit !== undefined) {
      const q = parseQuantity(e.sizeLimit);
      report(`${f}.emptyDir.sizeLimit`, q === undefined ? `"${e.sizeLimit}" is not a quantity (e.g. 64Mi)` : q < 0 ? 'must not be negative' : undefined);
    }
  } else if (vol.hostPath) {
    const h = vol.hostPath;
    if (typeof h.path !== 'string' || !h.path) report(`${f}.hostPath.path`, 'a path is required');
    else if (!path.isAbsolute(h.path)) report(`${f}.hostPath.path`, `"${h.path}" must be an absolute path`);
    else if (h.path.split('/').includes('..')) report(`${f}.hostPath.path`, `"${h.path}" must not contain '..'`);
    if (h.type !== undefined && !(HOSTPATH_TYPES as readonly string[]).includes(h.type)) {
      report(`${f}.hostPath.type`, `unknown hostPath type "${h.type}"; one of ${HOSTPATH_TYPES.map((t) => `"${t}"`).join(', ')}`);
    }
  } else if (vol.persistentVolumeClaim) {
    const n = vol.persistentVolumeClaim.claimName;
    report(`${f}.persistentVolumeClaim.claimName`, !n ? 'claimName is required' : dnsLabelProblem(n));
  } else if (vol.configMap) {
    report(`${f}.configMap.name`, vol.configMap.name ? undefined : 'the ConfigMap name is required');
    report(`${f}.configMap.defaultMode`, modeProblem(vol.configMap.defaultMode));
    checkItems(vol.configMap.items, `${f}.configMap`, report);
  } else if (vol.secret) {
    report(`${f}.secret.secretName`, vol.secret.secretName ? undefined : 'secretName is required');
    report(`${f}.secret.defaultMode`, modeProblem(vol.secret.defaultMode));
    checkItems(vol.secret.items, `${f}.secret`, report);
  } else if (vol.projected) {
    const pj = vol.projected;
    report(`${f}.projected.defaultMode`, modeProblem(pj.defaultMode));
    if (!Array.isArray(pj.sources)) return report(`${f}.projected.sources`, 'a list of sources is required');
    pj.sources.forEach((src, k) => {
      const g = `${f}.projected.sources[${k}]`;
      const kinds = Object.keys(src).filter((x) => src[x] !== undefined && src[x] !== null);
      if (kinds.length !== 1) return report(g, `needs exactly one of configMap, secret, downwardAPI${kinds.length ? ` (has ${kinds.join(', ')})` : ''}`);
      if (kinds[0] === 'serviceAccountToken') return report(`${g}.serviceAccountToken`, 'there is no API server to issue service account tokens; mount a Secret with the token instead');
      if (!['configMap', 'secret', 'downwardAPI'].includes(kinds[0])) return report(`${g}.${kinds[0]}`, `projected source "${kinds[0]}" is not supported; minipod has configMap, secret, downwardAPI`);
      // Each source is checked as the volume of its kind would be.
      checkVolume(pod, { name: vol.name, [kinds[0]]: src[kinds[0]] }, g, report);
    });
  } else if (vol.downwardAPI) {
    const d = vol.downwardAPI;
    report(`${f}.downwardAPI.defaultMode`, modeProblem(d.defaultMode));
    const names = new Set([...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].map((c) => c.name));
    const seen = new Set<string>();
    (d.items ?? []).forEach((it, k) => {
      const g = `${f}.downwardAPI.items[${k}]`;
      const bad = relativePathProblem(it.path, 'path', { reserved: true });
      report(`${g}.path`, bad ?? (seen.has(path.normalize(it.path)) ? `path "${it.path}" is used twice` : undefined));
      if (!bad) seen.add(path.normalize(it.path));
      report(`${g}.mode`, modeProblem(it.mode));
      if (!!it.fieldRef === !!it.resourceFieldRef) return report(g, 'needs exactly one of fieldRef and resourceFieldRef');
      if (it.fieldRef) {
        report(`${g}.fieldRef.fieldPath`, fieldPathProblem(it.fieldRef.fieldPath, true));
        if (it.fieldRef.apiVersion !== undefined && it.fieldRef.apiVersion !== 'v1') report(`${g}.fieldRef.apiVersion`, 'only "v1" is supported');
      } else {
        const r = it.resourceFieldRef!;
        if (!r.containerName) report(`${g}.resourceFieldRef.containerName`, 'a volume file needs containerName');
        else if (!names.has(r.containerName)) report(`${g}.resourceFieldRef.containerName`, `no container named "${r.containerName}" in this pod`);
        report(`${g}.resourceFieldRef`, resourceProblem(r));
      }
    });
  }
}

function checkEnvVar(pod: Pod, e: EnvVar, f: string, report: Report): void {
  if (typeof e.name !== 'string' || !e.name) report(`${f}.name`, 'a name is required');
  else if (e.name.includes('=')) report(`${f}.name`, `"${e.name}" must not contain '='`);
  if (!e.valueFrom) return;
  if (e.value) return report(`${f}.valueFrom`, 'may not be set together with value');
  const v = e.valueFrom;
  const kinds = (['configMapKeyRef', 'secretKeyRef', 'fieldRef', 'resourceFieldRef'] as const).filter((k) => v[k]);
  if (kinds.length !== 1) return report(`${f}.valueFrom`, `needs exactly one of configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef${kinds.length ? ` (has ${kinds.join(', ')})` : ''}`);
  const g = `${f}.valueFrom.${kinds[0]}`;
  if (v.configMapKeyRef || v.secretKeyRef) {
    const ref = (v.configMapKeyRef ?? v.secretKeyRef)!;
    if (!ref.name) report(`${g}.name`, 'a name is required');
    report(`${g}.key`, keyProblem(ref.key));
  } else if (v.fieldRef) {
    report(`${g}.fieldPath`, fieldPathProblem(v.fieldRef.fieldPath, false));
    if (v.fieldRef.apiVersion !== undefined && v.fieldRef.apiVersion !== 'v1') report(`${g}.apiVersion`, 'only "v1" is supported');
  } else if (v.resourceFieldRef) {
    const r = v.resourceFieldRef;
    const names = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])].map((c) => c.name);
    if (r.containerName && !names.includes(r.containerName)) report(`${g}.containerName`, `no container named "${r.containerName}" in this pod`);
    report(g, resourceProblem(r));
  }
}

/**
 * mountPropagation as the API server takes it (Bidirectional only for a privileged
 * container), and as far as minipod carries it: a hostPath volume mounted whole (the
 * executor clones the host's mount before the container's namespace goes private; a
 * subPath is resolved beneath its volume instead, and minipod's own volumes have nothing
 * on the host to propagate to).
 */
function propagationProblem(pod: Pod, c: Container, vm: NonNullable<Container['volumeMounts']>[number]): string | undefined {
  const p = vm.mountPropagation;
  if (p === undefined || p === 'None') return undefined;
  if (p !== 'HostToContainer' && p !== 'Bidirectional') return `"${p}" is not one of None, HostToContainer, Bidirectional`;
  if (p === 'Bidirectional' && !c.securityContext?.privileged) return 'Bidirectional mount propagation is available only to privileged containers';
  const vol = (pod.spec.volumes ?? []).find((v) => v.name === vm.name);
  if (vol && !vol.hostPath) return `${p} needs a hostPath volume in minipod ("${vm.name}" is not one)`;
  if (vm.subPath || vm.subPathExpr) return `${p} with a subPath is not supported`;
  if (pod.spec.hostUsers === false) return `${p} needs hostUsers: true (a user namespace's mounts cannot propagate to the host's)`;
  return undefined;
}

function checkContainer(pod: Pod, c: Container, f: string, declared: Set<string>, report: Report): void {
  const mountPaths = new Map<string, number>();
  (c.volumeMounts ?? []).forEach((vm, j) => {
    const g = `${f}.volumeMounts[${j}]`;
    if (!vm.name) report(`${g}.name`, 'a volume name is required');
    else if (!declared.has(vm.name)) report(`${g}.name`, `no volume named "${vm.name}" in spec.volumes`);
    if (typeof vm.mountPath !== 'string' || !vm.mountPath) report(`${g}.mountPath`, 'a mountPath is required');
    else if (!vm.mountPath.startsWith('/')) report(`${g}.mountPath`, `"${vm.mountPath}" must be an absolute path`);
    else {
      const p = path.normalize(vm.mountPath).replace(/(.)\/$/, '$1');
      if (mountPaths.has(p)) report(`${g}.mountPath`, `"${vm.mountPath}" is already mounted by volumeMounts[${mountPaths.get(p)}]`);
      else mountPaths.set(p, j);
    }
    if (vm.subPath && vm.subPathExpr) report(`${g}.subPathExpr`, 'subPath and subPathExpr are mutually exclusive');
    if (vm.subPath !== undefined) report(`${g}.subPath`, relativePathProblem(vm.subPath, 'subPath', { required: false }));
    if (vm.subPathExpr !== undefined) report(`${g}.subPathExpr`, relativePathProblem(vm.subPathExpr, 'subPathExpr', { required: false }));
    report(`${g}.mountPropagation`, propagationProblem(pod, c, vm));
  });
  (c.env ?? []).forEach((e, k) => checkEnvVar(pod, e, `${f}.env[${k}]`, report));
  (c.envFrom ?? []).forEach((src, k) => {
    const g = `${f}.envFrom[${k}]`;
    if (!!src.configMapRef === !!src.secretRef) return report(g, 'needs exactly one of configMapRef and secretRef');
    const ref = (src.configMapRef ?? src.secretRef)!;
    if (!ref.name) report(`${g}.${src.configMapRef ? 'configMapRef' : 'secretRef'}.name`, 'a name is required');
    if (src.prefix && !isEnvVarName(src.prefix)) report(`${g}.prefix`, `"${src.prefix}" is not a valid environment variable name`);
  });
}

/**
 * Every problem with the pod's volumes, volumeMounts, env and envFrom that the manifest
 * alone shows (undeclared or duplicate volumes, sources, modes, keys, paths, field
 * references). Empty when there is none. Pure: reads nothing but the pod.
 */
export function validateVolumes(pod: Pod): VolumeProblem[] {
  const out: VolumeProblem[] = [];
  const report: Report = (field, message) => {
    if (message) out.push({ field, message });
  };
  const declared = new Set<string>();
  const first = new Map<string, number>();
  (pod.spec.volumes ?? []).forEach((vol, i) => {
    const f = `spec.volumes[${i}]`;
    const bad = dnsLabelProblem(vol?.name);
    if (bad) report(`${f}.name`, bad);
    else if (first.has(vol.name)) report(`${f}.name`, `volume "${vol.name}" is declared twice (also spec.volumes[${first.get(vol.name)}])`);
    else first.set(vol.name, i);
    if (typeof vol?.name === 'string') declared.add(vol.name);
    if (vol && typeof vol === 'object') checkVolume(pod, vol, f, report);
  });
  (pod.spec.initContainers ?? []).forEach((c, i) => checkContainer(pod, c, `spec.initContainers[${i}]`, declared, report));
  (pod.spec.containers ?? []).forEach((c, i) => checkContainer(pod, c, `spec.containers[${i}]`, declared, report));
  return out;
}
