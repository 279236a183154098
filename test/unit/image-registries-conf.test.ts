// The registries configuration: mirrors in order, no fallback to the registry itself
// unless asked, plain HTTP per host, and every mistake named with its line and field.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { endpointsFor, parseRegistries, schemeFor } from '../../src/image/registries-conf.ts';

const conf = parseRegistries(
  `mirrors:
  docker.io:
    endpoint:
      - http://127.0.0.1:5001
      - mirror.internal:5000
  quay.io:
    endpoint: [https://quay-mirror.internal]
    fallback: true
  "*":
    endpoint: [127.0.0.1:5009]
configs:
  mirror.internal:5000:
    insecure: true
  127.0.0.2:5000:
    insecure: false
`,
  'registries.yaml',
);

test('a registry with mirrors asks them in order and never itself unless fallback is true', () => {
  assert.deepEqual(endpointsFor('docker.io', 'registry-1.docker.io', conf), [
    { base: 'http://127.0.0.1:5001', host: '127.0.0.1:5001', mirror: true },
    { base: 'http://mirror.internal:5000', host: 'mirror.internal:5000', mirror: true },
  ]);
  assert.deepEqual(
    endpointsFor('quay.io', 'quay.io', conf).map((e) => e.base),
    ['https://quay-mirror.internal', 'https://quay.io'],
  );
});

test('"*" mirrors every registry that has no entry of its own; with no file, the registry itself', () => {
  assert.deepEqual(endpointsFor('ghcr.io', 'ghcr.io', conf).map((e) => e.base), ['http://127.0.0.1:5009']);
  assert.deepEqual(endpointsFor('ghcr.io', 'ghcr.io'), [{ base: 'https://ghcr.io', host: 'ghcr.io', mirror: false }]);
});

test('insecure means plain HTTP; loopback is HTTP unless insecure: false says otherwise', () => {
  assert.equal(schemeFor('mirror.internal:5000', conf), 'http');
  assert.equal(schemeFor('127.0.0.1:5000', conf), 'http');
  assert.equal(schemeFor('127.0.0.2:5000', conf), 'https');
  assert.equal(schemeFor('registry.example', conf), 'https');
});

test('mistakes are named by file, line, column and field', () => {
  const bad = (text: string, msg: RegExp) => assert.throws(() => parseRegistries(text, 'r.yaml'), { code: 'ERR_IMAGE_REGISTRIES_CONF', message: msg });
  bad('mirror:\n  docker.io: {}\n', /^r\.yaml:1:1 mirror: unknown field \(mirrors, configs\)/);
  bad('mirrors:\n  docker.io:\n    endpoint: [http://m.example/v2/x]\n', /^r\.yaml:3:16 mirrors\.docker\.io\.endpoint\[0\]: "http:\/\/m\.example\/v2\/x" is not/);
  bad('mirrors:\n  docker.io:\n    endpoint: http://m\n', /^r\.yaml:3:15 mirrors\.docker\.io\.endpoint: must be a list of URLs/);
  bad('mirrors:\n  docker.io:\n    fallback: "yes"\n', /^r\.yaml:3:15 mirrors\.docker\.io\.fallback: must be true or false/);
  bad('configs:\n  "a b":\n    insecure: true\n', /^r\.yaml:2:3 configs\.a b: is not a registry host/);
  bad('configs:\n  reg.example:\n    tls: {}\n', /^r\.yaml:3:5 configs\.reg\.example\.tls: unknown field \(insecure\)/);
  bad('mirrors: [\n', /^r\.yaml:\d+:\d+: /);
  assert.deepEqual(parseRegistries('', 'empty.yaml'), { file: 'empty.yaml', mirrors: {}, configs: {} });
});
