// Who a container runs as, from the image's `User` and its /etc/passwd and /etc/group, the
// way containerd's CRI plugin resolves it for the kubelet:
//
//   ""              root (0:0)
//   "1000"          uid 1000, gid from the passwd entry of uid 1000 if there is one, else 0
//   "1000:3000"     as written
//   "app"           the passwd entry named app (an error when there is none)
//   "app:staff"     user app, group staff from /etc/group (names and numbers mix freely)
//
// runAsUser / runAsGroup of the manifest win over the image (the uid's passwd entry still
// gives the gid when runAsGroup is unset). The supplementary groups are the primary gid
// (containerd CVE-2023-25173), the pod's supplementalGroups and fsGroup, and every group
// of the image's /etc/group that lists the user by name — what Kubernetes does by default.
//
// Reading the files is done by readImageFile, which resolves symlinks inside the image's
// root: an image whose /etc/passwd links to the host's /etc/shadow reads nothing.

import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** The image's account database, as read from its root (empty when it has none). */
export interface ImageUsers {
  passwd: PasswdEntry[];
  group: GroupEntry[];
}

const ID = /^\d+$/;
const MAX_ID = 2 ** 31 - 1;

function id(s: string): number | undefined {
  if (!ID.test(s)) return undefined;
  const n = Number(s);
  return n <= MAX_ID ? n : undefined;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || !f[0] || line.startsWith('#')) continue;
    const uid = id(f[2]);
    const gid = id(f[3]);
    if (uid !== undefined && gid !== undefined) out.push({ name: f[0], uid, gid });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || !f[0] || line.startsWith('#')) continue;
    const gid = id(f[2]);
    if (gid !== undefined) out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** The passwd name of the uid, when the image has one (for group memberships). */
  name?: string;
}

export class ImageUserError extends Error {}

/** The image's User string against its account database. */
export function resolveImageUser(user: string | undefined, users: ImageUsers): ResolvedUser {
  const spec = (user ?? '').trim();
  if (!spec) return { uid: 0, gid: 0, name: users.passwd.find((p) => p.uid === 0)?.name };
  const [u, g] = spec.split(':', 2);
  let uid: number;
  let gid: number | undefined;
  let name: string | undefined;
  const n = id(u);
  if (n !== undefined) {
    uid = n;
    const e = users.passwd.find((p) => p.uid === n);
    name = e?.name;
    gid = e?.gid;
  } else {
    const e = users.passwd.find((p) => p.name === u);
    if (!e) throw new ImageUserError(`the image's user "${u}" is not in its /etc/passwd`);
    ({ uid, gid, name } = e);
  }
  if (g !== undefined && g !== '') {
    const ng = id(g);
    if (ng !== undefined) gid = ng;
    else {
      const e = users.group.find((x) => x.name === g);
      if (!e) throw new ImageUserError(`the image's group "${g}" is not in its /etc/group`);
      gid = e.gid;
    }
  }
  return { uid, gid: gid ?? 0, name };
}

/** The passwd entry of a uid (for a runAsUser that the image knows). */
export function userOfUid(uid: number, users: ImageUsers): PasswdEntry | undefined {
  return users.passwd.find((p) => p.uid === uid);
}

/** gids of the groups in the image's /etc/group that list this user name. */
export function memberGroups(name: string | undefined, users: ImageUsers): number[] {
  if (!name) return [];
  return users.group.filter((g) => g.members.includes(name)).map((g) => g.gid);
}

/**
 * Reads rel (like "etc/passwd") from an image root, resolving every symlink inside that
 * root (absolute targets are taken from the root, ".." stops at it). undefined when it is
 * missing, not a regular file, or larger than 1 MiB.
 */
export function readImageFile(root: string, rel: string): string | undefined {
  const parts = rel.split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const p = path.join(root, ...done, part);
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) return undefined;
      const target = readlinkSync(p);
      if (target.startsWith('/')) done.length = 0;
      parts.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
    if (!parts.length) {
      if (!st.isFile() || st.size > 1 << 20) return undefined;
      return readFileSync(p, 'utf8');
    }
    if (!st.isDirectory()) return undefined;
  }
  return undefined;
}

/** The account database of an image root. */
export function readImageUsers(root: string): ImageUsers {
  return { passwd: parsePasswd(readImageFile(root, 'etc/passwd') ?? ''), group: parseGroup(readImageFile(root, 'etc/group') ?? '') };
}
