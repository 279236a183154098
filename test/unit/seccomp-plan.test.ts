// seccompProfile as plan data: which filter a container gets, and what RuntimeDefault says.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { localhostProfile, runtimeDefault, seccompFor } from '../../src/plan/seccomp.ts';

const names = (p: ReturnType<typeof runtimeDefault>) => new Set(p.rules.filter((r) => r.action.action === 'allow' && !r.args).flatMap((r) => r.names));
const choice = { seccompDefault: false, profileDir: '/nonexistent' };

test('RuntimeDefault: an allowlist, EPERM by default; kernel state behind the capabilities that would allow it anyway', () => {
  const p = runtimeDefault(['CAP_CHOWN', 'CAP_KILL']);
  assert.deepEqual(p.defaultAction, { action: 'errno', errno: 1 });
  const allowed = names(p);
  for (const n of ['read', 'write', 'openat', 'execve', 'mmap', 'socket', 'epoll_wait', 'futex', 'setresuid', 'capset', 'prctl']) assert.ok(allowed.has(n), n);
  for (const n of ['keyctl', 'add_key', 'kexec_load', 'init_module', 'mount', 'unshare', 'setns', 'ptrace', 'bpf', 'reboot', 'clock_settime', 'userfaultfd']) assert.ok(!allowed.has(n), n);
  assert.ok(p.rules.some((r) => r.names.includes('clone3') && r.action.action === 'errno' && r.action.errno === 38), 'clone3: ENOSYS, so libc falls back to clone');
  const clone = p.rules.find((r) => r.names.includes('clone'))!;
  assert.deepEqual(clone.args, [{ index: 0, op: 'masked_eq', value: 0x7e020000, valueTwo: 0 }], 'clone only without namespace flags');
  const withCaps = names(runtimeDefault(['CAP_SYS_PTRACE', 'CAP_SYS_ADMIN']));
  for (const n of ['ptrace', 'process_vm_readv', 'mount', 'unshare', 'setns']) assert.ok(withCaps.has(n), `${n} with its capability`);
  assert.ok(!withCaps.has('keyctl'), 'keyrings stay closed whatever the capabilities');
});

test('which filter: the container\'s profile, else the pod\'s, else Unconfined (RuntimeDefault with --seccomp-default); privileged is unconfined unless it asks', () => {
  const pod = (t?: string) => ({ spec: { securityContext: t ? { seccompProfile: { type: t } } : {} } });
  assert.equal(seccompFor(pod(), {}, 'spec.containers[0]', null, choice), undefined);
  assert.equal(seccompFor(pod(), {}, 'spec.containers[0]', null, { ...choice, seccompDefault: true })?.profile, 'RuntimeDefault');
  assert.equal(seccompFor(pod('RuntimeDefault'), {}, 'spec.containers[0]', null, choice)?.profile, 'RuntimeDefault');
  assert.equal(seccompFor(pod('RuntimeDefault'), { securityContext: { seccompProfile: { type: 'Unconfined' } } }, 'spec.containers[0]', null, choice), undefined, 'the container wins');
  assert.equal(seccompFor(pod('RuntimeDefault'), { securityContext: { privileged: true } }, 'spec.containers[0]', null, choice), undefined);
  assert.throws(() => seccompFor(pod('Strict'), {}, 'spec.containers[0]', null, choice), /spec\.securityContext\.seccompProfile\.type: "Strict" is not one of RuntimeDefault, Localhost, Unconfined/);
});

test('a Localhost profile in the OCI/docker JSON format becomes the same plan; what it cannot say is refused', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-seccomp-'));
  try {
    writeFileSync(path.join(dir, 'p.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 13, syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }, { name: 'personality', action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] }] }));
    assert.deepEqual(localhostProfile(dir, 'p.json', 'f'), {
      profile: 'Localhost p.json',
      defaultAction: { action: 'errno', errno: 13 },
      rules: [{ names: ['read', 'write'], action: { action: 'allow' } }, { names: ['personality'], action: { action: 'allow' }, args: [{ index: 0, op: 'eq', value: 0 }] }],
    });
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_TRAP', syscalls: [] }));
    assert.throws(() => localhostProfile(dir, 'bad.json', 'f'), /f\.localhostProfile: .*bad\.json: defaultAction: action "SCMP_ACT_TRAP" is not one of/);
    writeFileSync(path.join(dir, 'inc.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_PTRACE'] } }] }));
    assert.throws(() => localhostProfile(dir, 'inc.json', 'f'), /includes\/excludes are not supported/);
    assert.throws(() => localhostProfile(dir, '../x.json', 'f'), /a path relative to/);
    assert.throws(() => localhostProfile(dir, 'missing.json', 'f'), /missing\.json: ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
