// spec.securityContext.sysctls as the kubelet decides them: safe, unsafe (only when
// allowed), not namespaced (refused); each a host operation of the pod's plan.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sysctlNamespace, sysctlOps } from '../../src/plan/sysctls.ts';
import type { Pod } from '../../src/spec/types.ts';

const pod = (sysctls: { name: string; value: string }[], spec: object = {}): Pod =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [], securityContext: { sysctls }, ...spec } }) as unknown as Pod;

test('safe sysctls become host operations in the pod\'s net or IPC namespace; "/" works as the separator', () => {
  assert.deepEqual(sysctlOps(pod([{ name: 'net.ipv4.ip_local_port_range', value: '30000 40000' }, { name: 'kernel/shm_rmid_forced', value: '1' }]), []), [
    { op: 'sysctl', ns: 'net', key: 'net/ipv4/ip_local_port_range', value: '30000 40000' },
    { op: 'sysctl', ns: 'ipc', key: 'kernel/shm_rmid_forced', value: '1' },
  ]);
});

test('an unsafe namespaced sysctl is refused unless --allow-unsafe-sysctls names it or a prefix of it', () => {
  const p = pod([{ name: 'net.core.somaxconn', value: '1024' }]);
  assert.throws(() => sysctlOps(p, []), /spec\.securityContext\.sysctls\[0\]\.name: net\.core\.somaxconn is not in Kubernetes' safe set; allow it with --allow-unsafe-sysctls/);
  assert.equal(sysctlOps(p, ['net.core.somaxconn']).length, 1);
  assert.equal(sysctlOps(p, ['net.core.*']).length, 1);
  assert.throws(() => sysctlOps(p, ['net.ipv4.*']));
});

test('a sysctl that is not namespaced is refused whatever is allowed: it would change the host', () => {
  for (const name of ['vm.swappiness', 'kernel.panic', 'fs.file-max']) {
    assert.equal(sysctlNamespace(name), undefined, name);
    assert.throws(() => sysctlOps(pod([{ name, value: '1' }]), ['*']), /is not namespaced: setting it would change the host/, name);
  }
});

test('with hostNetwork a net.* sysctl, with hostIPC an IPC one, would be the host\'s: refused', () => {
  assert.throws(() => sysctlOps(pod([{ name: 'net.ipv4.tcp_syncookies', value: '1' }], { hostNetwork: true }), []), /would change the host's network namespace/);
  assert.throws(() => sysctlOps(pod([{ name: 'kernel.shm_rmid_forced', value: '1' }], { hostIPC: true }), []), /would change the host's IPC namespace/);
});

test('bad names, duplicates and multi-line values are refused with their field', () => {
  assert.throws(() => sysctlOps(pod([{ name: 'net..x', value: '1' }]), []), /sysctls\[0\]\.name: "net\.\.x" is not a sysctl name/);
  assert.throws(() => sysctlOps(pod([{ name: '../../etc', value: '1' }]), ['*']), /is not a sysctl name/);
  assert.throws(() => sysctlOps(pod([{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'net/ipv4/tcp_syncookies', value: '0' }]), []), /sysctls\[1\]\.name: net\.ipv4\.tcp_syncookies is set twice/);
  assert.throws(() => sysctlOps(pod([{ name: 'net.ipv4.tcp_syncookies', value: '1\n2' }]), []), /sysctls\[0\]\.value: must be one line/);
});

test('SELinux and AppArmor options are refused on a host without them; procMount Unmasked needs hostUsers: false', async () => {
  const { checkLsmFields } = await import('../../src/plan/lsm.ts');
  const withCtx = (sc: object, where: 'pod' | 'container' = 'container') =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { ...(where === 'pod' ? { securityContext: sc } : {}), containers: [{ name: 'c', image: 'x', ...(where === 'container' ? { securityContext: sc } : {}) }] } }) as unknown as Pod;
  assert.throws(() => checkLsmFields(withCtx({ seLinuxOptions: { level: 's0:c1' } }), ['capability']), /spec\.containers\[0\]\.securityContext\.seLinuxOptions: this host has no SELinux \(its LSMs: capability\)/);
  assert.throws(() => checkLsmFields(withCtx({ appArmorProfile: { type: 'RuntimeDefault' } }, 'pod'), []), /spec\.securityContext\.appArmorProfile: this host has no AppArmor/);
  assert.throws(() => checkLsmFields(withCtx({ appArmorProfile: { type: 'RuntimeDefault' } }), ['apparmor']), /AppArmor profiles are not applied by minipod yet/);
  checkLsmFields(withCtx({ appArmorProfile: { type: 'Unconfined' }, procMount: 'Default' }), []);
  assert.throws(() => checkLsmFields(withCtx({ procMount: 'Unmasked' }), []), /procMount: Unmasked needs hostUsers: false/);
});
