// Pod network: /etc/hosts and /etc/resolv.conf rendered like the kubelet's.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FieldError } from '../../src/errors.ts';
import { parseResolvConf, renderHostNetworkHosts, renderHosts, renderResolvConf, resolvFor } from '../../src/net/etc-files.ts';
import type { Pod } from '../../src/spec/types.ts';

function podOf(spec: Partial<Pod['spec']>, name = 'web'): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } };
}

test('/etc/hosts has the localhost lines, the pod IP with its hostname, then hostAliases', () => {
  const pod = podOf({ hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar'] }, { ip: '10.1.2.4', hostnames: ['baz'] }] });
  const text = renderHosts(pod, '10.213.0.7', 'web');
  const lines = text.split('\n');
  assert.equal(lines[0], '# Kubernetes-managed hosts file.');
  assert.ok(lines.includes('127.0.0.1\tlocalhost'));
  assert.ok(lines.includes('::1\tlocalhost ip6-localhost ip6-loopback'));
  assert.ok(lines.includes('10.213.0.7\tweb'));
  const i = lines.indexOf('# Entries added by HostAliases.');
  assert.ok(i > lines.indexOf('10.213.0.7\tweb'));
  assert.deepEqual(lines.slice(i + 1, i + 3), ['10.1.2.3\tfoo.local\tbar', '10.1.2.4\tbaz']);
  assert.ok(text.endsWith('\n'));
});

test('/etc/hosts with a subdomain carries the pod FQDN first', () => {
  const pod = podOf({ hostname: 'h', subdomain: 'sub' });
  assert.match(renderHosts(pod, '10.0.0.5', 'h'), /^10\.0\.0\.5\th\.sub\.default\.svc\.cluster\.local\th$/m);
  assert.doesNotMatch(renderHosts(pod, '10.0.0.5', 'h'), /HostAliases/);
});

test('hostNetwork keeps the host file and appends hostAliases', () => {
  const pod = podOf({ hostNetwork: true, hostAliases: [{ ip: '1.2.3.4', hostnames: ['x'] }] });
  assert.equal(renderHostNetworkHosts(pod, '127.0.0.1 localhost'), '127.0.0.1 localhost\n\n# Entries added by HostAliases.\n1.2.3.4\tx\n');
});

const host = parseResolvConf('# generated\nnameserver 192.168.1.1\nnameserver 127.0.0.53\nsearch lan corp.example\noptions edns0 ndots:1\n');

test('the host resolv.conf parses', () => {
  assert.deepEqual(host, {
    nameservers: ['192.168.1.1', '127.0.0.53'],
    searches: ['lan', 'corp.example'],
    options: [{ name: 'edns0' }, { name: 'ndots', value: '1' }],
  });
});

test('ClusterFirst and Default follow the host, without loopback resolvers, merged with dnsConfig', () => {
  const pod = podOf({ dnsConfig: { nameservers: ['10.0.0.10'], searches: ['svc.example'], options: [{ name: 'ndots', value: '5' }, { name: 'rotate' }] } });
  const r = resolvFor(pod, host, false);
  assert.equal(
    renderResolvConf(r),
    'search lan corp.example svc.example\nnameserver 192.168.1.1\nnameserver 10.0.0.10\noptions edns0 ndots:5 rotate\n',
  );
  assert.deepEqual(resolvFor(podOf({ dnsPolicy: 'Default' }), host, false).nameservers, ['192.168.1.1']);
  // With the host network a local resolver is reachable and kept.
  assert.deepEqual(resolvFor(podOf({ hostNetwork: true }), host, true).nameservers, ['192.168.1.1', '127.0.0.53']);
});

test('dnsPolicy None uses dnsConfig only and needs a nameserver', () => {
  const pod = podOf({ dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1', '1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }] } });
  assert.equal(renderResolvConf(resolvFor(pod, host, false)), 'search a.example\nnameserver 1.1.1.1\noptions ndots:2\n');
  assert.throws(() => resolvFor(podOf({ dnsPolicy: 'None' }), host, false), (e: unknown) => e instanceof FieldError && e.field === 'spec.dnsConfig.nameservers');
  assert.throws(() => resolvFor(podOf({ dnsConfig: { nameservers: ['dns.example'] } }), host, false), /spec\.dnsConfig\.nameservers\[0\]: "dns\.example" is not an IP address/);
});

test('at most 3 nameservers, as the kubelet', () => {
  const pod = podOf({ dnsConfig: { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } });
  assert.deepEqual(resolvFor(pod, host, false).nameservers, ['192.168.1.1', '10.0.0.1', '10.0.0.2']);
});
