// The shape of the manifest fields minipod knows, for the structural pass of validation:
// every field has a type; fields Kubernetes has but minipod does not act on are marked
// `unsupported` (a warning naming the field, an error with --strict); a field Kubernetes
// does not have at all is an unknown-field warning (kubectl's strict decoding rejects it;
// minipod warns, so a manifest with a typo still runs but the typo is visible).

export type FieldType =
  | 'string'
  | 'int'
  | 'bool'
  | 'intOrString'
  | 'quantity'
  | 'any'
  | { obj: Fields }
  | { arr: FieldType }
  | { map: FieldType };

export interface FieldSpec {
  type: FieldType;
  /** Kubernetes has it; minipod ignores it (warning). Text says what is missing, if useful. */
  unsupported?: string | true;
  required?: boolean;
}

export type Fields = Record<string, FieldSpec>;

const f = (type: FieldType, extra: Partial<FieldSpec> = {}): FieldSpec => ({ type, ...extra });
const no = (type: FieldType = 'any', why: string | true = true): FieldSpec => ({ type, unsupported: why });
const str = f('string');
const int = f('int');
const bool = f('bool');
const strList = f({ arr: 'string' });
const strMap = f({ map: 'string' });

export const objectMeta: Fields = {
  name: f('string', { required: true }),
  namespace: str,
  uid: str,
  labels: strMap,
  annotations: strMap,
  generateName: no('string'),
  ownerReferences: no(),
  finalizers: no(),
  creationTimestamp: no(),
  resourceVersion: no(),
  generation: no(),
  managedFields: no(),
  deletionGracePeriodSeconds: no(),
  deletionTimestamp: no(),
  selfLink: no(),
};

const keyToPath: FieldType = { arr: { obj: { key: f('string', { required: true }), path: f('string', { required: true }), mode: int } } };
const fieldSelector: Fields = { apiVersion: str, fieldPath: f('string', { required: true }) };
const resourceSelector: Fields = { containerName: str, resource: f('string', { required: true }), divisor: f('quantity') };

const httpGet: Fields = {
  path: str,
  port: f('intOrString', { required: true }),
  host: str,
  scheme: str,
  httpHeaders: f({ arr: { obj: { name: f('string', { required: true }), value: f('string', { required: true }) } } }),
};
const tcpSocket: Fields = { port: f('intOrString', { required: true }), host: str };
const execAction: Fields = { command: f({ arr: 'string' }, { required: true }) };

const probe: FieldType = {
  obj: {
    exec: f({ obj: execAction }),
    httpGet: f({ obj: httpGet }),
    tcpSocket: f({ obj: tcpSocket }),
    grpc: no({ obj: { port: f('int', { required: true }), service: str } }, 'grpc probes are not implemented; use exec, httpGet or tcpSocket'),
    initialDelaySeconds: int,
    periodSeconds: int,
    timeoutSeconds: int,
    successThreshold: int,
    failureThreshold: int,
    terminationGracePeriodSeconds: int,
  },
};

const handler: FieldType = {
  obj: {
    exec: f({ obj: execAction }),
    httpGet: f({ obj: httpGet }),
    tcpSocket: f({ obj: tcpSocket }),
    sleep: f({ obj: { seconds: f('int', { required: true }) } }),
  },
};

const securityContext: Fields = {
  privileged: bool,
  runAsUser: int,
  runAsGroup: int,
  runAsNonRoot: bool,
  readOnlyRootFilesystem: bool,
  allowPrivilegeEscalation: bool,
  capabilities: f({ obj: { add: strList, drop: strList } }),
  // Parsed, and refused when they cannot be kept (src/plan/lsm.ts).
  procMount: str,
  seccompProfile: f({ obj: { type: f('string', { required: true }), localhostProfile: str } }),
  seLinuxOptions: f('any'),
  appArmorProfile: f('any'),
  windowsOptions: no(),
};

const container: Fields = {
  name: f('string', { required: true }),
  image: f('string', { required: true }),
  command: strList,
  args: strList,
  workingDir: str,
  env: f({
    arr: {
      obj: {
        name: f('string', { required: true }),
        value: str,
        valueFrom: f({
          obj: {
            configMapKeyRef: f({ obj: { name: f('string', { required: true }), key: f('string', { required: true }), optional: bool } }),
            secretKeyRef: f({ obj: { name: f('string', { required: true }), key: f('string', { required: true }), optional: bool } }),
            fieldRef: f({ obj: fieldSelector }),
            resourceFieldRef: f({ obj: resourceSelector }),
          },
        }),
      },
    },
  }),
  envFrom: f({
    arr: {
      obj: {
        prefix: str,
        configMapRef: f({ obj: { name: f('string', { required: true }), optional: bool } }),
        secretRef: f({ obj: { name: f('string', { required: true }), optional: bool } }),
      },
    },
  }),
  ports: f({
    arr: {
      obj: {
        name: str,
        containerPort: f('int', { required: true }),
        hostPort: int,
        hostIP: str,
        protocol: str,
      },
    },
  }),
  volumeMounts: f({
    arr: {
      obj: {
        name: f('string', { required: true }),
        mountPath: f('string', { required: true }),
        readOnly: bool,
        subPath: str,
        subPathExpr: str,
        mountPropagation: str,
        recursiveReadOnly: no('string'),
      },
    },
  }),
  // cpu and memory are kept by the pod's cgroups (src/cgroups); other resources are accepted and not enforced.
  resources: f({ obj: { limits: f({ map: 'quantity' }), requests: f({ map: 'quantity' }), claims: no() } }),
  livenessProbe: f(probe),
  readinessProbe: f(probe),
  startupProbe: f(probe),
  lifecycle: f({ obj: { postStart: f(handler), preStop: f(handler), stopSignal: str } }),
  securityContext: f({ obj: securityContext }),
  restartPolicy: str,
  imagePullPolicy: str,
  stdin: no('bool'),
  stdinOnce: no('bool'),
  tty: no('bool'),
  terminationMessagePath: no('string'),
  terminationMessagePolicy: no('string'),
  volumeDevices: no(),
  resizePolicy: no(),
};

const configMapSource = f({ obj: { name: f('string', { required: true }), items: f(keyToPath), defaultMode: int, optional: bool } });
const secretSource = f({ obj: { secretName: f('string', { required: true }), items: f(keyToPath), defaultMode: int, optional: bool } });
const downwardAPISource = f({
  obj: {
    items: f({ arr: { obj: { path: f('string', { required: true }), fieldRef: f({ obj: fieldSelector }), resourceFieldRef: f({ obj: resourceSelector }), mode: int } } }),
    defaultMode: int,
  },
});

const volume: Fields = {
  name: f('string', { required: true }),
  emptyDir: f({ obj: { medium: str, sizeLimit: f('quantity') } }),
  hostPath: f({ obj: { path: f('string', { required: true }), type: str } }),
  configMap: configMapSource,
  secret: secretSource,
  downwardAPI: downwardAPISource,
  persistentVolumeClaim: f({ obj: { claimName: f('string', { required: true }), readOnly: bool } }),
  projected: f({
    obj: {
      sources: f({ arr: { obj: { configMap: configMapSource, secret: secretSource, downwardAPI: downwardAPISource, serviceAccountToken: f('any'), clusterTrustBundle: f('any'), podCertificate: f('any') } } }),
      defaultMode: int,
    },
  }),
  nfs: no(),
  csi: no(),
  ephemeral: no(),
  image: no(),
  iscsi: no(),
  local: no(),
};

export const podSpec: Fields = {
  containers: f({ arr: { obj: container } }, { required: true }),
  initContainers: f({ arr: { obj: container } }),
  ephemeralContainers: no(),
  volumes: f({ arr: { obj: volume } }),
  restartPolicy: str,
  terminationGracePeriodSeconds: int,
  activeDeadlineSeconds: int,
  hostname: str,
  subdomain: no('string'),
  hostNetwork: bool,
  hostPID: bool,
  hostIPC: bool,
  shareProcessNamespace: bool,
  securityContext: f({
    obj: {
      runAsUser: int,
      runAsGroup: int,
      runAsNonRoot: bool,
      supplementalGroups: f({ arr: 'int' }),
      fsGroup: int,
      fsGroupChangePolicy: no('string'),
      supplementalGroupsPolicy: no('string'),
      sysctls: f({ arr: { obj: { name: f('string', { required: true }), value: f('string', { required: true }) } } }),
      seccompProfile: f({ obj: { type: f('string', { required: true }), localhostProfile: str } }),
      seLinuxOptions: f('any'),
      appArmorProfile: f('any'),
      windowsOptions: no(),
    },
  }),
  hostAliases: f({ arr: { obj: { ip: f('string', { required: true }), hostnames: strList } } }),
  dnsPolicy: str,
  dnsConfig: f({ obj: { nameservers: strList, searches: strList, options: f({ arr: { obj: { name: f('string', { required: true }), value: str } } }) } }),
  nodeName: str,
  serviceAccountName: str,
  serviceAccount: str,
  automountServiceAccountToken: no('bool'),
  enableServiceLinks: no('bool'),
  setHostnameAsFQDN: no('bool'),
  nodeSelector: no(),
  affinity: no(),
  tolerations: no(),
  priorityClassName: no(),
  priority: no(),
  schedulerName: no(),
  imagePullSecrets: no(),
  runtimeClassName: no(),
  preemptionPolicy: no(),
  topologySpreadConstraints: no(),
  readinessGates: no(),
  overhead: no(),
  os: no(),
  hostUsers: bool,
  resourceClaims: no(),
  schedulingGates: no(),
  resources: no(),
  hostnameOverride: no(),
};

export const podFields: Fields = {
  apiVersion: f('string', { required: true }),
  kind: f('string', { required: true }),
  metadata: f({ obj: objectMeta }, { required: true }),
  spec: f({ obj: podSpec }, { required: true }),
  status: no('any', 'status is ignored'),
};

export const configMapFields: Fields = {
  apiVersion: f('string', { required: true }),
  kind: f('string', { required: true }),
  metadata: f({ obj: objectMeta }, { required: true }),
  data: strMap,
  binaryData: strMap,
  immutable: bool,
};

export const secretFields: Fields = {
  apiVersion: f('string', { required: true }),
  kind: f('string', { required: true }),
  metadata: f({ obj: objectMeta }, { required: true }),
  type: str,
  data: strMap,
  stringData: strMap,
  immutable: bool,
};
