// projected volumes: a ConfigMap, a Secret and the downward API in one read-only directory,
// with items and modes; on a tmpfs because a Secret is among the sources; a
// serviceAccountToken source and two sources writing one path are refused with their field.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { busyboxRootfs, needsRoot, pod, TestHost } from './helpers.ts';

describe('projected volumes', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('projected');
    assert.equal((await h.cli(['image', 'import', 'busybox', busyboxRootfs()])).code, 0);
  });
  after(() => h.finish(['proj']));
  const stream = (name: string, sources: object[]) =>
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { 'app.conf': 'port=80\n', other: 'x' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { password: 's3cret' } },
      pod(name, {
        terminationGracePeriodSeconds: 1,
        volumes: [{ name: 'all', projected: { defaultMode: 0o440, sources } }],
        containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1000'], volumeMounts: [{ name: 'all', mountPath: '/etc/all' }] }],
      }, { labels: { tier: 'web' } }),
    ]
      .map((o) => JSON.stringify(o))
      .join('\n---\n');

  test('a ConfigMap, a Secret and the downward API in one directory, with items and modes, read-only, on a tmpfs', async () => {
    const file = h.manifest('proj.yaml', stream('proj', [
      { configMap: { name: 'app', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
      { secret: { secretName: 'creds', items: [{ key: 'password', path: 'password', mode: 0o400 }] } },
      { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    ]));
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    const sh = (s: string) => h.cli(['exec', 'proj', '--', 'sh', '-c', s]);
    assert.equal((await sh('cat /etc/all/conf/app.conf /etc/all/password; echo; cat /etc/all/labels')).stdout, 'port=80\ns3cret\ntier="web"');
    assert.equal((await sh('stat -c %a /etc/all/conf/app.conf /etc/all/password')).stdout, '440\n400\n', 'the defaultMode, and an item\'s own mode');
    assert.equal((await sh('ls /etc/all')).stdout.split('\n').filter(Boolean).sort().join(' '), 'conf labels password', 'only the items asked for');
    assert.match((await sh('touch /etc/all/x')).stderr, /Read-only file system/);
    assert.match((await sh('grep " /etc/all " /proc/self/mountinfo')).stdout, / - tmpfs /, 'a Secret among the sources: a tmpfs, never the disk');
    assert.equal(existsSync(path.join(h.root, 'lib', 'pods', 'proj', 'volumes', 'all')), false);
    assert.equal((await h.cli(['rm', '-f', 'proj'])).code, 0);
  });

  test('a serviceAccountToken source, and two sources writing one path, are refused with their field; nothing is left', async () => {
    const token = await h.cli(['run', '-d', h.manifest('tok.yaml', stream('tok', [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600 } }]))]);
    assert.equal(token.code, 125);
    assert.match(token.stderr, /spec\.volumes\[0\]\.projected\.sources\[0\]\.serviceAccountToken: there is no API server to issue service account tokens/);
    const twice = await h.cli(['run', '-d', h.manifest('twice.yaml', stream('twice', [
      { configMap: { name: 'app', items: [{ key: 'app.conf', path: 'x' }] } },
      { secret: { secretName: 'creds', items: [{ key: 'password', path: 'x' }] } },
    ]))]);
    assert.equal(twice.code, 125);
    assert.match(twice.stderr, /spec\.volumes\[0\]\.projected\.sources\[1\]: path "x" is also written by sources\[0\]/);
    assert.deepEqual(h.podDirs(), []);
  });
});
