// The manifest front end: every form a user writes parses to the same Pod, and every
// mistake is reported as FILE:LINE:COL FIELD-PATH: message.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ManifestError, formatDiagnostic, parseManifests, parseManifestObject, parseQuantity } from '../../src/spec/index.ts';

const block = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: web
    image: busybox
    command: [httpd, -f]
    ports:
    - containerPort: 8080
`;

function errorsOf(text: string, strict = false): string[] {
  try {
    parseManifests(text, 'pod.yaml', { strict });
  } catch (e) {
    assert.ok(e instanceof ManifestError, String(e));
    return e.message.split('\n');
  }
  assert.fail('expected a ManifestError');
}

test('block YAML parses with the API server defaults filled in', () => {
  const { pods, warnings } = parseManifests(block, 'pod.yaml');
  assert.equal(warnings.length, 0);
  const p = pods[0].value;
  assert.equal(p.metadata.namespace, 'default');
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.containers[0].ports?.[0].protocol, 'TCP');
  assert.deepEqual(pods[0].pos('spec.containers[0].image'), { line: 9, col: 5 });
});

test('KYAML (flow style with comments and trailing commas) and JSON give the same pod', () => {
  const kyaml = `{
  apiVersion: "v1",
  kind: "Pod", # a comment
  metadata: {name: "web", labels: {app: "web",},},
  spec: {
    containers: [{
      name: "web",
      image: "busybox",
      command: ["httpd", "-f",],
      ports: [{containerPort: 8080}],
    }],
  },
}`;
  const json = JSON.stringify(parseManifests(block, 'a').pods[0].value);
  assert.equal(JSON.stringify(parseManifests(kyaml, 'b.yaml').pods[0].value), json);
  assert.equal(JSON.stringify(parseManifests(json, 'c.json').pods[0].value), json);
});

test('a multi-document stream carries Pods, ConfigMaps and Secrets', () => {
  const text = `${block}---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {index.html: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {password: aHVudGVyMg==}
stringData: {user: admin}
`;
  const r = parseManifests(text, 'all.yaml');
  assert.equal(r.pods.length, 1);
  assert.equal(r.configMaps[0].value.data?.['index.html'], 'hello');
  assert.equal(r.secrets[0].value.stringData?.user, 'admin');
  assert.equal(r.secrets[0].doc, 2);
});

test('a container name used twice is reported at the second one', () => {
  const text = block + `  - name: web\n    image: busybox\n`;
  const [line] = errorsOf(text);
  assert.equal(line, 'pod.yaml:13:5 spec.containers[1].name: "web" is used twice (also spec.containers[0])');
});

test('YAML syntax errors carry their position', () => {
  const [line] = errorsOf('apiVersion: v1\nkind: Pod\nmetadata:\n  name: [web\n');
  assert.match(line, /^pod\.yaml:\d+:\d+ /);
});

test('duplicate keys are an error, not a silent overwrite', () => {
  const [line] = errorsOf('apiVersion: v1\nkind: Pod\nkind: Pod\n');
  assert.match(line, /^pod\.yaml:3:1 .*[Mm]ap keys must be unique/);
});

test('wrong types, missing fields and bad names are errors with the field path', () => {
  const lines = errorsOf(`apiVersion: v1
kind: Pod
metadata:
  name: Web_1
spec:
  containers:
  - name: a
    env:
    - name: PORT
      value: 8080
    ports:
    - containerPort: 70000
  - image: busybox
`);
  assert.ok(lines.includes('pod.yaml:10:7 spec.containers[0].env[0].value: must be a string, not number 8080 (quote it: "…")'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('pod.yaml:7:5 spec.containers[0].image: is required')), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('pod.yaml:13:5 spec.containers[1].name: is required')), lines.join('\n'));
  // Semantic checks wait until the structure is right, so the bad name shows up once types are fixed.
  const fixed = errorsOf(`apiVersion: v1
kind: Pod
metadata:
  name: Web_1
spec:
  containers:
  - name: a
    image: busybox
    ports:
    - containerPort: 70000
`);
  assert.ok(fixed.some((l) => l.startsWith('pod.yaml:4:3 metadata.name: "Web_1" is not a DNS-1123 label')), fixed.join('\n'));
  assert.ok(fixed.includes('pod.yaml:10:7 spec.containers[0].ports[0].containerPort: 70000 is not a port number (1-65535)'), fixed.join('\n'));
});

test('unsupported fields are warnings naming the field; --strict makes them errors', () => {
  const text = block + `    livenessProbeX: {}\n    terminationMessagePath: /dev/log\n`;
  const r = parseManifests(text, 'pod.yaml');
  const w = r.warnings.map(formatDiagnostic);
  assert.ok(w.includes('warning: pod.yaml:14:5 spec.containers[0].terminationMessagePath: not supported yet and is ignored'), w.join('\n'));
  assert.ok(w.some((l) => l.startsWith('warning: pod.yaml:13:5 spec.containers[0].livenessProbeX: unknown field')), w.join('\n'));
  const strict = errorsOf(text, true);
  assert.equal(strict.length, 2);
});

test('two containers declaring the same containerPort get a warning', () => {
  const text = block + `  - name: b\n    image: busybox\n    ports:\n    - containerPort: 8080\n`;
  const w = parseManifests(text, 'pod.yaml').warnings.map(formatDiagnostic);
  assert.equal(w.length, 1);
  assert.match(w[0], /^warning: pod\.yaml:16:7 spec\.containers\[1\]\.ports\[0\]\.containerPort: 8080\/TCP is also declared by spec\.containers\[0\]\.ports\[0\]/);
});

test('other kinds are named and ignored; an empty file is an error', () => {
  const r = parseManifests(`${block}---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n`, 'x.yaml');
  assert.match(formatDiagnostic(r.warnings[0]), /kind Service: minipod runs Pods/);
  assert.deepEqual(errorsOf('# nothing\n'), ['pod.yaml:1:1 no manifest in this file (empty)']);
});

test('init container rules: only sidecars take restartPolicy, names are unique across lists', () => {
  const lines = errorsOf(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
  - {name: setup, image: busybox, restartPolicy: OnFailure}
  containers:
  - {name: setup, image: busybox, restartPolicy: Always}
`);
  assert.ok(lines.some((l) => l.includes('spec.initContainers[0].restartPolicy: must be Always (a sidecar)')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('spec.containers[0].restartPolicy: only init containers take a restartPolicy')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes('spec.containers[0].name: "setup" is used twice (also spec.initContainers[0])')), lines.join('\n'));
});

test('Secret data must be base64; ConfigMap keys must be file names', () => {
  const lines = errorsOf(`apiVersion: v1
kind: Secret
metadata: {name: s}
data: {password: "not base64!"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {"../evil": x}
`);
  assert.ok(lines.includes("pod.yaml:4:8 data['password']: is not valid base64 (use stringData for plain text)"), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith("pod.yaml:9:8 data['../evil']: key \"../evil\" must consist of")), lines.join('\n'));
});

test('an object given through the API is validated the same way', () => {
  assert.throws(() => parseManifestObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [] } }), /spec\.containers: must have at least one container/);
});

test('quantities', () => {
  assert.equal(parseQuantity('64Mi'), 64 * 2 ** 20);
  assert.equal(parseQuantity('1G'), 1e9);
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity(2), 2);
  assert.equal(parseQuantity('12 apples'), undefined);
});

test('modes are read as kubectl reads them: a leading 0 is octal (YAML 1.1)', () => {
  const text = `apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  containers: [{name: c, image: busybox, volumeMounts: [{name: conf, mountPath: /conf}]}]
  volumes: [{name: conf, configMap: {name: conf, defaultMode: 0400}}]
`;
  const pod = parseManifests(text, 'pod.yaml').pods[0].value;
  assert.equal(pod.spec.volumes?.[0].configMap?.defaultMode, 0o400);
});

test('volume mistakes are reported with their position', () => {
  const lines = errorsOf(`apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  containers:
  - name: c
    image: busybox
    volumeMounts:
    - {name: missing, mountPath: /x}
`);
  assert.ok(lines.some((l) => l.startsWith('pod.yaml:9:8 spec.containers[0].volumeMounts[0].name:')), lines.join('\n'));
});
