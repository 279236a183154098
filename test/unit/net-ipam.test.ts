// Pod network: address allocation on disk (leases created with O_EXCL under the lock).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { parseSubnet } from '../../src/net/cidr.ts';
import { allocate, leasesDir, listLeases, release } from '../../src/net/ipam.ts';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-ipam-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('addresses are handed out after the gateway, one file per address naming its pod', (t) => {
  const dir = tmp(t);
  const n = parseSubnet('10.213.0.0/29'); // hosts .1-.6, gateway .1
  const a = allocate(dir, 'br', n, { pod: 'a', uid: 'ua' });
  const b = allocate(dir, 'br', n, { pod: 'b', uid: 'ub' });
  assert.deepEqual([a.ip, b.ip], ['10.213.0.2', '10.213.0.3']);
  assert.deepEqual(JSON.parse(readFileSync(a.file, 'utf8')), { pod: 'a', uid: 'ua' });
  assert.deepEqual(listLeases(dir).map((l) => [l.ip, l.pod]), [['10.213.0.2', 'a'], ['10.213.0.3', 'b']]);
  // Asking again for the same pod returns its address.
  assert.equal(allocate(dir, 'br', n, { pod: 'a', uid: 'ua' }).ip, '10.213.0.2');
});

test('a freed address is not reused at once; the cursor wraps; exhaustion is an error', (t) => {
  const dir = tmp(t);
  const n = parseSubnet('10.213.0.0/29');
  const ips = ['a', 'b', 'c', 'd', 'e'].map((p) => allocate(dir, 'br', n, { pod: p, uid: `u${p}` }));
  assert.deepEqual(ips.map((l) => l.ip), ['10.213.0.2', '10.213.0.3', '10.213.0.4', '10.213.0.5', '10.213.0.6']);
  assert.throws(() => allocate(dir, 'br', n, { pod: 'f', uid: 'uf' }), /subnet 10\.213\.0\.0\/29 of bridge "br" is exhausted: all 5 pod addresses are allocated/);
  assert.ok(release(ips[1].file, 'ub'));
  assert.ok(release(ips[3].file, 'ud'));
  // After .6 the cursor wraps to the lowest free address.
  assert.equal(allocate(dir, 'br', n, { pod: 'g', uid: 'ug' }).ip, '10.213.0.3');
  assert.equal(allocate(dir, 'br', n, { pod: 'h', uid: 'uh' }).ip, '10.213.0.5');
});

test('release only removes a lease that still belongs to the uid', (t) => {
  const dir = tmp(t);
  const n = parseSubnet('10.213.0.0/24');
  const a = allocate(dir, 'br', n, { pod: 'a', uid: 'ua' });
  assert.equal(release(a.file, 'someone-else'), false);
  assert.equal(listLeases(dir).length, 1);
  assert.equal(release(a.file, 'ua'), true);
  assert.equal(release(a.file, 'ua'), false);
  assert.equal(listLeases(dir).length, 0);
  // A lease written half-way (empty) is released by whoever recorded its name.
  writeFileSync(path.join(leasesDir(dir), '10.213.0.9'), '');
  assert.equal(listLeases(dir)[0].pod, '');
  assert.equal(release(path.join(leasesDir(dir), '10.213.0.9'), 'ua'), true);
});

test('a bridge in use keeps its subnet', (t) => {
  const dir = tmp(t);
  const a = allocate(dir, 'br', parseSubnet('10.213.0.0/24'), { pod: 'a', uid: 'ua' });
  assert.throws(() => allocate(dir, 'br', parseSubnet('10.214.0.0/24'), { pod: 'b', uid: 'ub' }), /bridge "br" is in use with subnet 10\.213\.0\.0\/24 \(pods: a\), not 10\.214\.0\.0\/24/);
  release(a.file, 'ua');
  // Once unused it may change.
  assert.equal(allocate(dir, 'br', parseSubnet('10.214.0.0/24'), { pod: 'b', uid: 'ub' }).ip, '10.214.0.2');
});

test('20 processes allocating at once get 20 distinct addresses', async (t) => {
  const dir = tmp(t);
  const mod = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/net/ipam.ts');
  const cidr = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/net/cidr.ts');
  // No lock here on purpose: O_EXCL alone must keep addresses unique.
  const script = `const { allocate } = await import(${JSON.stringify(mod)}); const { parseSubnet } = await import(${JSON.stringify(cidr)});
    const l = allocate(process.argv[1], 'br', parseSubnet('10.213.0.0/24'), { pod: process.argv[2], uid: process.argv[2] }); process.stdout.write(l.ip);`;
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const run = (i: number) =>
    new Promise<string>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir, `p${i}`], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('error', reject);
      c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`allocator ${i} exited ${code}`))));
    });
  const ips = await Promise.all(Array.from({ length: 20 }, (_, i) => run(i)));
  assert.equal(new Set(ips).size, 20, ips.join(' '));
  assert.equal(listLeases(dir).length, 20);
  assert.deepEqual(new Set(listLeases(dir).map((l) => l.pod)).size, 20);
});

test('gc releases leases whose pod is gone, of another uid, or ended; keeps live ones', async (t) => {
  const root = tmp(t);
  const roots = { lib: path.join(root, 'lib'), run: path.join(root, 'run') };
  const { reclaimLeases } = await import('../../src/net/undo.ts');
  const { writeHost } = await import('../../src/state/host.ts');
  const { podDirs } = await import('../../src/state/paths.ts');
  const dir = path.join(roots.run, 'net', 'br');
  const n = parseSubnet('10.213.0.0/24');
  const host = (pod: string, uid: string, torndown = false) =>
    writeHost({ pod, uid, namespace: 'default', createdAt: '', dirs: podDirs(roots, pod), detached: true, journal: [], ...(torndown ? { torndown } : {}) });
  allocate(dir, 'br', n, { pod: 'live', uid: 'u1' });
  host('live', 'u1');
  allocate(dir, 'br', n, { pod: 'ghost', uid: 'u2' }); // no state at all
  allocate(dir, 'br', n, { pod: 'reused', uid: 'old' });
  host('reused', 'new'); // the name belongs to a later pod now
  allocate(dir, 'br', n, { pod: 'ended', uid: 'u4' });
  host('ended', 'u4', true);
  allocate(dir, 'br', n, { pod: 'dead', uid: 'u5' });
  host('dead', 'u5');
  const report: string[] = [];
  await reclaimLeases(roots, (p) => p !== 'dead', report);
  assert.deepEqual(listLeases(dir).map((l) => l.pod), ['live']);
  assert.equal(report.length, 4);
  assert.match(report.join('\n'), /released address 10\.213\.0\.3 of bridge br \(pod ghost is gone\)/);
});
