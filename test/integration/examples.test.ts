// The examples in examples/ (the seed scenarios) run as the README says, with an imported
// busybox image, and do what their comments promise.
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

import { busyboxRootfs, needsRoot, repo, TestHost, waitFor } from './helpers.ts';
import { buildNginxLayout, nginxDeb } from './nginx-image.ts';
import { haveTools, sh, startRegistry } from './registry-fixture.ts';

const example = (name: string) => path.join(repo, 'examples', name);

/** GET from the host over loopback: status and body. */
function get(url: string, auth?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000, headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

describe('examples', { skip: needsRoot }, () => {
  let h: TestHost;
  before(async () => {
    h = new TestHost('examples');
    Object.assign(h.env, { MINIPOD_BRIDGE: 'mpt-examples', MINIPOD_SUBNET: '10.232.0.0/24' });
    const r = await h.cli(['image', 'import', 'busybox', busyboxRootfs()]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'web', 'pod-network', 'web-config', 'shared-disk', 'port-clash', 'ghost']);
    await h.cli(['network', 'rm']);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  test('pod.yaml: the client reaches the web server at localhost and sees its processes', async () => {
    const r = await h.cli(['run', example('pod.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /\[client\] hello from web, served by the web container/);
    assert.match(out, /\[client\]\s+1 minipod-pause/);
    assert.match(out, /pod "web" Succeeded; removed/);
  });

  test('pod-network.yaml: one network namespace, localhost between containers, hostPort from the host', async () => {
    const r = await h.cli(['run', '-d', example('pod-network.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const viaHost = await waitFor(() => get('http://127.0.0.1:8080/').catch(() => undefined), 'the hostPort to answer');
    assert.equal(viaHost.body, 'api on :8080\n');
    const local = await h.cli(['exec', 'pod-network', '-c', 'web', '--', 'wget', '-qO-', 'http://localhost:8080/']);
    assert.equal(local.stdout, 'api on :8080\n');
    const back = await h.cli(['exec', 'pod-network', '-c', 'api', '--', 'wget', '-qO-', 'http://localhost:80/']);
    assert.equal(back.stdout, 'web on :80\n');
    assert.equal((await h.cli(['rm', 'pod-network'])).code, 0);
  });

  test('configmap.yaml: the server runs with the configuration from the ConfigMap, published on 8888', async () => {
    const r = await h.cli(['run', '-d', example('configmap.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const page = await waitFor(() => get('http://127.0.0.1:8888/').catch(() => undefined), 'port 8888 to answer');
    assert.equal(page.status, 200);
    assert.match(page.body, /served with a configuration from a ConfigMap/);
    assert.equal((await get('http://127.0.0.1:8888/private/')).status, 401, 'httpd.conf from the ConfigMap is in force');
    assert.deepEqual(await get('http://127.0.0.1:8888/private/', 'admin:changeme'), { status: 200, body: 'for admins only\n' });
    const ro = await h.cli(['exec', 'web-config', '--', 'sh', '-c', 'echo x > /etc/web/httpd.conf']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    assert.equal((await h.cli(['rm', 'web-config'])).code, 0);
  });

  test('emptydir.yaml: what the writer writes, the web container serves and the reader reads', async () => {
    const r = await h.cli(['run', '-d', example('emptydir.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const page = await waitFor(async () => {
      const w = await h.cli(['exec', 'shared-disk', '-c', 'reader', '--', 'wget', '-qO-', 'http://localhost/']);
      return w.code === 0 && w.stdout;
    }, 'the web container to serve the page');
    assert.match(page, /\d\d:\d\d:\d\d/);
    await waitFor(async () => /^wrote /m.test((await h.cli(['logs', 'shared-disk', '-c', 'reader'])).stdout), "the reader to follow the writer's log");
    assert.equal((await h.cli(['rm', 'shared-disk'])).code, 0);
  });

  test('port-clash.yaml: the second container fails with EADDRINUSE and the pod reports it', async () => {
    const r = await h.cli(['run', example('port-clash.yaml')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /80\/TCP is also declared by spec\.containers\[0\]\.ports\[0\]/);
    assert.match(r.stdout + r.stderr, /\[second\] .*Address (already )?in use/);
    assert.match(r.stderr, /\[second\] exited with code 1/);
  });

  test('nginx/ghost.yaml: `image: nginx` with no command, pulled from a docker.io mirror, configured by a ConfigMap, proxying to the blog on localhost', { skip: !nginxDeb() ? 'needs Debian\'s nginx package in rootfs/debs (scripts/setup.sh downloads it)' : !haveTools && 'needs umoci, skopeo and docker-registry' }, async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'minipod-nginx-'));
    const reg = await startRegistry(path.join(work, 'registry'));
    try {
      const layout = buildNginxLayout(work, nginxDeb()!);
      sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}:nginx`, `docker://${reg.addr}/library/nginx:latest`]);
      assert.equal(JSON.parse(sh('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.addr}/library/nginx:latest`])).layers.length, 2, 'two layers');
      // docker.io is only ever this mirror: the pull cannot leave the sandbox's loopback.
      const conf = path.join(work, 'registries.yaml');
      writeFileSync(conf, `mirrors:\n  docker.io:\n    endpoint: [http://${reg.addr}]\n`);
      const env = { MINIPOD_REGISTRIES_CONF: conf, MINIPOD_DEFAULT_REGISTRY: 'docker.io' };
      const r = await h.cli(['run', '-d', example('nginx/ghost.yaml')], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /pulling nginx for container "nginx"/);
      const page = await waitFor(() => get('http://127.0.0.1:8888/').catch(() => undefined), 'nginx on the hostPort');
      assert.equal(page.status, 200);
      assert.equal(page.body, '<h1>a blog, behind nginx</h1>\n', 'served by the blog, through nginx');
      const inspect = JSON.parse((await h.cli(['inspect', 'ghost'])).stdout);
      const nginx = inspect.spec.containers.find((c: { name: string }) => c.name === 'nginx');
      assert.equal(nginx.command, undefined, 'the manifest has no command');
      await waitFor(async () => (await h.cli(['logs', 'ghost', '-c', 'nginx'])).stdout.includes('"GET / HTTP/1.1" 200'), 'nginx\'s access log in the container output');
      const ps = await h.cli(['exec', 'ghost', '-c', 'nginx', '--', 'ps', '-o', 'args']);
      assert.match(ps.stdout, /nginx: master process nginx -g daemon off;/, 'the image\'s Cmd');
      assert.equal((await h.cli(['rm', 'ghost'])).code, 0, 'SIGQUIT, the image\'s StopSignal, stops nginx within the grace period');
    } finally {
      reg.proc.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    }
  });
});
