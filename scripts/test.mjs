// The test command: `npm test`. One node:test run over unit and integration tests, so the
// closing summary covers everything.
//
// As root, the run happens inside throwaway namespaces (network, mount, pid, with a fresh
// /proc and /sys): every bridge, veth, firewall rule, mount and process a test makes is
// gone when the run ends, even if a test fails or the run is killed. Inside, each test
// also uses its own state root, bridge name and subnet, and checks that minipod itself
// left nothing behind. Integration tests skip themselves (saying why) when not root.
//
//   npm test                          everything
//   npm test -- test/unit/*.test.ts   some files
//   MINIPOD_TEST_NO_SANDBOX=1 npm test   run in the host's namespaces (debugging)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const isRoot = process.getuid?.() === 0;
const run = (cmd, argv, opts = {}) => spawnSync(cmd, argv, { stdio: 'inherit', cwd: repo, ...opts });

if (isRoot && !process.env.MINIPOD_TEST_SANDBOX && !process.env.MINIPOD_TEST_NO_SANDBOX) {
  // Bring the build up to date first (incremental: a second or less when nothing changed).
  for (const step of [['scripts/build-native.mjs', 'build'], ['scripts/bundle.mjs']]) {
    const r = run(process.execPath, step);
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const r = run('unshare', ['--net', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', process.execPath, fileURLToPath(import.meta.url), ...args], {
    env: { ...process.env, MINIPOD_TEST_SANDBOX: '1' },
  });
  process.exit(r.status ?? 1);
}

if (process.env.MINIPOD_TEST_SANDBOX) {
  // A sysfs of this network namespace, and its loopback up. The new sysfs hides the host's
  // cgroup mounts under /sys/fs/cgroup: mount the same hierarchies again on a tmpfs there
  // (a v1 hierarchy mounted again with its controllers is that same hierarchy), with the
  // same symlinks (cpu -> cpu,cpuacct). Pods then get real cgroups; the tests make theirs
  // under this process's own cgroup.
  const cg = [];
  const links = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mp = line.slice(0, sep).split(' ')[4];
    const [fstype, , opts = ''] = line.slice(sep + 3).split(' ');
    if ((fstype === 'cgroup' || fstype === 'cgroup2') && mp.startsWith('/sys/fs/cgroup')) cg.push({ mp, fstype, opts: opts.split(',').filter((o) => o !== 'rw' && o !== 'ro').join(',') });
  }
  for (const e of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup', { withFileTypes: true }) : []) {
    if (e.isSymbolicLink()) links.push([e.name, readlinkSync(`/sys/fs/cgroup/${e.name}`)]);
  }
  run('mount', ['-t', 'sysfs', 'sysfs', '/sys']);
  run('ip', ['link', 'set', 'lo', 'up']);
  if (cg.length && !cg.some((c) => c.mp === '/sys/fs/cgroup')) run('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=64k', 'cgroup-root', '/sys/fs/cgroup']);
  for (const c of cg) {
    mkdirSync(c.mp, { recursive: true });
    run('mount', ['-t', c.fstype, '-o', c.opts || 'defaults', c.fstype === 'cgroup2' ? 'cgroup2' : 'cgroup', c.mp]);
  }
  for (const [name, target] of links) if (!existsSync(`/sys/fs/cgroup/${name}`)) symlinkSync(target, `/sys/fs/cgroup/${name}`);
}

const files = args.length
  ? args
  : ['test/unit', 'test/integration'].flatMap((d) =>
      readdirSync(path.join(repo, d))
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => `${d}/${f}`),
    );
// NODE_EXTRA_CA_CERTS costs ~80 ms at every Node start and tests start many; no test
// needs it (there is no network to verify certificates against).
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const r = run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter', 'spec', ...files], { env });
process.exit(r.status ?? 1);
