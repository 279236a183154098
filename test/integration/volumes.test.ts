// Volumes and configuration data on real mounts: emptyDir shared between containers (seed
// 003), a web server configured from a ConfigMap (seed 001), tmpfs-backed memory volumes and
// secrets, hostPath types, read-only mounts, env references, and the subPath symlink escape.
// Each test has its own state root and bridge, and checks that nothing of the pod is left.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import { busyboxRootfs, needsRoot, pod as podOf, TestHost, waitFor, type CliResult } from './helpers.ts';

/** A pod manifest whose containers (shells and sleeps that ignore SIGTERM as PID 1) stop fast. */
const pod = (name: string, spec: object, metadata: object = {}) => podOf(name, { terminationGracePeriodSeconds: 1, ...spec }, metadata);

let nextNet = 0;

/** A private state root and a bridge/subnet of its own, so tests never share a network. */
function world(label: string): TestHost {
  const h = new TestHost(`vol-${label}`);
  const n = nextNet++;
  h.env.MINIPOD_BRIDGE = `mpvol${n}`;
  h.env.MINIPOD_SUBNET = `10.231.${n}.0/24`;
  return h;
}

/** Removes the pods, then checks that no mount or directory of them is left. */
async function finish(h: TestHost, pods: string[]): Promise<void> {
  try {
    if (pods.length) await h.cli(['rm', '-f', ...pods]);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    assert.deepEqual(left, { mounts: [], dirs: [] }, 'nothing of the pods is left');
  } finally {
    h.cleanup();
  }
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

async function logsOf(h: TestHost, p: string, c: string): Promise<string> {
  const r = await h.cli(['logs', p, '-c', c]);
  return r.code === 0 ? r.stdout : '';
}

/** Polls a container's log until it contains text. */
function logContains(h: TestHost, p: string, c: string, text: string, timeoutMs = 15_000): Promise<string> {
  return waitFor(async () => {
    const out = await logsOf(h, p, c);
    return out.includes(text) ? out : undefined;
  }, `"${text}" in the log of ${p}/${c}`, timeoutMs);
}

const exec = (h: TestHost, p: string, c: string, script: string) => h.cli(['exec', p, '-c', c, '--', 'sh', '-c', script]);

/** The host directory of one volume of a pod. */
const volumeDir = (h: TestHost, kind: 'lib' | 'run', p: string, v: string) => path.join(h.root, kind, 'pods', p, 'volumes', v);

test('seed 003: a writer fills an emptyDir, busybox httpd serves it, a third container fetches it over localhost', { skip: needsRoot }, async () => {
  const h = world('seed003');
  try {
    const image = busyboxRootfs();
    const file = h.manifest('seed003.json', pod('site', {
      volumes: [{ name: 'html', emptyDir: {} }],
      containers: [
        { name: 'writer', image, command: ['sh', '-c', 'while true; do echo "<h1>written at $(date +%s)</h1>" > /out/index.html.tmp && mv /out/index.html.tmp /out/index.html; sleep 1; done'], volumeMounts: [{ name: 'html', mountPath: '/out' }] },
        { name: 'web', image, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], volumeMounts: [{ name: 'html', mountPath: '/www', readOnly: true }] },
        { name: 'fetch', image, command: ['sh', '-c', 'until wget -q -O - http://127.0.0.1:8080/index.html; do sleep 0.2; done; sleep 1000'] },
      ],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    await logContains(h, 'site', 'fetch', '<h1>written at ');
    // The web server's mount is read-only: writes fail with EROFS.
    const w = await exec(h, 'site', 'web', 'echo x > /www/index.html');
    assert.notEqual(w.code, 0);
    assert.match(w.stderr, /Read-only file system/);
    // The writer's is not, and both see one directory on the host.
    ok(await exec(h, 'site', 'writer', 'echo mark > /out/mark'), 'write through the writer');
    assert.equal(readFileSync(path.join(volumeDir(h, 'lib', 'site', 'html'), 'mark'), 'utf8'), 'mark\n');
    assert.equal((await exec(h, 'site', 'web', 'cat /www/mark')).stdout, 'mark\n');
    ok(await h.cli(['rm', 'site']), 'rm');
    assert.equal(existsSync(volumeDir(h, 'lib', 'site', 'html')), false, 'the emptyDir goes with the pod');
    await finish(h, []);
  } catch (e) {
    await h.cli(['rm', '-f', 'site']);
    h.cleanup();
    throw e;
  }
});

test('seed 001: the web server reads its configuration from a read-only ConfigMap volume', { skip: needsRoot }, async () => {
  const h = world('seed001');
  try {
    const image = busyboxRootfs();
    // busybox httpd with basic auth on /: only the configuration file can turn it on.
    const config = h.manifest('web-config.yaml', [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: web-config}',
      'data:',
      '  httpd.conf: |',
      '    /:admin:s3cret',
      '  index.html: "<p>from the configmap</p>"',
    ].join('\n'));
    const file = h.manifest('seed001.json', pod('web', {
      volumes: [{ name: 'conf', configMap: { name: 'web-config' } }],
      containers: [
        {
          name: 'httpd',
          image,
          command: ['httpd', '-f', '-p', '8081', '-h', '/www', '-c', '/etc/web/httpd.conf'],
          volumeMounts: [
            { name: 'conf', mountPath: '/etc/web', readOnly: true },
            { name: 'conf', mountPath: '/www/index.html', subPath: 'index.html' },
          ],
        },
        { name: 'client', image, command: ['sleep', '1000'] },
      ],
    }));
    ok(await h.cli(['run', '-d', '--configmap', config, file]), 'run');
    const fetched = await waitFor(async () => {
      const r = await exec(h, 'web', 'client', 'wget -q -O - http://admin:s3cret@127.0.0.1:8081/index.html');
      return r.code === 0 ? r.stdout : undefined;
    }, 'the page with credentials');
    assert.equal(fetched, '<p>from the configmap</p>');
    const anon = await exec(h, 'web', 'client', 'wget -q -O - http://127.0.0.1:8081/index.html');
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /401/, 'without credentials the configured server refuses');
    // Read-only in the container, even where the mount did not say so (the subPath file).
    for (const target of ['/etc/web/httpd.conf', '/etc/web/new', '/www/index.html']) {
      const r = await exec(h, 'web', 'httpd', `echo x > ${target}`);
      assert.match(r.stderr, /Read-only file system/, target);
    }
    const mode = await exec(h, 'web', 'httpd', 'stat -c %a /etc/web/httpd.conf');
    assert.equal(mode.stdout.trim(), '644');
    await finish(h, ['web']);
  } catch (e) {
    await h.cli(['rm', '-f', 'web']);
    h.cleanup();
    throw e;
  }
});

test('an init container writes an emptyDir that the app reads; the emptyDir hides what the image had there', { skip: needsRoot }, async () => {
  const h = world('init');
  try {
    const image = busyboxRootfs();
    writeFileSync(path.join(image, 'data', 'from-image'), 'image content\n');
    const file = h.manifest('init.json', pod('initpod', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [{ name: 'prepare', image, command: ['sh', '-c', 'ls -A /data; echo prepared-by-init > /data/msg'], volumeMounts: [{ name: 'work', mountPath: '/data' }] }],
      containers: [{ name: 'app', image, command: ['sh', '-c', 'echo "app read: $(cat /data/msg) files: $(ls -A /data | tr "\\n" " ")"; sleep 1000'], volumeMounts: [{ name: 'work', mountPath: '/data' }] }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const out = await logContains(h, 'initpod', 'app', 'app read:');
    assert.match(out, /app read: prepared-by-init files: msg \n/);
    assert.equal(await logsOf(h, 'initpod', 'prepare'), '', 'the init container saw an empty directory');
    await finish(h, ['initpod']);
  } catch (e) {
    await h.cli(['rm', '-f', 'initpod']);
    h.cleanup();
    throw e;
  }
});

test('medium Memory is a tmpfs of sizeLimit: writing past it fails with ENOSPC', { skip: needsRoot }, async () => {
  const h = world('memory');
  try {
    const image = busyboxRootfs();
    const file = h.manifest('mem.json', pod('mem', {
      volumes: [{ name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }],
      containers: [{ name: 'app', image, command: ['sleep', '1000'], volumeMounts: [{ name: 'cache', mountPath: '/cache' }] }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const mounts = ok(await exec(h, 'mem', 'app', 'grep " /cache " /proc/mounts'), 'mounts').stdout;
    assert.match(mounts, /^tmpfs \/cache tmpfs rw,nosuid,nodev,relatime,size=1024k,mode=777/);
    ok(await exec(h, 'mem', 'app', 'dd if=/dev/zero of=/cache/half bs=1024 count=512'), 'half of it fits');
    const full = await exec(h, 'mem', 'app', 'dd if=/dev/zero of=/cache/more bs=1024 count=1024');
    assert.notEqual(full.code, 0);
    assert.match(full.stderr, /No space left on device/);
    // On the host: one tmpfs for the volume, under the pod's runtime directory.
    assert.ok(h.mounts().includes(volumeDir(h, 'run', 'mem', 'cache')));
    await finish(h, ['mem']);
  } catch (e) {
    await h.cli(['rm', '-f', 'mem']);
    h.cleanup();
    throw e;
  }
});

test('secrets are files on a tmpfs, never on disk; env from ConfigMap, Secret and the downward API with $(VAR) expansion', { skip: needsRoot }, async () => {
  const h = world('secret');
  try {
    const image = busyboxRootfs();
    const file = h.manifest('secret.yaml', `
apiVersion: v1
kind: Pod
metadata:
  name: creds
  namespace: shop
  labels: {app: shop, tier: web}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: tls
    secret: {secretName: tls, defaultMode: 0400, items: [{key: tls.key, path: keys/server.key}]}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: name, fieldRef: {fieldPath: metadata.name}}
  containers:
  - name: app
    image: ${image}
    command: [sh, -c, "echo 'greeting=$(GREETING)'; env | sort > /tmp/env; sleep 1000"]
    envFrom:
    - {configMapRef: {name: settings}, prefix: CFG_}
    - {configMapRef: {name: settings}}
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASSWORD, valueFrom: {secretKeyRef: {name: tls, key: password}}}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: POD_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    - {name: TIER, valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: MEM_MI, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: GREETING, value: "$(POD_NAME) in $(POD_NS) at $(POD_IP) mode $(MODE) $$(MODE) $(UNDEFINED)"}
    resources: {limits: {memory: 64Mi}}
    volumeMounts:
    - {name: tls, mountPath: /etc/tls}
    - {name: info, mountPath: /etc/podinfo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: production, 1st: one, level: debug}
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
data: {password: ${Buffer.from('hunter2').toString('base64')}}
stringData: {tls.key: "-----BEGIN TOP SECRET-----"}
`);
    const run = ok(await h.cli(['run', '-d', file]), 'run');
    const ip = run.stdout.trim().split(/\s+/)[1];
    assert.match(ip ?? '', /^10\.231\.\d+\.\d+$/, `run prints the pod IP: ${run.stdout}`);
    const greeting = await logContains(h, 'creds', 'app', 'greeting=');
    assert.equal(greeting, `greeting=creds in shop at ${ip} mode production $(MODE) $(UNDEFINED)\n`, 'command args are expanded too');
    const env = await waitFor(async () => {
      const r = await exec(h, 'creds', 'app', 'cat /tmp/env');
      return r.code === 0 && r.stdout.includes('POD_IP') ? r.stdout : undefined;
    }, 'the env dump');
    const uid = JSON.parse(readFileSync(path.join(h.root, 'run/pods/creds/state.json'), 'utf8')).host.uid;
    for (const line of [
      'CFG_mode=production',
      'CFG_level=debug',
      'CFG_1st=one',
      'level=debug',
      'MODE=production',
      'PASSWORD=hunter2',
      'POD_NAME=creds',
      'POD_NS=shop',
      `POD_UID=${uid}`,
      'TIER=web',
      `POD_IP=${ip}`,
      'MEM_MI=64',
      `GREETING=creds in shop at ${ip} mode production $(MODE) $(UNDEFINED)`,
    ]) assert.ok(env.split('\n').includes(line), `${line} in\n${env}`);
    assert.doesNotMatch(env, /^1st=/m, 'a key that is not a variable name is skipped');
    // The secret: on a tmpfs inside the container and on the host; mode and content as asked.
    const inside = ok(await exec(h, 'creds', 'app', 'grep " /etc/tls " /proc/mounts; stat -c %a /etc/tls/keys/server.key; cat /etc/tls/keys/server.key'), 'secret').stdout;
    assert.match(inside, /^tmpfs \/etc\/tls tmpfs ro,/);
    assert.match(inside, /\n400\n-----BEGIN TOP SECRET-----$/);
    const hostDir = volumeDir(h, 'run', 'creds', 'tls');
    assert.ok(h.mounts().includes(hostDir), 'the secret volume is its own tmpfs on the host');
    const onDisk = ok(await h.cli(['exec', 'creds', '-c', 'app', '--', 'ls', '/etc/tls/keys']), 'ls').stdout;
    assert.equal(onDisk, 'server.key\n');
    const grep = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) return h.mounts().includes(p) ? [] : grep(p);
        return e.isFile() && readFileSync(p).includes('TOP SECRET') ? [p] : [];
      });
    assert.deepEqual(grep(path.join(h.root, 'lib')), [], 'no secret content under the persistent root');
    const info = ok(await exec(h, 'creds', 'app', 'cat /etc/podinfo/labels; echo; cat /etc/podinfo/name'), 'downward API').stdout;
    assert.equal(info, 'app="shop"\ntier="web"\ncreds');
    ok(await h.cli(['rm', 'creds']), 'rm');
    assert.equal(existsSync(hostDir), false, 'the secret files go with the pod');
    await finish(h, []);
  } catch (e) {
    await h.cli(['rm', '-f', 'creds']);
    h.cleanup();
    throw e;
  }
});

test('hostPath: read and write through it; every type is checked; the content stays after the pod', { skip: needsRoot }, async () => {
  const h = world('hostpath');
  const sockets: net.Server[] = [];
  try {
    const image = busyboxRootfs();
    const base = path.join(h.root, 'host');
    mkdirSync(path.join(base, 'dir'), { recursive: true });
    writeFileSync(path.join(base, 'dir', 'hello'), 'from the host\n');
    writeFileSync(path.join(base, 'file'), 'a host file\n');
    const sock = path.join(base, 'app.sock');
    const server = net.createServer((c) => c.end());
    sockets.push(server);
    await new Promise<void>((r) => server.listen(sock, r));
    const block = readdirSync('/dev').map((d) => `/dev/${d}`).find((p) => {
      try {
        return statSync(p).isBlockDevice();
      } catch {
        return false;
      }
    });
    assert.ok(block, 'a block device exists in /dev');
    const volumes = [
      { name: 'dir', hostPath: { path: path.join(base, 'dir'), type: 'Directory' } },
      { name: 'made', hostPath: { path: path.join(base, 'made/deep'), type: 'DirectoryOrCreate' } },
      { name: 'file', hostPath: { path: path.join(base, 'file'), type: 'File' } },
      { name: 'newfile', hostPath: { path: path.join(base, 'new.txt'), type: 'FileOrCreate' } },
      { name: 'sock', hostPath: { path: sock, type: 'Socket' } },
      { name: 'null', hostPath: { path: '/dev/null', type: 'CharDevice' } },
      { name: 'block', hostPath: { path: block, type: 'BlockDevice' } },
      { name: 'plain', hostPath: { path: path.join(base, 'plain') } },
      { name: 'ro', hostPath: { path: path.join(base, 'dir'), type: 'Directory' } },
    ];
    const mountsOf = volumes.map((v) => ({ name: v.name, mountPath: `/mnt/${v.name}`, ...(v.name === 'ro' ? { readOnly: true } : {}) }));
    const file = h.manifest('hostpath.json', pod('hp', {
      volumes,
      containers: [{ name: 'app', image, command: ['sleep', '1000'], volumeMounts: mountsOf }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    const r = ok(await exec(h, 'hp', 'app', [
      'cat /mnt/dir/hello /mnt/file',
      'echo written-in-pod > /mnt/dir/out',
      'echo more >> /mnt/file',
      'echo new > /mnt/newfile',
      'echo deep > /mnt/made/x',
      'echo plain > /mnt/plain/y',
      'test -S /mnt/sock && echo socket',
      'test -c /mnt/null && echo char',
      'test -b /mnt/block && echo block',
    ].join('; ')), 'use the volumes').stdout;
    assert.match(r, /^from the host\na host file\n/);
    assert.match(r, /socket\nchar\nblock\n$/);
    const ro = await exec(h, 'hp', 'app', 'echo x > /mnt/ro/nope');
    assert.match(ro.stderr, /Read-only file system/, 'a readOnly hostPath refuses writes');
    ok(await h.cli(['rm', 'hp']), 'rm');
    // What the pod wrote to the host stays; hostPath is not the pod's to remove.
    assert.equal(readFileSync(path.join(base, 'dir', 'out'), 'utf8'), 'written-in-pod\n');
    assert.equal(readFileSync(path.join(base, 'file'), 'utf8'), 'a host file\nmore\n');
    assert.equal(readFileSync(path.join(base, 'new.txt'), 'utf8'), 'new\n');
    assert.equal(statSync(path.join(base, 'new.txt')).mode & 0o777, 0o644);
    assert.equal(readFileSync(path.join(base, 'made/deep/x'), 'utf8'), 'deep\n');
    assert.equal(readFileSync(path.join(base, 'plain/y'), 'utf8'), 'plain\n');
    assert.ok(existsSync(path.join(base, 'dir', 'hello')));
    await finish(h, []);
  } catch (e) {
    await h.cli(['rm', '-f', 'hp']);
    h.cleanup();
    throw e;
  } finally {
    for (const s of sockets) s.close();
  }
});

test('hostPath type mismatches fail with the field and position, and create nothing', { skip: needsRoot }, async () => {
  const h = world('hpcheck');
  try {
    const image = busyboxRootfs();
    const base = path.join(h.root, 'host');
    mkdirSync(path.join(base, 'dir'), { recursive: true });
    writeFileSync(path.join(base, 'file'), 'x');
    const cases: [string, object, RegExp][] = [
      ['Directory', { path: path.join(base, 'file'), type: 'Directory' }, /is a regular file, not a directory \(type Directory\)/],
      ['Directory missing', { path: path.join(base, 'nope'), type: 'Directory' }, /does not exist \(type Directory needs a directory\)/],
      ['DirectoryOrCreate', { path: path.join(base, 'file'), type: 'DirectoryOrCreate' }, /is a regular file, not a directory/],
      ['File', { path: path.join(base, 'dir'), type: 'File' }, /is a directory, not a regular file \(type File\)/],
      ['FileOrCreate', { path: path.join(base, 'dir'), type: 'FileOrCreate' }, /is a directory, not a regular file/],
      ['FileOrCreate parent', { path: path.join(base, 'no/such/file'), type: 'FileOrCreate' }, /does not exist and its directory .* does not either/],
      ['Socket', { path: path.join(base, 'file'), type: 'Socket' }, /is a regular file, not a UNIX socket/],
      ['CharDevice', { path: path.join(base, 'file'), type: 'CharDevice' }, /not a character device/],
      ['BlockDevice', { path: '/dev/null', type: 'BlockDevice' }, /is a character device, not a block device/],
    ];
    for (const [what, hostPath, message] of cases) {
      const file = h.manifest('bad.yaml', [
        'apiVersion: v1',
        'kind: Pod',
        'metadata: {name: bad}',
        'spec:',
        '  volumes:',
        '  - name: ok',
        `    hostPath: {path: ${path.join(base, 'should-not-exist')}, type: DirectoryOrCreate}`,
        '  - name: v',
        `    hostPath: ${JSON.stringify(hostPath)}`,
        '  containers:',
        `  - {name: app, image: ${image}, command: [sleep, '1000']}`,
      ].join('\n'));
      const r = await h.cli(['run', '-d', file]);
      assert.equal(r.code, 125, `${what}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9:\\d+ spec\\.volumes\\[1\\]\\.hostPath\\.path: hostPath type check failed: `), what);
      assert.match(r.stderr, message, what);
      assert.deepEqual(h.podDirs(), [], `${what}: no pod left`);
      assert.equal(existsSync(path.join(base, 'should-not-exist')), false, `${what}: the other hostPath was not created`);
    }
    await finish(h, []);
  } catch (e) {
    await h.cli(['rm', '-f', 'bad']);
    h.cleanup();
    throw e;
  }
});

test('subPath: a symlink planted in a shared volume cannot lead a later mount out of it', { skip: needsRoot }, async () => {
  const h = world('subpath');
  try {
    const image = busyboxRootfs();
    // CVE-2017-1002101 / CVE-2021-25741: one container plants symlinks in an emptyDir, another
    // mounts them with subPath. An absolute link and a relative one climbing out are both refused.
    const cases = [
      ['abs', '/', 'escape'],
      ['rel', '../../../../../../../../etc', 'escape'],
      // Missing below the link: the directory Kubernetes would create must not be made outside either.
      ['create', '/tmp', 'escape/made-by-minipod'],
    ] as const;
    for (const [name, link, subPath] of cases) {
      const file = h.manifest(`escape-${name}.json`, pod(`escape-${name}`, {
        restartPolicy: 'Never',
        volumes: [{ name: 'shared', emptyDir: {} }],
        initContainers: [{ name: 'plant', image, command: ['sh', '-c', `mkdir -p /v/ok && echo inside > /v/ok/file && ln -s ${link} /v/escape && ln -s ok /v/inner`], volumeMounts: [{ name: 'shared', mountPath: '/v' }] }],
        containers: [{ name: 'victim', image, command: ['sleep', '1000'], volumeMounts: [{ name: 'shared', mountPath: '/host', subPath }] }],
      }));
      const r = await h.cli(['run', '-d', file]);
      // The victim never runs: its start fails at the mount, and the pod says why.
      const said = await waitFor(async () => {
        const i = await h.cli(['inspect', `escape-${name}`]);
        const st = i.code === 0 ? JSON.parse(i.stdout).status.containerStatuses.find((c: { name: string }) => c.name === 'victim') : undefined;
        const text = JSON.stringify(st?.state ?? {}) + (st?.lastState ? JSON.stringify(st.lastState) : '');
        return text.includes('subPath') ? `${r.stderr}${text}` : undefined;
      }, `${name}: the victim's failure`);
      // In JSON the quotes around the paths come escaped.
      assert.match(said, new RegExp(`${subPath}\\\\?" -> \\\\?"/host\\\\?": .*the subPath leads out of its volume`), name);
      assert.equal(existsSync('/tmp/made-by-minipod'), false, `${name}: nothing made outside the volume`);
      ok(await h.cli(['rm', '-f', `escape-${name}`]), 'rm');
      assert.deepEqual({ mounts: h.mounts(), dirs: h.podDirs() }, { mounts: [], dirs: [] }, `${name}: nothing left`);
    }
    // A symlink that stays inside the volume is followed.
    const file = h.manifest('inner.json', pod('inner', {
      volumes: [{ name: 'shared', emptyDir: {} }],
      initContainers: [{ name: 'plant', image, command: ['sh', '-c', 'mkdir -p /v/ok && echo inside > /v/ok/file && ln -s ok /v/inner'], volumeMounts: [{ name: 'shared', mountPath: '/v' }] }],
      containers: [{ name: 'app', image, command: ['sleep', '1000'], volumeMounts: [{ name: 'shared', mountPath: '/data', subPath: 'inner' }, { name: 'shared', mountPath: '/made', subPath: 'new/dir' }] }],
    }));
    ok(await h.cli(['run', '-d', file]), 'run');
    assert.equal(ok(await exec(h, 'inner', 'app', 'cat /data/file'), 'cat').stdout, 'inside\n');
    assert.ok(statSync(path.join(volumeDir(h, 'lib', 'inner', 'shared'), 'new/dir')).isDirectory(), 'a missing subPath is created as a directory');
    await finish(h, ['inner']);
  } catch (e) {
    await h.cli(['rm', '-f', 'escape-abs', 'escape-rel', 'escape-create', 'inner']);
    h.cleanup();
    throw e;
  }
});

test('bad volume input is reported with file, line and field before anything is created; plan shows the volumes', { skip: needsRoot }, async () => {
  const h = world('badinput');
  try {
    const image = busyboxRootfs();
    const manifest = (volumes: string[], mounts: string[]) =>
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata: {name: bad}',
        'spec:',
        '  volumes:',
        ...volumes.map((v) => `  - ${v}`),
        '  containers:',
        `  - name: app`,
        `    image: ${image}`,
        "    command: [sleep, '1000']",
        '    volumeMounts:',
        ...mounts.map((m) => `    - ${m}`),
        '---',
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata: {name: cfg}',
        'data: {k: v}',
      ].join('\n');
    const cases: [string, string, RegExp][] = [
      ['undeclared', manifest(['{name: a, emptyDir: {}}'], ['{name: b, mountPath: /b}']), /:12:\d+ spec\.containers\[0\]\.volumeMounts\[0\]\.name: no volume named "b"/],
      ['duplicate', manifest(['{name: a, emptyDir: {}}', '{name: a, emptyDir: {}}'], ['{name: a, mountPath: /a}']), /:7:\d+ spec\.volumes\[1\]\.name: volume "a" is declared twice/],
      ['mode', manifest(['{name: a, configMap: {name: cfg, defaultMode: 01000}}'], ['{name: a, mountPath: /a}']), /:6:\d+ spec\.volumes\[0\]\.configMap\.defaultMode: must be a file mode between 0 and 0777/],
      ['key', manifest(['{name: a, configMap: {name: cfg, items: [{key: "../k", path: k}]}}'], ['{name: a, mountPath: /a}']), /:6:\d+ spec\.volumes\[0\]\.configMap\.items\[0\]\.key: key "\.\.\/k" is not valid/],
      ['item path', manifest(['{name: a, configMap: {name: cfg, items: [{key: k, path: ../../etc/passwd}]}}'], ['{name: a, mountPath: /a}']), /spec\.volumes\[0\]\.configMap\.items\[0\]\.path: path "\.\.\/\.\.\/etc\/passwd" must not contain '\.\.'/],
      ['missing configmap', manifest(['{name: a, configMap: {name: nope}}'], ['{name: a, mountPath: /a}']), /:6:\d+ spec\.volumes\[0\]\.configMap\.name: ConfigMap "nope" not found/],
      ['missing key', manifest(['{name: a, configMap: {name: cfg, items: [{key: nope, path: x}]}}'], ['{name: a, mountPath: /a}']), /spec\.volumes\[0\]\.configMap\.items\[0\]\.key: ConfigMap "cfg" has no key "nope"/],
    ];
    for (const [what, text, message] of cases) {
      const file = h.manifest(`${what.replace(/ /g, '-')}.yaml`, text);
      const r = await h.cli(['run', '-d', file]);
      assert.equal(r.code, 125, `${what}: ${r.stdout}${r.stderr}`);
      assert.ok(r.stderr.includes(file), `${what}: names the file: ${r.stderr}`);
      assert.match(r.stderr, message, what);
      assert.deepEqual({ mounts: h.mounts(), dirs: h.podDirs() }, { mounts: [], dirs: [] }, `${what}: nothing created`);
    }
    // `minipod plan` shows each volume's host source and its mount in the container.
    const good = h.manifest('good.yaml', manifest(['{name: a, emptyDir: {}}', '{name: c, configMap: {name: cfg}}'], ['{name: a, mountPath: /a}', '{name: c, mountPath: /etc/c}']));
    const plan = ok(await h.cli(['plan', good]), 'plan').stdout;
    const lib = path.join(h.root, 'lib/pods/bad/volumes');
    assert.ok(plan.includes(`mkdir -m 0777 ${lib}/a`), plan);
    assert.ok(plan.includes(`write ${lib}/c/k(0644)`), plan);
    assert.ok(plan.includes(`${lib}/a`) && plan.includes('/etc/c'), plan);
    assert.deepEqual(h.podDirs(), [], 'plan creates nothing');
    await finish(h, []);
  } catch (e) {
    await h.cli(['rm', '-f', 'bad']);
    h.cleanup();
    throw e;
  }
});

test('fsGroup: volumes get the group, setgid directories, and a non-root user can write the emptyDir', { skip: needsRoot }, async () => {
  const h = world('fsgroup');
  try {
    const image = busyboxRootfs();
    const file = h.manifest('fsgroup.yaml', `
apiVersion: v1
kind: Pod
metadata: {name: fsg}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000}
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: conf, configMap: {name: cfg, defaultMode: 0600}}
  containers:
  - name: app
    image: ${image}
    command: [sleep, '1000']
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: conf, mountPath: /conf}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {k: v}
`);
    ok(await h.cli(['run', '-d', file]), 'run');
    const out = ok(await exec(h, 'fsg', 'app', 'id -u; id -G; echo hi > /scratch/f && stat -c "%a %g" /scratch /scratch/f /conf/k; cat /conf/k'), 'exec').stdout;
    assert.equal(out, '1000\n1000 2000\n2777 2000\n644 2000\n640 2000\nv');
    await finish(h, ['fsg']);
  } catch (e) {
    await h.cli(['rm', '-f', 'fsg']);
    h.cleanup();
    throw e;
  }
});
