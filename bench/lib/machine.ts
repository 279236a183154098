// One line describing the machine and the versions, for the results file.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { repoDir } from './context.ts';

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '?';
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? '?';
  const distro = fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)/m)?.[1] ?? '?';
  const fsType = sh('stat', ['-f', '-c', '%T', os.tmpdir()]);
  return [
    `${distro}, kernel ${os.release()}, ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`,
    `${os.tmpdir()} on ${fsType}`,
    `Node ${process.version}`,
    `minipod ${JSON.parse(fs.readFileSync(path.join(repoDir, 'package.json'), 'utf8')).version} (${sh('git', ['-C', repoDir, 'rev-parse', '--short', 'HEAD'])})`,
    sh(path.join(repoDir, 'bench/peers.sh'), ['versions']),
  ].join('; ');
}
