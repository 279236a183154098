// Starting the per-pod supervisor (native/shim) and talking to it.
//
// The supervisor is spawned through the addon like any process (no namespaces, its own
// session so a terminal's Ctrl-C reaches only us), with one end of a socketpair as its
// fd 3. Over it we hear "pause PID", "running", "error ...", "done PHASE EXITCODE" and say
// "go", "stop", "kill", "remove" or "detach". Its exit is watched through its pidfd.

import { EventEmitter } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import net from 'node:net';

import { MinipodError } from '../errors.ts';
import type { ExitInfo, NativeBinding } from '../native/binding.ts';
import type { ProcessPlan } from '../plan/types.ts';

export interface LaunchOptions {
  pod: string;
  runDir: string;
  shimBinary: string;
  /** Foreground: the supervisor writes container output to our stdout/stderr. */
  attach: boolean;
  /** Where a detached supervisor's own messages go. */
  logFile: string;
}

export type SupervisorMessage =
  | { kind: 'pause'; pid: number }
  | { kind: 'running' }
  | { kind: 'error'; what: string; message: string }
  | { kind: 'done'; phase: string; code: number };

/** The pod ended by itself (e.g. an init container failed under Never) before reaching a step. */
export class PodEndedEarly extends MinipodError {
  constructor(
    readonly phase: string,
    readonly step: string,
  ) {
    super(`the pod ended (${phase}) before it was ${step}`, { exitCode: 1 });
  }
}

/** A process of minipod's own on the host (the supervisor, the unwinder): no namespaces, root, every capability. */
export function hostProcess(pod: string, what: string, argv: string[]): ProcessPlan {
  return {
    pod,
    container: what,
    namespaces: [],
    loopbackUp: false,
    mounts: [],
    user: { uid: 0, gid: 0, groups: [] },
    capabilities: null,
    noNewPrivileges: false,
    cwd: '/',
    argv,
    env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  };
}

export class SupervisorLink extends EventEmitter {
  readonly pid: number;
  private sock: net.Socket | undefined;
  private buf = '';
  exited: ExitInfo | undefined;
  /** "done PHASE CODE", once heard (it may come in one read with "running"). */
  done: Extract<SupervisorMessage, { kind: 'done' }> | undefined;
  readonly exit: Promise<ExitInfo>;

  private constructor(pid: number, sock: net.Socket, exit: Promise<ExitInfo>) {
    super();
    this.pid = pid;
    this.sock = sock;
    this.exit = exit;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', () => undefined); // EOF/EPIPE: the exit watch reports what happened
    sock.on('close', () => this.emit('closed'));
  }

  static launch(native: NativeBinding, o: LaunchOptions): SupervisorLink {
    const [ours, theirs] = native.socketpair();
    const logFd = o.attach ? undefined : openSync(o.logFile, 'a', 0o640);
    const plan = { ...hostProcess(o.pod, 'supervisor', [o.shimBinary, o.runDir]), setsid: true };
    let spawned;
    try {
      spawned = native.spawn({
        plan,
        stdio: o.attach ? ['null', 'inherit', 'inherit'] : ['null', logFd!, logFd!],
        extraFds: [theirs],
      });
    } catch (e) {
      native.close(ours);
      throw new MinipodError(`pod "${o.pod}": cannot start the supervisor: ${(e as Error).message}`, { cause: e });
    } finally {
      native.close(theirs);
      if (logFd !== undefined) closeSync(logFd);
    }
    let resolveExit!: (e: ExitInfo) => void;
    const exit = new Promise<ExitInfo>((r) => (resolveExit = r));
    // Not keeping the loop alive: while we care, the socket does; a detached CLI may exit.
    const sock = new net.Socket({ fd: ours, readable: true, writable: true });
    const link = new SupervisorLink(spawned.pid, sock, exit);
    native.watch(
      spawned.pidfd,
      (e) => {
        link.exited = e;
        resolveExit(e);
        link.emit('exit', e);
      },
      false,
    );
    return link;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const [word, ...rest] = line.split(' ');
      let msg: SupervisorMessage | undefined;
      if (word === 'pause') msg = { kind: 'pause', pid: Number(rest[0]) };
      else if (word === 'running') msg = { kind: 'running' };
      else if (word === 'error') msg = { kind: 'error', what: rest[0] ?? '', message: rest.slice(1).join(' ') };
      else if (word === 'done') msg = { kind: 'done', phase: rest[0] ?? 'Unknown', code: Number(rest[1] ?? 1) };
      if (msg?.kind === 'done') this.done = msg;
      if (msg) this.emit('message', msg);
    }
  }

  send(word: 'go' | 'stop' | 'kill' | 'remove' | 'detach'): void {
    if (this.sock && !this.sock.destroyed) this.sock.write(`${word}\n`);
  }

  /** Waits for a message of this kind; rejects if the supervisor exits or reports an error first. */
  waitFor<K extends SupervisorMessage['kind']>(kind: K): Promise<Extract<SupervisorMessage, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        this.off('message', onMessage);
        this.off('exit', onExit);
      };
      const onMessage = (m: SupervisorMessage) => {
        if (m.kind === kind) {
          cleanup();
          resolve(m as Extract<SupervisorMessage, { kind: K }>);
        } else if (m.kind === 'error') {
          cleanup();
          reject(new MinipodError(`${m.what}: ${m.message}`));
        } else if (m.kind === 'done') {
          cleanup();
          reject(new PodEndedEarly(m.phase, kind));
        }
      };
      const onExit = (e: ExitInfo) => {
        cleanup();
        reject(new MinipodError(`the pod's supervisor exited (${e.signal ? `signal ${e.signal}` : `code ${e.code}`}) before "${kind}"`));
      };
      if (kind === 'done' && this.done) return resolve(this.done as Extract<SupervisorMessage, { kind: K }>);
      if (this.exited) return onExit(this.exited);
      this.on('message', onMessage);
      this.on('exit', onExit);
    });
  }

  /**
   * Resolves when the supervisor (and so the pod's teardown) has ended, keeping our
   * event loop alive meanwhile: the exit watch itself does not (a detached CLI must be able
   * to quit), and once the control socket has closed nothing else would, so Node could
   * end before the exit is seen.
   */
  async waitExit(): Promise<ExitInfo> {
    const hold = setInterval(() => undefined, 1 << 30);
    try {
      return await this.exit;
    } finally {
      clearInterval(hold);
    }
  }

  /** Tell the supervisor to keep going without us, and let go of it. */
  async detach(): Promise<void> {
    const sock = this.sock;
    this.sock = undefined;
    if (!sock || sock.destroyed) return;
    // Resolve only once "detach" has left: a caller that exits right away (the API with
    // outlive, then process.exit) must not close the socket first, or the supervisor
    // would take the EOF for its owner's death and remove the pod.
    await new Promise<void>((resolve) => {
      sock.once('error', () => resolve());
      sock.end('detach\n', () => resolve());
    });
    sock.unref();
  }

  /** Stay connected (so the supervisor knows we live) without keeping our event loop alive. */
  keepUnref(): void {
    this.sock?.unref();
  }

  close(): void {
    this.sock?.destroy();
    this.sock = undefined;
  }
}
