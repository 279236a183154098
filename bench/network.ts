// Benchmark: pod network setup time per pod, for 1, 10 and 50 pods on one bridge.
//
//   node --import tsx bench/network.ts [--sizes 1,10,50] [--rounds 3]
//
// Needs root. Re-runs itself inside a throwaway network and mount namespace, so the host's
// network is untouched. Each pod's network namespace is held by a stand-in for pause
// (`unshare --net sleep`), then the network hook runs for every pod, one after the other,
// as `minipod run` calls it:
//   prepare     lock, hostPort check (one hostPort per pod), address, /etc files
//   wire        the plan's nft host operation (rules + the pod's hostPort element), one
//               `nft -f -` as the supervisor runs it (the veth pair and eth0 are netlink
//               host operations: measured in P1, not here; the bridge check is in prepare)
//   teardown    its journaled undo (the DNAT element) and the address, as the unwinder does
// and prints, per size, the median per-pod time of each phase and the total. A flat
// per-pod time means the cost of one pod does not grow with the pods already there.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { loadNative } from '../src/native/load.ts';
import { contributeNetwork } from '../src/net/hook.ts';
import { prepareNetwork } from '../src/net/setup.ts';
import { runTool } from '../src/net/exec.ts';
import { release } from '../src/net/ipam.ts';
import type { NetRecord } from '../src/net/record.ts';
import type { HookContext } from '../src/runtime/phases.ts';
import type { Pod } from '../src/spec/types.ts';
import { writeHost, type HostRecord } from '../src/state/host.ts';
import { podDirs, type StateRoots } from '../src/state/paths.ts';

const self = fileURLToPath(import.meta.url);
if (!process.env.MINIPOD_BENCH_SANDBOX) {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/network.ts needs root (bridges, veths, nftables)\n');
    process.exit(2);
  }
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', process.execPath, ...process.execArgv, self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, MINIPOD_BENCH_SANDBOX: '1' },
  });
  process.exit(r.status ?? 1);
}

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const sizes = arg('sizes', '1,10,50').split(',').map(Number);
const rounds = Number(arg('rounds', '3'));

spawnSync('ip', ['link', 'set', 'lo', 'up']);
process.env.MINIPOD_BRIDGE = 'mpbench0';
process.env.MINIPOD_SUBNET = '10.215.0.0/16';

const native = loadNative();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function holder(): Promise<ChildProcess> {
  const own = readlinkSync('/proc/self/ns/net');
  const c = spawn('unshare', ['--net', 'sleep', '3600'], { stdio: 'ignore' });
  for (;;) {
    try {
      if (readlinkSync(`/proc/${c.pid}/ns/net`) !== own) return c;
    } catch {
      // not there yet
    }
    await sleep(1);
  }
}

function podOf(i: number): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `b${i}`, namespace: 'default' },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 20000 + i }] }] },
  };
}

async function round(n: number, roots: StateRoots): Promise<{ prepare: number[]; wire: number[]; teardown: number[] }> {
  const holders = await Promise.all(Array.from({ length: n }, holder));
  const t = { prepare: [] as number[], wire: [] as number[], teardown: [] as number[] };
  const pods: { ctx: HookContext; host: HostRecord; undo: string }[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const pod = podOf(i);
      const dirs = podDirs(roots, pod.metadata.name);
      mkdirSync(dirs.run, { recursive: true });
      const uid = `bench-${n}-${i}-${process.hrtime.bigint()}`;
      const host: HostRecord = { pod: pod.metadata.name, uid, namespace: 'default', createdAt: new Date().toISOString(), dirs, detached: true, journal: [] };
      writeHost(host);
      const ctx: HookContext = { native, pod, uid, roots, dirs, configMaps: [], secrets: [], facts: {} };
      contributeNetwork(ctx);
      let t0 = performance.now();
      await prepareNetwork(ctx, host);
      t.prepare.push(performance.now() - t0);
      const nft = contributeNetwork(ctx).hostOps!.find((o) => o.op === 'nft')!;
      if (nft.op !== 'nft') throw new Error('no nft host operation');
      t0 = performance.now();
      if ((await runTool('nft', ['-f', '-'], nft.script)).code !== 0) throw new Error('nft refused the transaction');
      t.wire.push(performance.now() - t0);
      pods.push({ ctx, host, undo: nft.undo });
    }
  } finally {
    for (const { host, undo } of pods) {
      const t0 = performance.now();
      if (undo) await runTool('nft', ['-f', '-'], undo);
      const n = host.network as unknown as NetRecord;
      if (n.lease) release(n.lease, host.uid);
      t.teardown.push(performance.now() - t0);
      rmSync(host.dirs.run, { recursive: true, force: true });
    }
    for (const h of holders) h.kill('SIGKILL');
  }
  return t;
}

const root = mkdtempSync(path.join(os.tmpdir(), 'minipod-bench-net-'));
const roots: StateRoots = { lib: path.join(root, 'lib'), run: path.join(root, 'run') };
try {
  await round(2, roots); // warm up: the bridge and the table exist from here on, as on a host in use
  console.log(`network setup per pod (median of ${rounds} rounds of each size's per-pod medians), ms`);
  console.log('pods   prepare   wire    setup   teardown   setup total');
  for (const n of sizes) {
    const r = { prepare: [] as number[], wire: [] as number[], teardown: [] as number[], total: [] as number[] };
    for (let k = 0; k < rounds; k++) {
      const x = await round(n, roots);
      r.prepare.push(median(x.prepare));
      r.wire.push(median(x.wire));
      r.teardown.push(median(x.teardown));
      r.total.push(x.prepare.reduce((a, b) => a + b, 0) + x.wire.reduce((a, b) => a + b, 0));
    }
    const f = (v: number, w: number) => v.toFixed(1).padStart(w);
    console.log(`${String(n).padStart(4)}  ${f(median(r.prepare), 8)}  ${f(median(r.wire), 6)}  ${f(median(r.prepare) + median(r.wire), 6)}  ${f(median(r.teardown), 9)}  ${f(median(r.total), 12)}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
