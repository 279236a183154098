// Registry credentials: the auth file of containers-auth.json / docker config.json form
// ({"auths": {"HOST": {"auth": base64("user:password")}}}).
//
// Read from: REGISTRY_AUTH_FILE, else /run/containers/0/auth.json (podman's file for root),
// else ~/.docker/config.json. `minipod login` writes to REGISTRY_AUTH_FILE or podman's file
// (mode 0600 in a 0700 directory, written to a temporary file and renamed, other keys of
// the file kept), so that podman and minipod on one host share a login. A secret is never
// printed, logged, or written anywhere else (plans and state files hold none).

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { imageError } from './unpack.ts';

export interface Credentials {
  user: string;
  password: string;
}

export const PODMAN_AUTH_FILE = '/run/containers/0/auth.json';

type AuthFile = { auths?: Record<string, { auth?: string }> } & Record<string, unknown>;

/** The files read, in order. */
export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return [env.REGISTRY_AUTH_FILE, PODMAN_AUTH_FILE, path.join(env.HOME ?? os.homedir(), '.docker', 'config.json')].filter(Boolean) as string[];
}

/** The file `login` writes and `logout` edits. */
export function writableAuthFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.REGISTRY_AUTH_FILE || PODMAN_AUTH_FILE;
}

/** The keys a registry's credentials may be stored under (docker.io has historical ones). */
function keysFor(registry: string): string[] {
  const hub = registry === 'registry-1.docker.io' || registry === 'docker.io' || registry === 'index.docker.io';
  return [registry, `https://${registry}`, `http://${registry}`, ...(hub ? ['docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'] : [])];
}

function readAuthFile(file: string): AuthFile | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as AuthFile;
    return j && typeof j === 'object' ? j : undefined;
  } catch {
    return undefined;
  }
}

/** Credentials for a registry host from the auth files (never logged). */
export function credentialsFor(registry: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  for (const f of authFiles(env)) {
    const auths = readAuthFile(f)?.auths;
    for (const k of keysFor(registry)) {
      const a = auths?.[k]?.auth;
      if (typeof a !== 'string') continue;
      const plain = Buffer.from(a, 'base64').toString('utf8');
      const i = plain.indexOf(':');
      if (i > 0) return { user: plain.slice(0, i), password: plain.slice(i + 1) };
    }
  }
  return undefined;
}

function writeAuthFile(file: string, content: AuthFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, JSON.stringify(content, null, '\t') + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Stores credentials for `registry` (replacing what it had); returns the file. */
export function storeCredentials(registry: string, creds: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const file = writableAuthFile(env);
  const content = readAuthFile(file) ?? {};
  if (fs.existsSync(file) && !readAuthFile(file)) throw imageError(`login: ${file} is not a JSON auth file; not overwriting it`, 'ERR_IMAGE_AUTH_FILE');
  const auths = { ...(content.auths ?? {}) };
  for (const k of keysFor(registry)) delete auths[k];
  auths[registry] = { auth: Buffer.from(`${creds.user}:${creds.password}`).toString('base64') };
  writeAuthFile(file, { ...content, auths });
  return file;
}

/**
 * Removes the credentials for `registry` (every key it may be under), or all of them.
 * Returns what was done: removed from `file`, or only found in a file minipod does not
 * write (docker's), or not found.
 */
export function removeCredentials(registry: string | undefined, env: NodeJS.ProcessEnv = process.env): { removed: boolean; file: string; elsewhere?: string } {
  const file = writableAuthFile(env);
  const content = readAuthFile(file);
  let removed = false;
  if (content?.auths) {
    const auths = { ...content.auths };
    for (const k of registry === undefined ? Object.keys(auths) : keysFor(registry)) {
      if (k in auths) {
        delete auths[k];
        removed = true;
      }
    }
    if (removed) writeAuthFile(file, { ...content, auths });
  }
  const elsewhere = !removed && registry !== undefined ? authFiles(env).find((f) => f !== file && keysFor(registry).some((k) => readAuthFile(f)?.auths?.[k])) : undefined;
  return { removed, file, ...(elsewhere && { elsewhere }) };
}
