// The shape of the workload kinds minipod turns into Pods (podman kube play's set:
// Deployment, ReplicaSet, DaemonSet, Job) and of PersistentVolumeClaim, for the structural
// pass of validation (schema.ts has the Pod's). A template's spec is a Pod spec.

import { objectMeta, podSpec, type FieldSpec, type Fields } from './schema.ts';

const f = (type: FieldSpec['type'], extra: Partial<FieldSpec> = {}): FieldSpec => ({ type, ...extra });
const no = (type: FieldSpec['type'] = 'any', why: string | true = true): FieldSpec => ({ type, unsupported: why });
const str = f('string');
const int = f('int');
const bool = f('bool');

const templateMeta: Fields = { ...objectMeta, name: str };
const template = f({ obj: { metadata: f({ obj: templateMeta }), spec: f({ obj: podSpec }, { required: true }) } }, { required: true });
const selector = f({ obj: { matchLabels: f({ map: 'string' }), matchExpressions: no('any', 'pods are created once from the template; the selector is not evaluated') } });

const top = (spec: Fields): Fields => ({
  apiVersion: f('string', { required: true }),
  kind: f('string', { required: true }),
  metadata: f({ obj: objectMeta }, { required: true }),
  spec: f({ obj: spec }, { required: true }),
  status: no('any', 'status is ignored'),
});

const noLoop = 'minipod has no controller loop: pods are created once from the template';

export const deploymentFields: Fields = top({
  replicas: int,
  selector,
  template,
  strategy: no('any', noLoop),
  minReadySeconds: no('int', noLoop),
  revisionHistoryLimit: no('int', noLoop),
  progressDeadlineSeconds: no('int', noLoop),
  paused: no('bool', noLoop),
});

export const replicaSetFields: Fields = top({ replicas: int, selector, template, minReadySeconds: no('int', noLoop) });

export const daemonSetFields: Fields = top({ selector, template, updateStrategy: no('any', noLoop), minReadySeconds: no('int', noLoop), revisionHistoryLimit: no('int', noLoop) });

export const jobFields: Fields = top({
  template,
  completions: int,
  parallelism: int,
  backoffLimit: int,
  activeDeadlineSeconds: int,
  selector,
  manualSelector: bool,
  ttlSecondsAfterFinished: no('int', 'a finished Job\'s pods stay until `minipod down` or `rm`'),
  completionMode: no('string', 'every completion is NonIndexed'),
  suspend: no('bool'),
  podFailurePolicy: no(),
  backoffLimitPerIndex: no('int'),
  maxFailedIndexes: no('int'),
  podReplacementPolicy: no('string'),
  successPolicy: no(),
});

export const pvcFields: Fields = top({
  accessModes: f({ arr: 'string' }),
  resources: f({ obj: { requests: f({ map: 'quantity' }), limits: f({ map: 'quantity' }) } }),
  storageClassName: no('string', 'a claim is a local named volume (minipod volume)'),
  volumeMode: str,
  volumeName: no('string', 'a claim is a local named volume of its own name'),
  selector: no(),
  dataSource: no(),
  dataSourceRef: no(),
  volumeAttributesClassName: no('string'),
});
