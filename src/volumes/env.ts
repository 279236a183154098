// A container's environment as the kubelet builds it (makeEnvironmentVariables): envFrom
// sources in order, then env in order. Values from ConfigMaps, Secrets and the downward API
// are taken literally; a plain `value` is $(VAR)-expanded against what was defined before
// it, which the planner does (plan/expand.ts) from the `expand` flag of each entry.

import { FieldError } from '../errors.ts';
import type { EnvEntry } from '../plan/expand.ts';
import type { Container, Pod } from '../spec/types.ts';
import { podFieldValue, resourceValue, type FieldInput } from './fieldref.ts';
import { isEnvVarName } from './names.ts';
import { configMapEnvData, findConfigMap, findSecret, notFound, secretData, type DataInput } from './objects.ts';

export type EnvInput = DataInput & FieldInput;

/** Every container of the pod, init containers first (resourceFieldRef.containerName may name any). */
export function allContainers(pod: Pod): Container[] {
  return [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
}

/**
 * envFrom: every key of the object, with the prefix. Keys that are not valid variable
 * names are skipped, as the kubelet skips them (it only records an event).
 */
function fromSource(input: EnvInput, c: Container, field: string): EnvEntry[] {
  const out: EnvEntry[] = [];
  (c.envFrom ?? []).forEach((src, i) => {
    const f = `${field}.envFrom[${i}]`;
    let data: Map<string, string> | undefined;
    if (src.configMapRef) {
      const cm = findConfigMap(input, src.configMapRef.name);
      if (!cm && !src.configMapRef.optional) throw new FieldError(`${f}.configMapRef.name`, notFound('ConfigMap', src.configMapRef.name, input.pod));
      data = cm && configMapEnvData(cm);
    } else if (src.secretRef) {
      const s = findSecret(input, src.secretRef.name);
      if (!s && !src.secretRef.optional) throw new FieldError(`${f}.secretRef.name`, notFound('Secret', src.secretRef.name, input.pod));
      data = s && new Map([...secretData(s)].map(([k, v]) => [k, v.toString('utf8')]));
    }
    for (const k of [...(data?.keys() ?? [])].sort()) {
      const name = (src.prefix ?? '') + k;
      if (isEnvVarName(name)) out.push({ name, value: data!.get(k)!, expand: false });
    }
  });
  return out;
}

/** One env entry's value, or undefined when an optional reference is missing (the variable is then not set). */
function valueOf(input: EnvInput, c: Container, e: NonNullable<Container['env']>[number], f: string): string | undefined {
  const from = e.valueFrom!;
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const cm = findConfigMap(input, ref.name);
    if (!cm) {
      if (ref.optional) return undefined;
      throw new FieldError(`${f}.valueFrom.configMapKeyRef.name`, notFound('ConfigMap', ref.name, input.pod));
    }
    const v = configMapEnvData(cm).get(ref.key);
    if (v === undefined && !ref.optional) throw new FieldError(`${f}.valueFrom.configMapKeyRef.key`, `ConfigMap "${ref.name}" has no key "${ref.key}" in its data`);
    return v;
  }
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const s = findSecret(input, ref.name);
    if (!s) {
      if (ref.optional) return undefined;
      throw new FieldError(`${f}.valueFrom.secretKeyRef.name`, notFound('Secret', ref.name, input.pod));
    }
    const v = secretData(s).get(ref.key);
    if (v === undefined && !ref.optional) throw new FieldError(`${f}.valueFrom.secretKeyRef.key`, `Secret "${ref.name}" has no key "${ref.key}"`);
    return v?.toString('utf8');
  }
  if (from.fieldRef) return podFieldValue(input, from.fieldRef.fieldPath);
  if (from.resourceFieldRef) {
    const ref = from.resourceFieldRef;
    const target = ref.containerName ? allContainers(input.pod).find((x) => x.name === ref.containerName) : c;
    if (!target) throw new FieldError(`${f}.valueFrom.resourceFieldRef.containerName`, `no container named "${ref.containerName}" in this pod`);
    return resourceValue(target, ref);
  }
  throw new FieldError(`${f}.valueFrom`, 'needs one of configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef');
}

/** The container's full env list in Kubernetes' order; field is e.g. `spec.containers[0]`. */
export function resolveEnv(input: EnvInput, c: Container, field: string): EnvEntry[] {
  const out = fromSource(input, c, field);
  (c.env ?? []).forEach((e, i) => {
    const f = `${field}.env[${i}]`;
    // The kubelet expands a non-empty value and only looks at valueFrom when value is empty.
    if (e.value) out.push({ name: e.name, value: e.value });
    else if (e.valueFrom) {
      const v = valueOf(input, c, e, f);
      if (v !== undefined) out.push({ name: e.name, value: v, expand: false });
    } else out.push({ name: e.name, value: '' });
  });
  return out;
}
