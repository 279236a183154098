// The registry client's pure parts, without a network: names as containerd reads them,
// plain HTTP only for loopback, WWW-Authenticate challenges, credentials from auth files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { credentialsFor, removeCredentials, storeCredentials } from '../../src/image/auth.ts';
import { schemeFor } from '../../src/image/registries-conf.ts';
import { parseChallenge, remoteRef } from '../../src/image/registry.ts';

test('a short name is docker.io/library/NAME:latest; other registries keep their path; digests pin', () => {
  assert.deepEqual(remoteRef('busybox'), { domain: 'docker.io', registry: 'registry-1.docker.io', repository: 'library/busybox', reference: 'latest', digest: undefined, canonical: 'docker.io/library/busybox:latest' });
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

test('login stores credentials 0600 beside what the file had; logout removes every spelling; docker\'s file is only read', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-auth-'));
  try {
    const f = path.join(dir, 'sub', 'auth.json');
    const env = { REGISTRY_AUTH_FILE: f, HOME: dir };
    mkdirSync(path.dirname(f));
    writeFileSync(f, JSON.stringify({ auths: { 'https://other.example': { auth: 'eDp5' } }, credHelpers: { x: 'y' } }));
    assert.equal(storeCredentials('127.0.0.1:5000', { user: 'u', password: 's3cret' }, env), f);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(f, 'utf8'));
    assert.deepEqual(Object.keys(saved.auths).sort(), ['127.0.0.1:5000', 'https://other.example']);
    assert.deepEqual(saved.credHelpers, { x: 'y' });
    assert.deepEqual(credentialsFor('127.0.0.1:5000', env), { user: 'u', password: 's3cret' });
    assert.deepEqual(removeCredentials('127.0.0.1:5000', env), { removed: true, file: f });
    assert.equal(credentialsFor('127.0.0.1:5000', env), undefined);
    assert.deepEqual(removeCredentials('127.0.0.1:5000', env), { removed: false, file: f });
    mkdirSync(path.join(dir, '.docker'));
    writeFileSync(path.join(dir, '.docker', 'config.json'), JSON.stringify({ auths: { 'reg.example': { auth: Buffer.from('d:p').toString('base64') } } }));
    assert.deepEqual(removeCredentials('reg.example', env), { removed: false, file: f, elsewhere: path.join(dir, '.docker', 'config.json') });
    assert.deepEqual(removeCredentials(undefined, env), { removed: true, file: f });
    assert.deepEqual(JSON.parse(readFileSync(f, 'utf8')).auths, {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
