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
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { sandboxMounts } from './sandbox.mjs';

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

if (process.env.MINIPOD_TEST_SANDBOX) sandboxMounts(); // this netns's sysfs, lo up, the cgroup hierarchies again

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
