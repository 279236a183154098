// Shared pieces of the integration tests: a private state root per test, the CLI, a
// busybox image, polling with deadlines, and what the kernel says about processes.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(repo, 'bin', 'minipod');
export const isRoot = process.getuid?.() === 0;
/** For `test(name, { skip: needsRoot }, ...)`: a stated reason when not root. */
export const needsRoot: string | false = isRoot ? false : 'needs root: real namespaces, mounts and network';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls fn until it returns a truthy value; throws with `what` after the deadline. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 10_000, intervalMs = 20): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(intervalMs);
  }
}

let busyboxTree: string | undefined;

/** A busybox rootfs tree built from the host's busybox-static (once per test process). */
export function busyboxRootfs(): string {
  if (busyboxTree) return busyboxTree;
  const src = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!src) throw new Error('busybox-static is not installed (apt-get install busybox-static)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'minipod-test-rootfs-'));
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'www', 'data']) mkdirSync(path.join(dir, d), { recursive: true });
  chmodSync(path.join(dir, 'tmp'), 0o1777);
  copyFileSync(src, path.join(dir, 'bin/busybox'));
  chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(src, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    const link = path.join(dir, applet);
    if (applet === 'bin/busybox' || existsSync(link)) continue;
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync('/bin/busybox', link);
  }
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(path.join(dir, 'etc/hosts'), '');
  writeFileSync(path.join(dir, 'etc/resolv.conf'), '');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return (busyboxTree = dir);
}

/** A private minipod world: its own state root; removed (and checked empty) at the end. */
export class TestHost {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly label: string) {
    this.root = mkdtempSync(path.join(os.tmpdir(), `minipod-test-${label}-`));
    // Its own bridge and subnet too (a test may pick others): a bridge belongs to one
    // state root, and test files may run at the same time.
    let hash = 0;
    for (const ch of label) hash = (hash * 31 + ch.charCodeAt(0)) % 200;
    // A short image name that is not here would be pulled from the default registry: make
    // that a closed loopback port, so no test can ever send a name to docker.io.
    // Pods' cgroups under this test process's own cgroup, never at a hierarchy's root.
    this.cgroupParent = path.posix.join(ownCgroup(), `minipod-test-${label}-${process.pid}`);
    this.env = { ...process.env, MINIPOD_ROOT: this.root, MINIPOD_BACKOFF_BASE_MS: '200', MINIPOD_BRIDGE: `mpt${hash}`, MINIPOD_SUBNET: `10.240.${hash}.0/24`, MINIPOD_DEFAULT_REGISTRY: '127.0.0.1:2', MINIPOD_REGISTRIES_CONF: '/dev/null', MINIPOD_CGROUP_PARENT: this.cgroupParent };
    delete this.env.NODE_EXTRA_CA_CERTS;
  }
  readonly cgroupParent: string;
  /** The pod cgroups left under this host's cgroup parent, in every hierarchy. */
  podCgroups(): string[] {
    return cgroupDirsOf(this.cgroupParent).flatMap((d) => (existsSync(d) ? readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name)) : []));
  }

  /** Runs the CLI to completion. */
  cli(args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [cliPath, ...args], { env: { ...this.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`minipod ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin.end(opts.input ?? '');
    });
  }

  /** Starts the CLI and returns the child, for tests that signal it. */
  spawnCli(args: string[]) {
    const child = spawn(process.execPath, [cliPath, ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (d) => (out.stdout += d));
    child.stderr.on('data', (d) => (out.stderr += d));
    const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, ...out })));
    return { child, out, done };
  }

  /** Writes a manifest (YAML text or an object, written as JSON) into the test's root. */
  manifest(name: string, content: string | object): string {
    const file = path.join(this.root, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }

  /** Mount points under this test's root (there must be none once pods are gone). */
  mounts(): string[] {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && m.startsWith(this.root));
  }

  /** Pod directories left in the state root. */
  podDirs(): string[] {
    const out: string[] = [];
    for (const d of ['run/pods', 'lib/pods']) {
      const p = path.join(this.root, d);
      if (existsSync(p)) out.push(...readdirSync(p).map((e) => `${d}/${e}`));
    }
    return out;
  }

  /**
   * The end of a test file: removes the pods named and the bridge, then checks that no mount,
   * pod directory or pod cgroup of this host is left, and removes its state root.
   */
  async finish(pods: string[]): Promise<void> {
    if (pods.length) await this.cli(['rm', '-f', ...pods]);
    await this.cli(['network', 'rm']);
    const left = { mounts: this.mounts(), dirs: this.podDirs(), cgroups: this.podCgroups() };
    this.cleanup();
    assert.deepEqual(left, { mounts: [], dirs: [], cgroups: [] }, 'nothing of the pods is left');
  }
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
    for (const d of cgroupDirsOf(this.cgroupParent)) rmdirTree(d);
  }
}

/** This process's cgroup (its memory hierarchy's, or the v2 one). */
export function ownCgroup(): string {
  const text = readFileSync('/proc/self/cgroup', 'utf8');
  const line = text.split('\n').find((l) => l.split(':')[1]?.split(',').includes('memory')) ?? text.split('\n').find((l) => l.startsWith('0::'));
  return line ? line.split(':').slice(2).join(':') : '/';
}

/** The directories of a cgroup in every mounted hierarchy (v1: per controller mount; v2: one). */
export function cgroupDirsOf(cgroup: string): string[] {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fstype = line.slice(sep + 3).split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.add(path.join(line.slice(0, sep).split(' ')[4], cgroup));
  }
  return [...out];
}

/** rmdir of a cgroup and every cgroup below it, deepest first (cgroupfs removes only empty dirs). */
function rmdirTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // still in use: left for the next run to show
  }
}

/** The inode of /proc/PID/ns/TYPE. */
export function nsInode(pid: number, type: string): string {
  return readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** Pids of processes whose command line contains text. */
export function pidsMatching(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').includes(text)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export function pod(name: string, spec: object, metadata: object = {}): object {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...metadata }, spec };
}
