// The one typed seam between TypeScript and the addon (native/addon/addon.cc).
//
// Everything minipod does with namespaces, mounts and processes goes through this
// interface. The real binding loads build/Release/minipod.node; unit tests use FakeNative
// (./fake.ts), which records the plans it is given, so planning and supervision logic can
// be tested without root.

import type { ProcessPlan } from '../plan/types.ts';

/** What the child's fd 0, 1, 2 become: an fd of ours, /dev/null, or our own. */
export type NativeStdio = number | 'null' | 'inherit';

export interface SpawnRequest {
  plan: ProcessPlan;
  stdio?: [NativeStdio, NativeStdio, NativeStdio];
  /** fds that become 3, 4, ... in the child. */
  extraFds?: number[];
  /** pidfds for "@pause/..." and "@container:NAME/..." namespace references (the caller's; not closed). */
  refs?: Record<string, number>;
}

export interface Spawned {
  pid: number;
  /** A pidfd for the workload; owned by the caller until handed to watch(). */
  pidfd: number;
}

export interface ExitInfo {
  pid: number;
  /** Exit status when it exited, else null. */
  code: number | null;
  /** Signal number when a signal ended it, else null. */
  signal: number | null;
  coreDumped?: boolean;
}

/** The raw failure the executor reports, before it is given a message. */
export interface NativeFailure {
  step?: string;
  syscall: string;
  errno: number;
  path?: string;
  dest?: string;
  detail?: string;
  code?: string;
  /** The executor's own one-line description (native/exec/describe.c). */
  description?: string;
}

export interface NativeBinding {
  /** Spawns one process from a plan; throws a NativeFailure-shaped Error on failure. */
  spawn(req: SpawnRequest): Spawned;
  /** Calls back once when the process behind pidfd exits (takes ownership of pidfd). */
  watch(pidfd: number, onExit: (e: ExitInfo) => void, keepAlive?: boolean): void;
  /** With a value, the signal carries it (SI_QUEUE): the supervisor takes it as a grace period in ms. */
  signal(pidfd: number, signo: number, value?: number): void;
  pidfdOpen(pid: number): number;
  pipe(): [number, number];
  socketpair(): [number, number];
  /**
   * One request to a pod's supervisor over RUN_DIR/control.sock: the line, with fds passed
   * as SCM_RIGHTS. Returns the connection (for the lines that follow), the first reply
   * line(s) and the fds that came with them.
   */
  control(runDir: string, line: string, fds: number[]): { fd: number; reply: string; fds: number[] };
  setWinsize(fd: number, rows: number, cols: number): void;
  /** true when taken; false when it would block and wait is false. */
  flock(fd: number, exclusive: boolean, wait: boolean): boolean;
  close(fd: number): void;
  /** A host-side mount by the parent (flags: ro, nosuid, nodev, noexec, bind). */
  mount(source: string, target: string, fstype: string, flags: string[], data?: string): void;
  umount(target: string, detach: boolean): void;
  /** An overlayfs whiteout at path: a 0/0 character device (an image layer's `.wh.NAME`). */
  whiteout(path: string): void;
  /** Marks a directory opaque for overlayfs (trusted.overlay.opaque=y; a layer's `.wh..wh..opq`). */
  opaque(dir: string): void;
  /** Whether a directory is opaque for overlayfs (never follows a symlink). */
  isOpaque(dir: string): boolean;
  /** Deletes a link of this network namespace over rtnetlink; false when there was none. */
  linkDel(name: string): boolean;
  /** A bridge with a fixed MAC, in this network namespace (rtnetlink). */
  linkAddBridge(name: string, mac: string): void;
  /** Sets a link's alias and/or state (null: unchanged). */
  linkSet(name: string, alias: string | null, up: boolean | null): void;
  /** Adds an IPv4 address (with its broadcast address when brd). */
  addrAdd(name: string, address: string, prefix: number, brd: boolean): void;
  /** A link's IPv4 addresses ("a.b.c.d/prefix"), also when it is down. */
  linkAddrs(name: string): string[];
  /** A link's kind over rtnetlink ("bridge", "veth", "" for a plain one). */
  linkKind(name: string): string;
}

/** What the addon exports: the same calls, with the plan as JSON and no defaults. */
type RawAddon = Omit<NativeBinding, 'spawn' | 'watch' | 'mount'> & {
  spawn(plan: string, stdio: number[], extra: number[], refs: Record<string, number>): Spawned;
  watch(pidfd: number, cb: (e: ExitInfo) => void, keepAlive: boolean): void;
  mount(source: string, target: string, fstype: string, flags: string[], data: string): void;
};

const STDIO_NULL = -1;
const STDIO_INHERIT = -2;

function stdioFd(s: NativeStdio): number {
  if (s === 'null') return STDIO_NULL;
  if (s === 'inherit') return STDIO_INHERIT;
  if (!Number.isInteger(s) || s < 0) throw new TypeError(`stdio fd must be a non-negative integer, got ${s}`);
  return s;
}

/** Wraps the raw addon, checking arguments before they reach C. */
export function wrapAddon(raw: RawAddon): NativeBinding {
  return {
    spawn(req) {
      const stdio = (req.stdio ?? ['null', 'inherit', 'inherit']).map(stdioFd);
      for (const fd of req.extraFds ?? []) if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`bad extra fd ${fd}`);
      if (!req.plan.argv.length) throw new TypeError('plan.argv must not be empty');
      return raw.spawn(JSON.stringify(req.plan), stdio, req.extraFds ?? [], req.refs ?? {});
    },
    watch: (pidfd, onExit, keepAlive = true) => raw.watch(pidfd, onExit, keepAlive),
    signal: (pidfd, signo, value) => (value === undefined ? raw.signal(pidfd, signo) : raw.signal(pidfd, signo, value)),
    pidfdOpen: (pid) => raw.pidfdOpen(pid),
    pipe: () => raw.pipe(),
    socketpair: () => raw.socketpair(),
    control: (dir, line, fds) => {
      if (line.includes('\n')) throw new TypeError('a control request is one line');
      for (const fd of fds) if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`bad fd ${fd}`);
      return raw.control(dir, line, fds);
    },
    setWinsize: (fd, rows, cols) => raw.setWinsize(fd, rows, cols),
    flock: (fd, exclusive, wait) => raw.flock(fd, exclusive, wait),
    close: (fd) => raw.close(fd),
    mount: (source, target, fstype, flags, data = '') => raw.mount(source, target, fstype, flags, data),
    umount: (target, detach) => raw.umount(target, detach),
    whiteout: (p) => raw.whiteout(p),
    opaque: (d) => raw.opaque(d),
    isOpaque: (d) => raw.isOpaque(d),
    linkDel: (n) => raw.linkDel(n),
    linkAddBridge: (n, m) => raw.linkAddBridge(n, m),
    linkSet: (n, a, u) => raw.linkSet(n, a, u),
    addrAdd: (n, a, p, b) => raw.addrAdd(n, a, p, b),
    linkAddrs: (n) => raw.linkAddrs(n),
    linkKind: (n) => raw.linkKind(n),
  };
}
