// Pod network: IPv4 and CIDR parsing, and the bridge/subnet configuration from the environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MinipodError } from '../../src/errors.ts';
import { contains, formatIPv4, gatewayOf, hostRange, overlaps, parseIPv4, parseSubnet } from '../../src/net/cidr.ts';
import { DEFAULT_SUBNET, netConfig, vethName } from '../../src/net/config.ts';

test('IPv4 addresses parse and print back', () => {
  assert.equal(parseIPv4('10.90.0.1'), 0x0a5a0001);
  assert.equal(formatIPv4(0x0a5a0001), '10.90.0.1');
  assert.equal(formatIPv4(parseIPv4('255.255.255.255')!), '255.255.255.255');
  for (const bad of ['10.90.0', '10.90.0.256', '10.090.0.1', 'a.b.c.d', '1.2.3.4.5', '', ' 1.2.3.4']) assert.equal(parseIPv4(bad), undefined, bad);
});

test('a subnet gives its gateway and host range', () => {
  const n = parseSubnet('10.213.0.0/24');
  assert.equal(n.text, '10.213.0.0/24');
  assert.equal(formatIPv4(gatewayOf(n)), '10.213.0.1');
  const r = hostRange(n);
  assert.equal(formatIPv4(r.first), '10.213.0.1');
  assert.equal(formatIPv4(r.last), '10.213.0.254');
  assert.ok(contains(n, parseIPv4('10.213.0.77')!));
  assert.ok(!contains(n, parseIPv4('10.213.1.1')!));
  const small = parseSubnet('192.168.5.4/30');
  assert.deepEqual([hostRange(small).first, hostRange(small).last].map(formatIPv4), ['192.168.5.5', '192.168.5.6']);
});

test('invalid subnets are refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['10.90.0.0', /ADDRESS\/PREFIX/],
    ['10.90.0.0/33', /larger than 32/],
    ['10.90.0.0/31', /no room/],
    ['10.90.0.1/16', /host bits are set; the network is 10\.90\.0\.0\/16/],
    ['10.300.0.0/16', /not an IPv4 address/],
    ['fd00::/64', /not an IPv4 address/],
    ['10.0.0.0/4', /at least \/8/],
  ];
  for (const [s, re] of cases) {
    assert.throws(() => parseSubnet(s), (e: unknown) => e instanceof MinipodError && re.test(e.message) && e.message.includes(s), s);
  }
});

test('the default subnet stays clear of podman and docker defaults', () => {
  const def = parseSubnet(DEFAULT_SUBNET);
  for (const other of ['10.88.0.0/16', '10.89.0.0/24', '172.17.0.0/16']) assert.ok(!overlaps(def, parseSubnet(other)), other);
  assert.ok(overlaps(parseSubnet('10.0.0.0/8'), def));
});

test('netConfig reads the bridge, subnet and masquerade switch from the environment', () => {
  const d = netConfig({});
  assert.deepEqual([d.bridge, d.subnet.text, d.gateway, d.masquerade, d.table], ['minipod0', '10.90.0.0/16', '10.90.0.1', true, 'minipod-minipod0']);
  const c = netConfig({ MINIPOD_BRIDGE: 'mptest-x', MINIPOD_SUBNET: '10.213.4.0/24', MINIPOD_NO_MASQUERADE: '1' });
  assert.deepEqual([c.bridge, c.gateway, c.masquerade, c.table], ['mptest-x', '10.213.4.1', false, 'minipod-mptest-x']);
  assert.equal(netConfig({ MINIPOD_NO_MASQUERADE: '0' }).masquerade, true);
  assert.throws(() => netConfig({ MINIPOD_BRIDGE: 'a-name-that-is-too-long' }), /not a usable interface name/);
  assert.throws(() => netConfig({ MINIPOD_BRIDGE: 'br;rm' }), /not a usable interface name/);
  assert.throws(() => netConfig({ MINIPOD_SUBNET: 'nonsense' }), /subnet \(MINIPOD_SUBNET \/ --subnet\) "nonsense" is not a valid IPv4 CIDR/);
});

test('veth names are stable per pod uid and fit IFNAMSIZ', () => {
  const a = vethName('0b7e4e1c-0000-4000-8000-000000000001');
  assert.equal(a, vethName('0b7e4e1c-0000-4000-8000-000000000001'));
  assert.notEqual(a, vethName('0b7e4e1c-0000-4000-8000-000000000002'));
  assert.match(a, /^mp[0-9a-f]{10}$/);
  assert.ok(a.length <= 15);
});

test('a subnet that another interface routes is refused before the bridge is made', async () => {
  const { checkRoutes } = await import('../../src/net/setup.ts');
  const cfg = netConfig({ MINIPOD_BRIDGE: 'mpt0', MINIPOD_SUBNET: '10.213.0.0/24' });
  const route = (iface: string, net: string, prefix: number) => ({ iface, dest: parseIPv4(net)!, mask: prefix ? (0xffffffff << (32 - prefix)) >>> 0 : 0 });
  assert.doesNotThrow(() => checkRoutes(cfg, [route('eth0', '192.0.2.0', 24), route('mpt0', '10.213.0.0', 24), route('wg0', '10.213.1.0', 24)]));
  assert.throws(() => checkRoutes(cfg, [route('wg0', '10.0.0.0', 8)]), /subnet 10\.213\.0\.0\/24 overlaps 10\.0\.0\.0\/8, routed on interface "wg0": choose another subnet/);
  assert.throws(() => checkRoutes(cfg, [route('tun0', '10.213.0.128', 25)]), /overlaps 10\.213\.0\.128\/25/);
});
