// Pod network: hostPort validation and the nftables rules and elements minipod writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { netConfig } from '../../src/net/config.ts';
import { bridgeMac, bridgeSteps, describeBridgeStep, ownerAlias } from '../../src/net/ip.ts';
import { describeHostOp, podNetworkOps } from '../../src/plan/host-ops.ts';
import { elementOf, renderCreateElements, renderRuleset } from '../../src/net/nft.ts';
import { clash, describePort, hostPorts, type HostPort } from '../../src/net/ports.ts';
import type { Container, Pod } from '../../src/spec/types.ts';

function podOf(containers: Partial<Container>[], spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web' },
    spec: { containers: containers.map((c, i) => ({ name: `c${i}`, image: 'x', ...c })), ...spec },
  };
}

test('hostPorts: published ports only, protocol and hostIP normalised', () => {
  const pod = podOf([{ ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' }] }, { ports: [{ containerPort: 90, hostPort: 9090, hostIP: '0.0.0.0' }] }]);
  assert.deepEqual(hostPorts(pod), [
    { protocol: 'tcp', hostPort: 8080, containerPort: 80, container: 'c0' },
    { protocol: 'udp', hostPort: 5353, containerPort: 53, container: 'c0', hostIP: '127.0.0.1' },
    { protocol: 'tcp', hostPort: 9090, containerPort: 90, container: 'c1' },
  ]);
});

test('hostPorts: bad input is a FieldError naming the field', () => {
  const cases: [Partial<Container>[], Partial<Pod['spec']>, string, RegExp][] = [
    [[{ ports: [{ containerPort: 80, hostPort: 70000 }] }], {}, 'spec.containers[0].ports[0].hostPort', /between 1 and 65535/],
    [[{ ports: [{ containerPort: 80, hostPort: 8080, protocol: 'SCTP' }] }], {}, 'spec.containers[0].ports[0].protocol', /SCTP is not supported/],
    [[{ ports: [{ containerPort: 80, hostPort: 8080, hostIP: 'localhost' }] }], {}, 'spec.containers[0].ports[0].hostIP', /not an IPv4 address/],
    [[{ ports: [{ containerPort: 80, hostPort: 8080 }] }, { ports: [{ containerPort: 81, hostPort: 8080 }] }], {}, 'spec.containers[1].ports[0].hostPort', /published twice in this pod \(also by container "c0"\)/],
    [[{ ports: [{ containerPort: 80, hostPort: 8080 }] }], { hostNetwork: true }, 'spec.containers[0].ports[0].hostPort', /must equal containerPort \(80\)/],
  ];
  for (const [containers, spec, field, re] of cases) {
    assert.throws(() => hostPorts(podOf(containers, spec)), (e: unknown) => e instanceof FieldError && e.field === field && re.test(e.message), field);
  }
});

test('hostNetwork: container ports are host ports', () => {
  assert.deepEqual(hostPorts(podOf([{ ports: [{ containerPort: 80 }] }], { hostNetwork: true })), [{ protocol: 'tcp', hostPort: 80, containerPort: 80, container: 'c0' }]);
});

test('port claims clash on protocol and port when the addresses overlap', () => {
  const p = (protocol: 'tcp' | 'udp', hostPort: number, hostIP?: string): HostPort => ({ protocol, hostPort, containerPort: 1, container: 'c', ...(hostIP ? { hostIP } : {}) });
  assert.ok(clash(p('tcp', 80), p('tcp', 80)));
  assert.ok(clash(p('tcp', 80), p('tcp', 80, '127.0.0.1')));
  assert.ok(clash(p('tcp', 80, '10.0.0.1'), p('tcp', 80, '10.0.0.1')));
  assert.ok(!clash(p('tcp', 80, '10.0.0.1'), p('tcp', 80, '10.0.0.2')));
  assert.ok(!clash(p('tcp', 80), p('udp', 80)));
  assert.ok(!clash(p('tcp', 80), p('tcp', 81)));
  assert.equal(describePort(p('udp', 53, '127.0.0.1')), 'hostPort 127.0.0.1:53/UDP');
});

test('the ruleset: DNAT maps from prerouting and output, masquerade for localhost, hairpin and egress', () => {
  const cfg = netConfig({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' });
  const r = renderRuleset(cfg);
  assert.match(r, /^add table ip minipod-mpt0$/m);
  assert.match(r, /^add chain ip minipod-mpt0 prerouting \{ type nat hook prerouting priority dstnat; policy accept; \}$/m);
  assert.match(r, /^add rule ip minipod-mpt0 output fib daddr type local jump hostports$/m);
  assert.match(r, /^add rule ip minipod-mpt0 hostports dnat to ip daddr \. meta l4proto \. th dport map @hostport_ip$/m);
  assert.match(r, /^add rule ip minipod-mpt0 postrouting oifname "mpt0" ip saddr 127\.0\.0\.0\/8 ct status dnat masquerade$/m);
  assert.match(r, /^add rule ip minipod-mpt0 postrouting oifname != "mpt0" ip saddr 10\.213\.0\.0\/24 ip daddr != 10\.213\.0\.0\/24 masquerade$/m);
  // Chains are flushed before rules are added (in that order), so re-applying never duplicates.
  assert.ok(r.indexOf('flush chain ip minipod-mpt0 postrouting') < r.indexOf('add rule ip minipod-mpt0 postrouting'));
  assert.doesNotMatch(r, /flush (map|table)/);
  const off = renderRuleset(netConfig({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24', MINIPOD_NO_MASQUERADE: '1' }));
  assert.doesNotMatch(off, /oifname != "mpt0"/);
  assert.match(off, /ct status dnat masquerade/);
});

test('port elements: any-address and per-address maps, keys for delete', () => {
  const any: HostPort = { protocol: 'tcp', hostPort: 8080, containerPort: 80, container: 'c' };
  const one: HostPort = { protocol: 'udp', hostPort: 5353, containerPort: 53, container: 'c', hostIP: '127.0.0.1' };
  assert.equal(renderCreateElements('minipod-mpt0', [any, one], '10.213.0.2'),
    'create element ip minipod-mpt0 hostport_any { tcp . 8080 : 10.213.0.2 . 80 }\n' +
    'create element ip minipod-mpt0 hostport_ip { 127.0.0.1 . udp . 5353 : 10.213.0.2 . 53 }\n');
  assert.equal(elementOf('minipod-mpt0', one), 'element ip minipod-mpt0 hostport_ip { 127.0.0.1 . udp . 5353 }');
});

test('the bridge\'s ip batch has a fixed MAC; a pod\'s wiring is host operations: veth straight into the pod as eth0, address and route', () => {
  const cfg = netConfig({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' });
  assert.equal(bridgeMac('10.213.0.1'), '0a:58:0a:d5:00:01');
  assert.deepEqual(bridgeSteps(cfg, ownerAlias('/run/minipod')).map(describeBridgeStep), [
    'link add mpt0 type bridge address 0a:58:0a:d5:00:01',
    'link mpt0 alias "minipod:/run/minipod"',
    'addr 10.213.0.1/24 brd + dev mpt0',
    'link mpt0 up',
  ]);
  assert.throws(() => bridgeSteps(cfg, ownerAlias('/tmp/a\nb')), /cannot be a bridge alias/);
  const ops = podNetworkOps(cfg, 'mpabc', '10.213.0.9');
  assert.deepEqual(ops.map(describeHostOp), [
    "veth mpabc <-> eth0 (created in the pod's network namespace)",
    '[host] link mpabc master mpt0',
    '[host] link mpabc up',
    '[pod] addr 10.213.0.9/24 dev eth0',
    '[pod] link eth0 up',
    '[pod] route default via 10.213.0.1 dev eth0',
  ]);
  assert.ok(JSON.stringify(ops).indexOf('pid') < 0, 'no namespace is named by a pid');
});
