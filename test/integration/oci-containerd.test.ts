// minipod-oci under Debian's containerd 1.6, as Kubernetes would run it: a containerd of
// the test's own (a throwaway root, state and socket, the CRI plugin off, in the suite's
// network namespace: nothing is pulled; the image is an OCI archive built here from the
// busybox tree), and `ctr run --runtime io.containerd.runc.v2 --runc-binary minipod-oci`:
// the runc v2 shim drives create, start, the exit, delete.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { cgroupDirsOf, needsRoot, ownCgroup, repo, waitFor } from './helpers.ts';
import { busyboxImageArchive } from './oci-image.ts';

const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const skip = needsRoot || (!have('containerd') || !have('ctr') ? 'containerd is not installed (scripts/setup.sh installs it)' : false);

describe('minipod-oci under containerd (ctr run, the runc v2 shim)', { skip }, () => {
  let dir: string;
  let sock: string;
  let ctd: ChildProcess;
  const image = 'docker.io/library/minipod-test:latest';
  // Containers' cgroups under this process's own (ctr's default is /NAMESPACE/ID at the root).
  const cgParent = path.posix.join(ownCgroup(), `minipod-test-ctr-${process.pid}`);
  const cg = (id: string) => ['--cgroup', `${cgParent}/${id}`];
  const ctr = (args: string[], timeout = 60_000) => spawnSync('ctr', ['-a', sock, '-n', 'minipod-test', ...args], { encoding: 'utf8', timeout });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-test-containerd-'));
    sock = path.join(dir, 'containerd.sock');
    const config = path.join(dir, 'config.toml');
    writeFileSync(config, [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      // No CRI: nothing here resolves or pulls a name.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[ttrpc]',
      `  address = "${sock}.ttrpc"`,
    ].join('\n') + '\n');
    ctd = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'ignore'] });
    await waitFor(() => existsSync(sock) && ctr(['version']).status === 0, 'containerd answers');
    const imp = ctr(['image', 'import', busyboxImageArchive(dir, image)]);
    assert.equal(imp.status, 0, imp.stderr);
  });
  after(async () => {
    ctr(['task', 'rm', '-f', 'c1']);
    ctd?.kill('SIGTERM');
    await new Promise((r) => (ctd && ctd.exitCode === null ? ctd.on('exit', r) : r(undefined)));
    // What the shim mounted (the rootfs) goes with containerd's state; check nothing is left.
    const left = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir));
    for (const l of left.reverse()) spawnSync('umount', ['-l', l.split(' ')[4]]);
    rmSync(dir, { recursive: true, force: true });
    const cgLeft = cgroupDirsOf(cgParent).filter((d) => existsSync(d) && spawnSync('find', [d, '-mindepth', '1', '-type', 'd'], { encoding: 'utf8' }).stdout.trim());
    for (const d of cgroupDirsOf(cgParent)) spawnSync('sh', ['-c', `find ${d} -depth -type d -exec rmdir {} + 2>/dev/null`]);
    assert.deepEqual({ left, cgLeft }, { left: [], cgLeft: [] }, 'no mount or container cgroup of the run is left');
  });

  test('ctr run: the shim creates, starts and deletes the container with minipod-oci; output and exit code come back', () => {
    const oci = path.join(repo, 'bin', 'minipod-oci');
    const ok = ctr(['run', '--rm', '--runtime', 'io.containerd.runc.v2', '--runc-binary', oci, ...cg('c1'), image, 'c1', 'sh', '-c', 'echo hello from containerd; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^hello from containerd\nsh -c echo hello/);
    const failed = ctr(['run', '--rm', '--runc-binary', oci, ...cg('c2'), image, 'c2', 'sh', '-c', 'exit 3']);
    assert.equal(failed.status, 3, 'the container\'s exit code');
    const missing = ctr(['run', '--rm', '--runc-binary', oci, ...cg('c3'), image, 'c3', 'no-such-command']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /executable file not found in \$PATH/, 'minipod-oci\'s error, read by the shim from the --log file');
    assert.equal(ctr(['containers', 'ls', '-q']).stdout.trim(), '', 'every container deleted');
  });
});
