// Pulling from a real registry: Debian's docker-registry (the CNCF distribution registry) on
// loopback inside the test sandbox, without auth and with htpasswd, images pushed to it by
// skopeo from a layout umoci made. Pull by tag and by digest, run what was pulled, and the
// errors a user meets: an unknown tag, no or wrong credentials (never echoing the secret).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { needsRoot, pod, TestHost, waitFor } from './helpers.ts';
import { buildLayout, haveTools, sh, shAsync, startRegistry, startTokenRegistry, testUser as user, stopAll, type Registry } from './registry-fixture.ts';

describe('image pull from a registry', { skip: needsRoot || (haveTools ? false : 'needs umoci, skopeo and docker-registry (scripts/setup.sh installs them)') }, () => {
  let h: TestHost;
  let work: string;
  let open: Registry;
  let locked: Registry;
  let tokened: Registry;
  let tokens: { server: http.Server };
  before(async () => {
    h = new TestHost('image-pull');
    work = mkdtempSync(path.join(os.tmpdir(), 'minipod-pull-'));
    const layout = buildLayout(work);
    open = await startRegistry(path.join(work, 'open'));
    locked = await startRegistry(path.join(work, 'locked'), user);
    ({ registry: tokened, tokens } = await startTokenRegistry(path.join(work, 'tokened'), user));
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${open.addr}/test/lay:v1`]);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${open.addr}/test/lay:v2`]);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${locked.addr}/test/lay:v1`]);
    // Not execFileSync: the token server lives in this process and must answer skopeo.
    await shAsync('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `${user.name}:${user.password}`, `oci:${layout}:v1`, `docker://${tokened.addr}/test/lay:v1`]);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'pulled', 'autopull']);
    assert.deepEqual(stopAll(h, work, [open, locked, tokened], [tokens?.server]), { mounts: [], dirs: [] });
  });

  test('pull by tag stores the image under its full name, as its layers; a pod runs it', async () => {
    const ref = `${open.addr}/test/lay:v1`;
    const r = await h.cli(['image', 'pull', ref]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${ref.replace(/[.]/g, '\\.')} [0-9a-f]{32}\\n$`));
    assert.equal(r.stderr.match(/: Pull complete$/gm)?.length, 2, r.stderr);
    assert.match(r.stderr, /pulling from 127\.0\.0\.1:\d+ \(2 layers/);
    const file = h.manifest('pulled.json', pod('pulled', { containers: [{ name: 'c', image: ref }] }));
    const run = await h.cli(['run', '-d', file]);
    assert.equal(run.code, 0, run.stderr);
    await waitFor(async () => (await h.cli(['logs', 'pulled'])).stdout.includes('pulled from a registry'), 'the pulled image to run');
    assert.equal((await h.cli(['rm', '-f', 'pulled'])).code, 0);
  });

  test('pull by digest is checked against the manifest; an unknown tag names the registry and repository', async () => {
    const digest = JSON.parse(sh('skopeo', ['inspect', '--tls-verify=false', `docker://${open.addr}/test/lay:v1`])).Digest as string;
    const r = await h.cli(['image', 'pull', '-q', `${open.addr}/test/lay@${digest}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', '-q: no progress');
    const bad = await h.cli(['image', 'pull', '--platform', 'arm64', `${open.addr}/test/lay:v1`]);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /--platform "arm64" is not OS\/ARCH\[\/VARIANT\]/);
    const missing = await h.cli(['image', 'pull', `${open.addr}/test/lay:nope`]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, new RegExp(`${open.addr.replace(/[.]/g, '\\.')} has no test/lay:nope \\(manifest unknown\\)`));
  });

  test('a registry behind htpasswd: refused without or with wrong credentials, the user named and the secret never shown; pulled with them', async () => {
    const ref = `${locked.addr}/test/lay:v1`;
    const none = await h.cli(['image', 'pull', ref]);
    assert.equal(none.code, 125, none.stderr);
    assert.match(none.stderr, new RegExp(`${locked.addr.replace(/[.]/g, '\\.')} refused the pull without credentials`));
    const authFile = path.join(work, 'auth.json');
    const write = (password: string) => writeFileSync(authFile, JSON.stringify({ auths: { [locked.addr]: { auth: Buffer.from(`${user.name}:${password}`).toString('base64') } } }), { mode: 0o600 });
    write('wrong-secret');
    const wrong = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(wrong.code, 125, wrong.stderr);
    assert.match(wrong.stderr, /refused the pull as user "tester"/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong-secret/);
    write(user.password);
    const ok = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(user.password));
  });

  test('run pulls an image that is missing; imagePullPolicy Never and --pull never refuse instead; a short name never leaves loopback', async () => {
    const ref = `${open.addr}/test/lay:v2`;
    const never = h.manifest('never.json', pod('never', { containers: [{ name: 'c', image: ref, imagePullPolicy: 'Never' }] }));
    const n = await h.cli(['run', '-d', never]);
    assert.equal(n.code, 125);
    assert.match(n.stderr, /never\.json:\d+:\d+ spec\.containers\[0\]\.imagePullPolicy: container "c": image ".*lay:v2" is not present and the pull policy is Never/);
    const file = h.manifest('autopull.json', pod('autopull', { containers: [{ name: 'c', image: ref }] }));
    const flag = await h.cli(['run', '-d', '--pull', 'never', file]);
    assert.equal(flag.code, 125, flag.stderr);
    const r = await h.cli(['run', '-d', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /minipod: pulling .*lay:v2 for container "c"/);
    await waitFor(async () => (await h.cli(['logs', 'autopull'])).stdout.includes('pulled from a registry'), 'the image run -d pulled');
    assert.equal((await h.cli(['rm', '-f', 'autopull'])).code, 0);
    // `nosuch` would be docker.io/library/nosuch: the tests point the default registry at a
    // closed loopback port, and the failure says which registry was asked.
    const short = await h.cli(['run', '-d', h.manifest('short.json', pod('short', { containers: [{ name: 'c', image: 'nosuch' }] }))]);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /image "nosuch" is not here and could not be pulled: .*cannot reach 127\.0\.0\.1:2/);
    assert.deepEqual(h.podDirs().filter((d) => /short|never/.test(d)), [], 'nothing of the refused pods');
  });

  test('a registry behind a token server: Bearer tokens fetched with the credentials; refused without them', async () => {
    const ref = `${tokened.addr}/test/lay:v1`;
    const none = await h.cli(['image', 'pull', ref]);
    assert.equal(none.code, 125, none.stderr);
    assert.match(none.stderr, /refused the pull without credentials: its token server 127\.0\.0\.1:\d+ answered 401/);
    const authFile = path.join(work, 'auth-token.json');
    writeFileSync(authFile, JSON.stringify({ auths: { [tokened.addr]: { auth: Buffer.from(`${user.name}:${user.password}`).toString('base64') } } }), { mode: 0o600 });
    const ok = await h.cli(['image', 'pull', ref], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(user.password));
  });
});

