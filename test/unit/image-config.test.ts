// The image config the Kubernetes way, without root: User resolved through the image's
// /etc/passwd and /etc/group as containerd's CRI plugin does, Entrypoint/Cmd against
// command/args in all four combinations, StopSignal, and `plan` saying where each came from.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { parseGroup, parsePasswd, readImageFile, readImageUsers, resolveImageUser, type ImageUsers } from '../../src/image/users.ts';
import { containerPlan, type ImageInfo, type PodContext } from '../../src/plan/container.ts';
import { describePlan } from '../../src/plan/describe.ts';
import { buildPodPlan } from '../../src/plan/pod.ts';
import type { Pod } from '../../src/spec/types.ts';

const users: ImageUsers = {
  passwd: parsePasswd('root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\napp:x:1000:1000::/app:/bin/sh\n# comment\nbad:x:notanumber:1::/:\n'),
  group: parseGroup('root:x:0:\nwww:x:33:\napp:x:1000:\nstaff:x:50:app,www\nlogs:x:4000: app \n'),
};

test('User: empty, uid, uid:gid, name, name:group, uid:group — and unknown names are errors', () => {
  assert.deepEqual(resolveImageUser(undefined, users), { uid: 0, gid: 0, name: 'root' });
  assert.deepEqual(resolveImageUser('1000', users), { uid: 1000, gid: 1000, name: 'app' }, "a known uid takes its passwd gid");
  assert.deepEqual(resolveImageUser('4242', users), { uid: 4242, gid: 0, name: undefined }, 'an unknown uid gets gid 0');
  assert.deepEqual(resolveImageUser('1000:7', users), { uid: 1000, gid: 7, name: 'app' });
  assert.deepEqual(resolveImageUser('www', users), { uid: 33, gid: 33, name: 'www' });
  assert.deepEqual(resolveImageUser('www:staff', users), { uid: 33, gid: 50, name: 'www' });
  assert.deepEqual(resolveImageUser('4242:staff', users), { uid: 4242, gid: 50, name: undefined });
  assert.throws(() => resolveImageUser('nobody', users), /the image's user "nobody" is not in its \/etc\/passwd/);
  assert.throws(() => resolveImageUser('app:wheel', users), /the image's group "wheel" is not in its \/etc\/group/);
  assert.equal(users.passwd.length, 3, 'a malformed line is skipped');
});

test("an image's /etc/passwd is read inside its root: a link to the host's file reads nothing of the host", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-image-users-'));
  const host = mkdtempSync(path.join(os.tmpdir(), 'minipod-host-etc-'));
  try {
    mkdirSync(path.join(root, 'etc'));
    mkdirSync(path.join(root, 'data'));
    writeFileSync(path.join(host, 'passwd'), 'hostonly:x:4321:4321::/:/bin/sh\n');
    writeFileSync(path.join(root, 'data', 'group'), 'img:x:77:app\n');
    symlinkSync(path.join(host, 'passwd'), path.join(root, 'etc', 'passwd')); // absolute: taken from the image's root
    symlinkSync('../../../../../data/group', path.join(root, 'etc', 'group')); // '..' stops at the root
    assert.equal(readImageFile(root, 'etc/passwd'), undefined, 'the host file is not read');
    const u = readImageUsers(root);
    assert.deepEqual(u.passwd, []);
    assert.deepEqual(u.group, [{ name: 'img', gid: 77, members: ['app'] }]);
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(host, { recursive: true, force: true });
  }
});

function podOf(spec: Record<string, unknown>): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'demo', namespace: 'default' }, spec: { restartPolicy: 'Always', ...spec } } as unknown as Pod;
}

const img: ImageInfo = { ref: 'web:1', rootfs: '/img/web', env: ['PATH=/bin'], entrypoint: ['/entry'], cmd: ['--serve'], workingDir: '/srv', user: 'app', stopSignal: 'SIGQUIT', users };

function plan(c: Record<string, unknown>, podSpec: Record<string, unknown> = {}, image = img) {
  const pod = podOf({ ...podSpec, containers: [{ name: 'c', image: 'web:1', ...c }] });
  const ctx: PodContext = { pod, uid: 'u', hostname: 'demo', dirs: { run: '/run/p', lib: '/lib/p' }, images: new Map([['c', image]]) };
  return containerPlan(ctx, pod.spec.containers[0], 'spec.containers[0]', false);
}

test('Entrypoint and Cmd against command and args: all four combinations', () => {
  assert.deepEqual(plan({}).process.argv, ['/entry', '--serve']);
  assert.deepEqual(plan({ args: ['--debug'] }).process.argv, ['/entry', '--debug']);
  assert.deepEqual(plan({ command: ['/bin/sh'] }).process.argv, ['/bin/sh'], "command drops the image's Cmd too");
  assert.deepEqual(plan({ command: ['/bin/sh'], args: ['-c', 'x'] }).process.argv, ['/bin/sh', '-c', 'x']);
  assert.equal(plan({ args: ['--debug'] }).origins?.argv, 'Entrypoint from the image, args from the manifest');
});

test("the image's user, with its groups from /etc/group; runAsUser and runAsGroup win; supplementalGroups join", () => {
  assert.deepEqual(plan({}).process.user, { uid: 1000, gid: 1000, groups: [1000, 50, 4000] });
  assert.match(plan({}).origins!.user, /^image \(User "app"\), app$/);
  // runAsUser 33 is www in the image: its gid and groups come along, as with containerd.
  const www = plan({ securityContext: { runAsUser: 33 } }, { securityContext: { supplementalGroups: [9] } }).process.user;
  assert.deepEqual(www, { uid: 33, gid: 33, groups: [33, 9, 50] });
  const grp = plan({}, { securityContext: { runAsGroup: 3000, supplementalGroups: [4000] } }).process.user;
  assert.deepEqual(grp, { uid: 1000, gid: 3000, groups: [3000, 4000, 50] }, "Kubernetes' own example: groups=3000,4000,50000");
});

test('runAsNonRoot is checked against the resolved user; an unknown image user is an error naming the image field', () => {
  assert.doesNotThrow(() => plan({ securityContext: { runAsNonRoot: true } }), 'app is uid 1000');
  assert.throws(() => plan({ securityContext: { runAsNonRoot: true } }, {}, { ...img, user: 'root' }), /runAsNonRoot and would run as root \(uid 0, from the image\)/);
  assert.throws(() => plan({}, {}, { ...img, user: 'ghost' }), (e: Error & { field?: string }) => e.field === 'spec.containers[0].image' && /"ghost" is not in its \/etc\/passwd/.test(e.message));
});

test("StopSignal: lifecycle.stopSignal, else the image's, else SIGTERM; plan says where each thing came from", () => {
  assert.equal(plan({}).stopSignal, 'SIGQUIT');
  assert.equal(plan({ lifecycle: { stopSignal: 'SIGINT' } }).stopSignal, 'SIGINT');
  assert.equal(plan({}, {}, { ...img, stopSignal: undefined }).stopSignal, 'SIGTERM');
  const pod = podOf({ containers: [{ name: 'c', image: 'web:1' }] });
  const text = describePlan(buildPodPlan({ pod, uid: 'u', hostname: 'demo', dirs: { run: '/run/p', lib: '/lib/p' }, images: new Map([['c', img]]), pauseBinary: '/pause' }));
  assert.match(text, /from: argv Entrypoint from the image, Cmd from the image; user image \(User "app"\), app; cwd image; stop signal SIGQUIT \(image\)/);
  assert.equal(plan({}).process.cwd, '/srv');
  assert.ok(plan({}).process.mounts.some((m) => m.op === 'mkdir' && m.dst === '/srv'), 'a missing WorkingDir is created, as containerd does');
});
