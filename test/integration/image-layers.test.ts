// Layered images for real: an OCI image layout made by umoci (and turned by skopeo into a
// docker-archive and an oci-archive) is imported into shared layer directories and run as
// an overlay of them, with its config applied. What the container sees through
// /proc/PID/root is compared with what `umoci unpack` — an unpacker no one here wrote —
// makes of the same image: whiteouts, an opaque directory whose marker comes after its
// siblings, dir→file and file→dir, a hard link into a lower layer, symlinks, setuid, a user
// xattr, a FIFO, non-root owners. Corrupt blobs and unsafe entries store nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { inspect, statusOf } from './attack.ts';
import { busyboxRootfs, needsRoot, pod, TestHost, waitFor } from './helpers.ts';

const haveTools = ['umoci', 'skopeo'].every((t) => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });

/** Every entry of a tree: type, mode, owner, size, link target, link count, content hash, user xattrs. */
function listing(root: string, skip: string[]): string[] {
  const py = `
import os, sys, hashlib, stat
root, skip = sys.argv[1], set(sys.argv[2:])
out = []
for d, dirs, files in os.walk(root):
    rel = os.path.relpath(d, root)
    dirs[:] = sorted(x for x in dirs if os.path.normpath(os.path.join(rel, x)) not in skip)
    for n in sorted(dirs + files):
        p = os.path.join(d, n); r = os.path.normpath(os.path.join(rel, n))
        if r in skip: continue
        st = os.lstat(p); kind = stat.S_IFMT(st.st_mode)
        extra = ''
        if stat.S_ISREG(kind):
            extra = hashlib.sha256(open(p, 'rb').read()).hexdigest()[:16] + ' n%d' % st.st_nlink
        elif stat.S_ISLNK(kind):
            extra = '-> ' + os.readlink(p)
        try:
            xs = sorted(x for x in os.listxattr(p, follow_symlinks=False) if x.startswith('user.'))
            extra += ''.join(' %s=%s' % (x, os.getxattr(p, x, follow_symlinks=False).decode()) for x in xs)
        except OSError:
            pass
        out.append('%s %o %d:%d %s' % (r, st.st_mode, st.st_uid, st.st_gid, extra))
print('\\n'.join(out))
`;
  return execFileSync('python3', ['-c', py, root, ...skip], { encoding: 'utf8', maxBuffer: 64 << 20 }).split('\n').filter(Boolean);
}

describe('layered images (OCI layout, docker-archive, oci-archive)', { skip: needsRoot || (haveTools ? false : 'needs umoci and skopeo (scripts/setup.sh installs them)') }, () => {
  let h: TestHost;
  let work: string;
  let layout: string;
  before(() => {
    h = new TestHost('image-layers');
    work = mkdtempSync(path.join(os.tmpdir(), 'minipod-layers-'));
    layout = path.join(work, 'layout');
    const bundle = path.join(work, 'bundle');
    const rootfs = path.join(bundle, 'rootfs');
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:v1`]);
    sh('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    // Layer 1: busybox and the things later layers change.
    cpSync(busyboxRootfs(), rootfs, { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n');
    writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nstaff:x:50:app\n');
    for (const d of ['gone/sub', 'keep', 'opq/old', 'd2f', 'srv/owned']) mkdirSync(path.join(rootfs, d), { recursive: true });
    writeFileSync(path.join(rootfs, 'gone/sub/f'), 'gone\n');
    writeFileSync(path.join(rootfs, 'keep/base'), 'base\n');
    writeFileSync(path.join(rootfs, 'opq/a'), 'a\n');
    writeFileSync(path.join(rootfs, 'opq/old/x'), 'x\n');
    writeFileSync(path.join(rootfs, 'd2f/inside'), 'i\n');
    writeFileSync(path.join(rootfs, 'f2d'), 'file\n');
    writeFileSync(path.join(rootfs, 'srv/owned/f'), 'mine\n');
    chownSync(path.join(rootfs, 'srv/owned'), 1000, 1000);
    chownSync(path.join(rootfs, 'srv/owned/f'), 1000, 50);
    cpSync(path.join(rootfs, 'bin/busybox'), path.join(rootfs, 'bin/suid'));
    chmodSync(path.join(rootfs, 'bin/suid'), 0o4755);
    sh('mkfifo', [path.join(rootfs, 'srv/fifo')]);
    sh('python3', ['-c', `import os; os.setxattr(${JSON.stringify(path.join(rootfs, 'keep/base'))}, 'user.note', b'kept')`]);
    sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:v1`, bundle]);
    // Layer 2 (umoci's whiteouts): a directory removed, dir→file, file→dir, symlinks.
    rmSync(path.join(rootfs, 'gone'), { recursive: true });
    rmSync(path.join(rootfs, 'd2f'), { recursive: true });
    writeFileSync(path.join(rootfs, 'd2f'), 'now a file\n');
    rmSync(path.join(rootfs, 'f2d'));
    mkdirSync(path.join(rootfs, 'f2d'));
    writeFileSync(path.join(rootfs, 'f2d/inside'), 'now a dir\n');
    symlinkSync('/keep/base', path.join(rootfs, 'abs-link'));
    symlinkSync('keep/base', path.join(rootfs, 'rel-link'));
    sh('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
    // Layer 3, by GNU tar: an opaque directory whose marker comes after its siblings, and a
    // hard link to a file that only a lower layer has.
    const stage = path.join(work, 'stage');
    mkdirSync(path.join(stage, 'opq'), { recursive: true });
    mkdirSync(path.join(stage, 'keep'));
    writeFileSync(path.join(stage, 'opq/c'), 'c\n');
    writeFileSync(path.join(stage, 'opq/.wh..wh..opq'), '');
    writeFileSync(path.join(stage, 'keep/base'), 'base\n');
    linkSync(path.join(stage, 'keep/base'), path.join(stage, 'keep/hl'));
    const l3 = path.join(work, 'layer3.tar');
    sh('tar', ['--format=pax', '--no-recursion', '--numeric-owner', '-cf', l3, '-C', stage, 'opq', 'opq/c', 'opq/.wh..wh..opq', 'keep', 'keep/base', 'keep/hl']);
    sh('tar', ['--delete', '-f', l3, 'keep/base']);
    sh('umoci', ['raw', 'add-layer', '--image', `${layout}:v1`, l3]);
    sh('umoci', ['config', '--image', `${layout}:v1`, '--config.entrypoint', '/bin/sh', '--config.cmd', '-c', '--config.cmd', 'id; pwd; echo "FOO=$FOO"; trap "echo got QUIT; exit 0" QUIT; while :; do sleep 0.1; done', '--config.user', 'app:staff', '--config.workingdir', '/srv', '--config.env', 'FOO=bar', '--config.stopsignal', 'SIGQUIT']);
    sh('umoci', ['unpack', '--image', `${layout}:v1`, path.join(work, 'reference')]);
    sh('skopeo', ['copy', '-q', `oci:${layout}:v1`, `docker-archive:${path.join(work, 'docker.tar')}:lay:v1`]);
    sh('skopeo', ['copy', '-q', `oci:${layout}:v1`, `oci-archive:${path.join(work, 'oci.tar')}:v1`]);
  });
  after(async () => {
    await h.cli(['rm', '-f', 'lay']);
    for (const i of ['lay:v1', 'lay-docker:v1', 'lay-ocitar:v1']) await h.cli(['image', 'rm', i]);
    const left = { mounts: h.mounts(), dirs: h.podDirs() };
    h.cleanup();
    rmSync(work, { recursive: true, force: true });
    assert.deepEqual(left, { mounts: [], dirs: [] });
  });

  const layers = () => readdirSync(path.join(h.root, 'lib/images/layers')).filter((e) => /^[0-9a-f]{64}$/.test(e));

  test('an OCI layout runs as an overlay of its layers; the container sees what umoci unpack makes; the config applies', async () => {
    const r = await h.cli(['image', 'import', 'lay:v1', layout]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(layers().length, 3, 'one directory per layer');
    const file = h.manifest('lay.json', pod('lay', { terminationGracePeriodSeconds: 20, containers: [{ name: 'c', image: 'lay:v1' }] }));
    const run = await h.cli(['run', '-d', file]);
    assert.equal(run.code, 0, run.stderr);
    const pid = (await waitFor(async () => statusOf(await inspect(h, 'lay'), 'c')?.pid, 'the container'))!;
    const out = await waitFor(async () => {
      const l = (await h.cli(['logs', 'lay'])).stdout;
      return l.includes('FOO=') ? l : undefined;
    }, 'the container to report');
    assert.match(out, /^uid=1000\(app\) gid=50\(staff\)/m);
    assert.match(out, /^\/srv$/m);
    assert.match(out, /^FOO=bar$/m);
    // Runtime mounts and files minipod adds are not the image's.
    const skip = ['proc', 'sys', 'dev', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf'];
    const seen = listing(`/proc/${pid}/root`, skip);
    const want = listing(path.join(work, 'reference', 'rootfs'), skip);
    assert.deepEqual(seen.filter((l) => !want.includes(l)), [], 'nothing in the container that umoci does not unpack');
    assert.deepEqual(want.filter((l) => !seen.includes(l)), [], 'nothing umoci unpacks is missing or different');
    // Spot checks of the traps themselves.
    assert.ok(!seen.some((l) => l.startsWith('gone ')), 'a whited-out directory');
    assert.ok(seen.some((l) => l.startsWith('opq/c ')) && !seen.some((l) => l.startsWith('opq/a ') || l.startsWith('opq/old')), 'opaque: only the new content');
    assert.ok(seen.some((l) => /^keep\/hl 100644 0:0 \w+ n2\b/.test(l)), 'the hard link into a lower layer, its target copied up');
    assert.ok(seen.some((l) => /^bin\/suid 104755 /.test(l)) && seen.some((l) => /^srv\/fifo 10644 /.test(l)) && seen.some((l) => /^srv\/owned\/f 100644 1000:50 /.test(l)));
    assert.ok(seen.some((l) => /^keep\/base .* user\.note=kept$/.test(l)), 'the user xattr');
    // Stopped with the image's StopSignal.
    assert.equal((await h.cli(['stop', 'lay'])).code, 0);
    assert.match((await h.cli(['logs', 'lay'])).stdout, /got QUIT/);
    const busy = await h.cli(['image', 'rm', 'lay:v1']);
    assert.equal(busy.code, 2, 'an image a pod uses cannot be removed');
    assert.match(busy.stderr, /in use by .*lay/);
    assert.equal((await h.cli(['rm', 'lay'])).code, 0);
  });

  test('a docker-archive and an oci-archive of the same image share its layers; rm removes a layer with its last image', async () => {
    for (const [name, tar] of [['lay-docker:v1', 'docker.tar'], ['lay-ocitar:v1', 'oci.tar']]) {
      const r = await h.cli(['image', 'import', name, path.join(work, tar)]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    }
    assert.equal(layers().length, 3, 'the three layers are stored once for three images');
    const ls = await h.cli(['image', 'ls', '-o', 'json']);
    assert.equal((JSON.parse(ls.stdout) as { name: string }[]).filter((i) => i.name.startsWith('lay')).length, 3);
    for (const i of ['lay:v1', 'lay-docker:v1']) {
      const rm = await h.cli(['image', 'rm', i]);
      assert.equal(rm.code, 0, rm.stderr);
    }
    assert.equal(layers().length, 3, 'still used by the last image');
    assert.equal((await h.cli(['image', 'rm', 'lay-ocitar:v1'])).code, 0);
    assert.deepEqual(layers(), [], 'gone with it');
  });

  test('a corrupt blob, an entry that escapes, or a hard link through a lower symlink is refused; nothing is stored', async () => {
    const bad = path.join(work, 'bad-layout');
    cpSync(layout, bad, { recursive: true });
    const manifest = JSON.parse(execFileSync('cat', [path.join(bad, 'index.json')], { encoding: 'utf8' })).manifests[0].digest.slice(7);
    const m = JSON.parse(execFileSync('cat', [path.join(bad, 'blobs/sha256', manifest)], { encoding: 'utf8' }));
    const blob = path.join(bad, 'blobs/sha256', m.layers[1].digest.slice(7));
    const bytes = execFileSync('cat', [blob]);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(blob, bytes);
    const r = await h.cli(['image', 'import', 'bad:v1', bad]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`blob ${m.layers[1].digest} has digest sha256:[0-9a-f]{64}: refused, nothing stored`));

    const evil = path.join(work, 'evil-layout');
    cpSync(layout, evil, { recursive: true });
    const t = path.join(work, 'evil.tar');
    sh('python3', ['-c', `import tarfile, io\nt = tarfile.open(${JSON.stringify(t)}, 'w')\ni = tarfile.TarInfo('../escaped'); i.size = 3\nt.addfile(i, io.BytesIO(b'bad'))\nt.close()`]);
    sh('umoci', ['raw', 'add-layer', '--image', `${evil}:v1`, t]);
    const e = await h.cli(['image', 'import', 'evil:v1', evil]);
    assert.equal(e.code, 125);
    assert.match(e.stderr, /escapes the target/);
    assert.equal(existsSync(path.join(os.tmpdir(), 'escaped')), false);
    // A hard link through a lower layer's symlink to the host: `lnk -> /etc`, then `stolen`
    // linked to `lnk/hostname`. Copying its target up would read the host's /etc/hostname.
    const thief = path.join(work, 'thief-layout');
    cpSync(layout, thief, { recursive: true });
    for (const [name, code] of [
      ['sym.tar', "i = tarfile.TarInfo('lnk'); i.type = tarfile.SYMTYPE; i.linkname = '/etc'; t.addfile(i)"],
      ['hl.tar', "i = tarfile.TarInfo('stolen'); i.type = tarfile.LNKTYPE; i.linkname = 'lnk/hostname'; t.addfile(i)"],
    ]) {
      const f = path.join(work, name);
      sh('python3', ['-c', `import tarfile\nt = tarfile.open(${JSON.stringify(f)}, 'w')\n${code}\nt.close()`]);
      sh('umoci', ['raw', 'add-layer', '--image', `${thief}:v1`, f]);
    }
    const th = await h.cli(['image', 'import', 'thief:v1', thief]);
    assert.equal(th.code, 125, th.stderr);
    assert.match(th.stderr, /"stolen" is a hard link to "lnk\/hostname", which is not an earlier entry/);
    const ls = JSON.parse((await h.cli(['image', 'ls', '-o', 'json'])).stdout) as { name: string }[];
    assert.ok(!ls.some((i) => /bad|evil|thief/.test(i.name)), 'no image of any of them');
    assert.ok(!readdirSync(path.join(h.root, 'lib/images/layers')).some((x) => x.startsWith('.tmp-')), 'no half layer');
  });
});
