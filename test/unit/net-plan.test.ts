// Pod network: what the hook contributes to a plan (pure, no root): the /etc files bound
// into every container and the host steps `minipod plan` shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError, MinipodError } from '../../src/errors.ts';
import { FakeNative } from '../../src/native/fake.ts';
import { contributeNetwork } from '../../src/net/hook.ts';
import type { HookContext } from '../../src/runtime/phases.ts';
import type { Pod } from '../../src/spec/types.ts';

function ctxOf(spec: Partial<Pod['spec']>, facts: HookContext['facts'] = {}): HookContext {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: { initContainers: [{ name: 'init', image: 'x' }], containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }], ...spec },
  };
  return { native: new FakeNative(), pod, uid: 'uid-1', roots: { lib: '/L', run: '/R' }, dirs: { run: '/R/pods/web', lib: '/L/pods/web' }, configMaps: [], secrets: [], facts };
}

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

test('every container, init ones too, gets the pod\'s /etc/hosts, hostname and resolv.conf', () => {
  const c = withEnv({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' }, () => contributeNetwork(ctxOf({})));
  assert.deepEqual([...c.mounts!.keys()], ['init', 'app']);
  assert.deepEqual(c.mounts!.get('app'), [
    { op: 'bind', source: '/R/pods/web/etc/hosts', dst: '/etc/hosts', readOnly: false, recursive: false },
    { op: 'bind', source: '/R/pods/web/etc/hostname', dst: '/etc/hostname', readOnly: false, recursive: false },
    { op: 'bind', source: '/R/pods/web/etc/resolv.conf', dst: '/etc/resolv.conf', readOnly: false, recursive: false },
  ]);
});

test('plan shows the bridge steps, the host operations and the nft transaction, with a placeholder until the address is known', () => {
  const c = withEnv({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' }, () => contributeNetwork(ctxOf({})));
  const cmds = c.hostSteps!.map((s) => s.command.join(' '));
  assert.ok(cmds.includes('link add mpt0 type bridge address 0a:58:0a:d5:00:01'));
  // The firewall is one host operation: one `nft -f -` transaction, and its undo.
  const nft = c.hostOps!.find((o) => o.op === 'nft');
  assert.ok(nft && nft.op === 'nft');
  const lines = nft.script.trim().split('\n');
  assert.ok(lines.includes('create element ip minipod-mpt0 hostport_any { tcp . 8080 : <pod-ip> . 80 }'));
  assert.ok(lines.includes('add rule ip minipod-mpt0 output fib daddr type local jump hostports'));
  // The elements come after the rules they need.
  assert.ok(lines.findIndex((c) => c.startsWith('create element')) > lines.findIndex((c) => c.startsWith('add rule')));
  assert.equal(nft.undo, 'delete element ip minipod-mpt0 hostport_any { tcp . 8080 }\n');
  assert.equal(c.hostOps!.at(-1), nft, 'the ports are programmed once the pod is wired');
  // The pod's own wiring is host operations, no process and no pid in them.
  const ops = c.hostOps!;
  assert.match(JSON.stringify(ops[0]), /^\{"op":"veth","name":"mp[0-9a-f]{10}","peer":"eth0","peerNetns":"pod"\}$/);
  assert.deepEqual(ops[3], { op: 'addr', netns: 'pod', dev: 'eth0', address: '<pod-ip>', prefix: 24 });
  assert.deepEqual(ops[5], { op: 'route', netns: 'pod', dev: 'eth0', gateway: '10.213.0.1' });
  assert.ok(!cmds.some((c) => /^(ip|nsenter) /.test(c)), 'no ip or nsenter step');
  const known = withEnv({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' }, () => contributeNetwork(ctxOf({}, { podIP: '10.213.0.5' })).hostOps!);
  assert.deepEqual(known[3], { op: 'addr', netns: 'pod', dev: 'eth0', address: '10.213.0.5', prefix: 24 });
});

test('hostNetwork: no host steps, the files are still mounted', () => {
  const c = contributeNetwork(ctxOf({ hostNetwork: true, containers: [{ name: 'app', image: 'x', ports: [{ containerPort: 80 }] }] }));
  assert.equal(c.hostSteps, undefined);
  assert.equal(c.mounts!.get('app')!.length, 3);
});

test('bad input is reported while planning, before anything is made', () => {
  assert.throws(() => withEnv({ MINIPOD_SUBNET: '10.213.0.1/24' }, () => contributeNetwork(ctxOf({}))), (e: unknown) => e instanceof MinipodError && /host bits are set/.test(e.message));
  assert.throws(() => withEnv({ MINIPOD_BRIDGE: 'x'.repeat(16) }, () => contributeNetwork(ctxOf({}))), /not a usable interface name/);
  assert.throws(() => contributeNetwork(ctxOf({ dnsPolicy: 'None' })), (e: unknown) => e instanceof FieldError && e.field === 'spec.dnsConfig.nameservers');
  assert.throws(
    () => contributeNetwork(ctxOf({ hostNetwork: true })),
    (e: unknown) => e instanceof FieldError && e.field === 'spec.containers[0].ports[0].hostPort',
  );
});
