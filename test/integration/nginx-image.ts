// An nginx image made from Debian's own nginx package (rootfs/debs/, which scripts/setup.sh
// downloads; the tests need no network): layer 1 the busybox tree, layer 2 the nginx
// binary, the shared libraries it links (as this host's Debian has them) and the
// directories it writes; the config nginx's own image has (Cmd nginx -g 'daemon off;',
// ExposedPorts 80/tcp, StopSignal SIGQUIT). Built with umoci, as an OCI layout.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { busyboxRootfs, repo } from './helpers.ts';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The downloaded package, if there is one. */
export function nginxDeb(): string | undefined {
  const dir = path.join(repo, 'rootfs', 'debs');
  const deb = existsSync(dir) ? readdirSync(dir).find((f) => /^nginx_.*\.deb$/.test(f)) : undefined;
  return deb && path.join(dir, deb);
}

/** Builds the layout under `work`; returns it (tag `nginx`). */
export function buildNginxLayout(work: string, deb: string): string {
  const layout = path.join(work, 'nginx-oci');
  const bundle = path.join(work, 'nginx-bundle');
  const x = path.join(work, 'nginx-deb');
  sh('dpkg-deb', ['-x', deb, x]);
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:nginx`]);
  sh('umoci', ['unpack', '--image', `${layout}:nginx`, bundle]);
  const root = path.join(bundle, 'rootfs');
  cpSync(busyboxRootfs(), root, { recursive: true, verbatimSymlinks: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  // nginx's workers run as nobody:nogroup... or nobody:nobody when no `user` is set.
  writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n');
  sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:nginx`, bundle]); // the next repack: a layer of its own
  const bin = path.join(x, 'usr/sbin/nginx');
  mkdirSync(path.join(root, 'usr/sbin'), { recursive: true });
  copyFileSync(bin, path.join(root, 'usr/sbin/nginx'));
  chmodSync(path.join(root, 'usr/sbin/nginx'), 0o755);
  for (const line of sh('ldd', [bin]).split('\n')) {
    const m = /(\/\S+) \(0x/.exec(line);
    if (!m) continue;
    const lib = m[1];
    const dest = path.join(root, lib);
    mkdirSync(path.dirname(dest), { recursive: true });
    copyFileSync(realpathSync(lib), dest);
  }
  for (const d of ['var/lib/nginx', 'var/log/nginx', 'run', 'etc/nginx', 'usr/share/nginx/html']) mkdirSync(path.join(root, d), { recursive: true });
  symlinkSync('/dev/stdout', path.join(root, 'var/log/nginx/access.log'));
  writeFileSync(path.join(root, 'usr/share/nginx/html/index.html'), '<h1>Welcome to nginx!</h1>\n');
  sh('umoci', ['repack', '--image', `${layout}:nginx`, bundle]);
  sh('umoci', ['config', '--image', `${layout}:nginx`, '--config.cmd', 'nginx', '--config.cmd', '-g', '--config.cmd', 'daemon off;', '--config.exposedports', '80/tcp', '--config.stopsignal', 'SIGQUIT']);
  return layout;
}
