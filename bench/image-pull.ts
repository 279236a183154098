// Benchmark P7: pulling an image from a registry on loopback, minipod against its peers in
// the same run, and what the store costs in disk and in pod start.
//
//   bench/pull.sh [--runs N]        (prepares the images and a network namespace; calls this)
//   node --import tsx bench/image-pull.ts --work DIR --image NAME=LAYOUT:TAG... [--base NAME] [--runs N] [--out FILE]
//
// Runs inside a network namespace of its own (bench/pull.sh makes it): Debian's
// docker-registry serves on 127.0.0.1:5000 there and nothing can reach further. Each OCI
// layout given is pushed to it by skopeo. Then, for every image, N rounds of, in rotating
// order:
//   minipod image pull   the CLI, into an empty store (a state root of its own)
//   podman pull          after `podman rmi` (its storage: containers-storage, overlay)
//   skopeo copy          registry -> OCI layout (download and verify, no unpack)
//   umoci unpack         OCI layout -> a rootfs (unpack only)
//   floor: curl          the layer blobs, one after the other, to /dev/null
//   floor: tar -xzf      GNU tar of each layer blob into one directory
// and two measures of the store: the disk two images sharing a base take (du of the store
// against du of their unique layers unpacked by tar), and `run -d` until nginx answers, the
// layered image against the same tree imported flat.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { benchEnv, run } from './lib/exec.ts';
import { log, repoDir } from './lib/context.ts';
import { waitServing } from './lib/http.ts';
import { machine } from './lib/machine.ts';
import { markdownTable, textTable } from './lib/report.ts';
import { sample, type Comparison, type Sample } from './lib/result.ts';

interface Args {
  work: string;
  images: Map<string, string>;
  runs: number;
  out: string;
  base?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { work: '', images: new Map(), runs: 5, out: path.join(repoDir, 'bench/results/pull.md') };
  for (let i = 0; i < argv.length; i++) {
    const v = () => argv[++i] ?? fail(`${argv[i - 1]} needs a value`);
    if (argv[i] === '--work') a.work = path.resolve(v());
    else if (argv[i] === '--runs') a.runs = Number(v());
    else if (argv[i] === '--out') a.out = path.resolve(v());
    else if (argv[i] === '--base') a.base = v();
    else if (argv[i] === '--image') {
      const [name, layout] = v().split('=');
      a.images.set(name, layout);
    } else fail(`unknown argument ${argv[i]}`);
  }
  if (!a.work || !a.images.size) fail('--work DIR and --image NAME=LAYOUT:TAG are required (bench/pull.sh passes them)');
  return a;
}

function fail(msg: string): never {
  process.stderr.write(`bench/image-pull: ${msg}\n`);
  process.exit(2);
}

const REG = '127.0.0.1:5000';
const minipod = path.join(repoDir, 'bin', 'minipod');

function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? benchEnv(), maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `du -s` in bytes of what the files take on disk (blocks, not apparent sizes). */
function diskBytes(p: string): number {
  return Number(sh('du', ['-s', '-B1', p]).split('\t')[0]);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (process.env.NODE_EXTRA_CA_CERTS) fail('NODE_EXTRA_CA_CERTS is set: it adds ~80 ms to every Node start; run through bench/pull.sh');
  const work = args.work;
  fs.mkdirSync(path.join(work, 'registry'), { recursive: true });
  fs.writeFileSync(path.join(work, 'registry.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(work, 'registry')}\nhttp:\n  addr: ${REG}\n`);
  const registry = spawnSync('sh', ['-c', `docker-registry serve ${path.join(work, 'registry.yml')} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
  const regPid = Number(registry.stdout.trim());
  process.on('exit', () => {
    try {
      process.kill(regPid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  for (let i = 0; i < 100 && !(await fetch(`http://${REG}/v2/`).then((r) => r.ok, () => false)); i++) await new Promise((r) => setTimeout(r, 50));
  const refs = new Map<string, string>();
  for (const [name, layout] of args.images) {
    const ref = `${REG}/bench/${name}:latest`;
    log(`push ${layout} -> ${ref}`);
    sh('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${layout}`, `docker://${ref}`]);
    refs.set(name, ref);
  }
  const rows: Comparison[] = [];
  const facts: string[] = [];
  let n = 0;
  const fresh = (what: string) => path.join(work, `${what}-${++n}`);
  for (const [name, ref] of refs) {
    const keep = path.join(work, `keep-${name}`);
    sh('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${keep}:x`]);
    const manifest = JSON.parse(fs.readFileSync(path.join(keep, 'blobs/sha256', (JSON.parse(fs.readFileSync(path.join(keep, 'index.json'), 'utf8')).manifests[0].digest as string).slice(7)), 'utf8')) as { layers: { digest: string; size: number }[] };
    const blobs = manifest.layers.map((l) => l.digest);
    const gz = manifest.layers.reduce((s, l) => s + l.size, 0);
    const s: Record<string, Sample> = {
      minipod: sample('minipod image pull'),
      podman: sample('podman pull'),
      skopeo: sample('skopeo copy → OCI layout'),
      umoci: sample('umoci unpack'),
      curl: sample('floor: curl of the blobs'),
      tar: sample('floor: GNU tar -xzf of the layers'),
    };
    const variants: [keyof typeof s, () => { prepare?: () => void; cmd: [string, string[]]; after?: () => void }][] = [
      ['minipod', () => { const root = fresh('mp'); return { cmd: [minipod, ['image', 'pull', '-q', '--root', root, ref]], after: () => fs.rmSync(root, { recursive: true, force: true }) }; }],
      ['podman', () => ({ prepare: () => run('podman', ['rmi', '-f', ref]), cmd: ['podman', ['pull', '-q', '--tls-verify=false', ref]] })],
      ['skopeo', () => { const d = fresh('oci'); return { cmd: ['skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${d}:x`]], after: () => fs.rmSync(d, { recursive: true, force: true }) }; }],
      ['umoci', () => { const d = fresh('bundle'); return { cmd: ['umoci', ['unpack', '--image', `${keep}:x`, d]], after: () => fs.rmSync(d, { recursive: true, force: true }) }; }],
      ['curl', () => ({ cmd: ['sh', ['-c', blobs.map((b) => `curl -sf -o /dev/null http://${REG}/v2/bench/${name}/blobs/${b}`).join(' && ')]] })],
      ['tar', () => { const d = fresh('tree'); fs.mkdirSync(d); return { cmd: ['sh', ['-c', blobs.map((b) => `tar -xzf ${keep}/blobs/sha256/${b.slice(7)} -C ${d}`).join(' && ')]], after: () => fs.rmSync(d, { recursive: true, force: true }) }; }],
    ];
    for (let round = 0; round <= args.runs; round++) {
      // Round 0 warms the caches and is not counted.
      for (let k = 0; k < variants.length; k++) {
        const [key, make] = variants[(k + round) % variants.length];
        const v = make();
        v.prepare?.();
        const r = run(v.cmd[0], v.cmd[1]);
        if (r.status !== 0) throw new Error(`${s[key].label}: exit ${r.status}: ${r.output}`);
        if (round > 0) s[key].values.push(r.ms);
        v.after?.();
      }
      log(`${name}: round ${round}/${args.runs}`);
    }
    run('podman', ['rmi', '-f', ref]);
    const goal = name === 'busybox' ? { max: 2, text: '≤ 2× podman pull' } : { max: 0.7, text: '≤ 0.7× podman pull' };
    const row = `P7 pull ${name} (${blobs.length} layer${blobs.length > 1 ? 's' : ''}, ${(gz / 1e6).toFixed(1)} MB)`;
    rows.push({ row, a: s.minipod, b: s.podman, goal });
    for (const k of ['skopeo', 'umoci', 'curl', 'tar'] as const) rows.push({ row, a: s.minipod, b: s[k], note: k === 'curl' || k === 'tar' ? 'a floor' : 'a part of the work' });
  }

  // Disk: the base image and one on top of it, in one store.
  if (args.base && refs.has(args.base) && refs.size > 1) {
    const root = fresh('disk');
    for (const ref of refs.values()) sh(minipod, ['image', 'pull', '-q', '--root', root, ref]);
    const store = diskBytes(path.join(root, 'lib', 'images'));
    const trees = fresh('unique');
    let unique = 0;
    const seen = new Set<string>();
    for (const name of refs.keys()) {
      const keep = path.join(work, `keep-${name}`);
      const m = JSON.parse(fs.readFileSync(path.join(keep, 'blobs/sha256', (JSON.parse(fs.readFileSync(path.join(keep, 'index.json'), 'utf8')).manifests[0].digest as string).slice(7)), 'utf8')) as { layers: { digest: string }[] };
      for (const l of m.layers) {
        if (seen.has(l.digest)) continue;
        seen.add(l.digest);
        const d = path.join(trees, l.digest.slice(7, 19));
        fs.mkdirSync(d, { recursive: true });
        sh('tar', ['-xzf', path.join(keep, 'blobs/sha256', l.digest.slice(7)), '-C', d]);
        unique += diskBytes(d);
      }
    }
    const ratio = store / unique;
    facts.push(`Disk: ${[...refs.keys()].join(' + ')} in one store take ${(store / 1e6).toFixed(1)} MB; their ${seen.size} unique layers unpacked by GNU tar take ${(unique / 1e6).toFixed(1)} MB: ${ratio.toFixed(3)}× (goal ≤ 1.05×: ${ratio <= 1.05 ? 'met' : 'MISSED'}).`);
    fs.rmSync(trees, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }

  // Pod start: nginx from its layers against the same tree imported flat.
  if (refs.has('nginx')) {
    const root = fresh('start');
    const env = benchEnv({ MINIPOD_ROOT: root, MINIPOD_BRIDGE: 'mpbench0', MINIPOD_SUBNET: '10.251.0.0/24' });
    sh(minipod, ['image', 'pull', '-q', refs.get('nginx')!], env);
    sh(minipod, ['image', 'tag', refs.get('nginx')!, 'nginx-layered'], env);
    const flatDir = fresh('flat');
    sh('umoci', ['unpack', '--image', `${path.join(work, 'keep-nginx')}:x`, flatDir]);
    sh(minipod, ['image', 'import', '--cmd', '["nginx","-g","daemon off;"]', '--stop-signal', 'SIGQUIT', 'nginx-flat', path.join(flatDir, 'rootfs')], env);
    const pod = (image: string) => {
      const f = path.join(work, `${image}.yaml`);
      fs.writeFileSync(f, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: nginx\n      image: ${image}\n      ports:\n        - containerPort: 80\n          hostPort: 18080\n`);
      return f;
    };
    const layered = sample('run -d until nginx answers: 2-layer image');
    const flat = sample('the same tree, imported flat');
    for (let round = 0; round <= args.runs; round++) {
      for (const [file, into] of round % 2 ? [[pod('nginx-layered'), layered], [pod('nginx-flat'), flat]] as const : [[pod('nginx-flat'), flat], [pod('nginx-layered'), layered]] as const) {
        const t0 = performance.now();
        const r = run(minipod, ['run', '-d', file], env);
        if (r.status !== 0) throw new Error(`run -d: ${r.output}`);
        await waitServing(18080, 'nginx', 10_000);
        if (round > 0) into.values.push(performance.now() - t0);
        run(minipod, ['rm', '-f', 'web'], env);
      }
    }
    rows.push({ row: 'P7 run -d to serving, nginx', a: layered, b: flat, goal: { max: 1.1, text: '≤ 1.1× flat' } });
    fs.rmSync(flatDir, { recursive: true, force: true });
    fs.rmSync(root, { recursive: true, force: true });
  }

  process.stdout.write(`\n${textTable(rows)}\n\n${facts.join('\n')}\n`);
  const versions = ['podman --version', 'skopeo --version', 'umoci --version', 'docker-registry --version'].map((c) => `- ${spawnSync('sh', ['-c', c], { encoding: 'utf8' }).stdout.trim()}`).join('\n');
  const md = `# P7: image pull (bench/pull.sh)\n\n${machine()}\n\n${versions}\n\nRuns: ${args.runs} per variant after one warm-up round, variants in rotating order; every pull into an empty store. The registry is Debian's docker-registry on 127.0.0.1 in the bench's own network namespace.\n\n${markdownTable(rows)}\n\n${facts.join('\n')}\n`;
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, md);
  log(`wrote ${args.out}`);
}

main().catch((e) => {
  process.stderr.write(`bench/image-pull: ${(e as Error).stack}\n`);
  process.exit(1);
});
