// The registry client's pure parts, without a network: names as containerd reads them,
// plain HTTP only for loopback, WWW-Authenticate challenges, credentials from auth files.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { credentialsFor, parseChallenge, remoteRef, schemeFor } from '../../src/image/registry.ts';

test('a short name is docker.io/library/NAME:latest; other registries keep their path; digests pin', () => {
  assert.deepEqual(remoteRef('busybox'), { registry: 'registry-1.docker.io', repository: 'library/busybox', reference: 'latest', digest: undefined, canonical: 'docker.io/library/busybox:latest' });
  assert.equal(remoteRef('xusx/tomcat:8.0.22').canonical, 'docker.io/xusx/tomcat:8.0.22');
  assert.equal(remoteRef('registry.k8s.io/pause:3.6').registry, 'registry.k8s.io');
  const d = `sha256:${'a'.repeat(64)}`;
  const pinned = remoteRef(`127.0.0.1:5000/test/lay:v1@${d}`);
  assert.deepEqual([pinned.registry, pinned.repository, pinned.reference, pinned.canonical], ['127.0.0.1:5000', 'test/lay', d, `127.0.0.1:5000/test/lay:v1@${d}`]);
});

test('plain HTTP for loopback registries only', () => {
  assert.equal(schemeFor('127.0.0.1:5000'), 'http');
  assert.equal(schemeFor('localhost:5000'), 'http');
  assert.equal(schemeFor('[::1]:5000'), 'http');
  assert.equal(schemeFor('registry-1.docker.io'), 'https');
  assert.equal(schemeFor('10.0.0.1:5000'), 'https');
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:x:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:x:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="minipod-test"'), { scheme: 'basic', params: { realm: 'minipod-test' } });
});

test('credentials come from the auth file (docker config.json form)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-auth-'));
  try {
    const f = path.join(dir, 'auth.json');
    writeFileSync(f, JSON.stringify({ auths: { '127.0.0.1:5000': { auth: Buffer.from('u:p:with:colons').toString('base64') }, 'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') } } }));
    const env = { REGISTRY_AUTH_FILE: f, HOME: dir };
    assert.deepEqual(credentialsFor('127.0.0.1:5000', env), { user: 'u', password: 'p:with:colons' });
    assert.deepEqual(credentialsFor('registry-1.docker.io', env), { user: 'hub', password: 'pw' });
    assert.equal(credentialsFor('other.example', env), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
