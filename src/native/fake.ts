// A fake NativeBinding for unit tests: records every plan it is asked to spawn and lets
// the test decide what each spawn does (succeed with a pid, or fail like the executor).

import type { ExitInfo, NativeBinding, NativeFailure, SpawnRequest, Spawned } from './binding.ts';

export class FakeNative implements NativeBinding {
  readonly spawned: SpawnRequest[] = [];
  readonly signals: { pidfd: number; signo: number }[] = [];
  private nextPid = 1000;
  private nextFd = 100;
  private watchers = new Map<number, (e: ExitInfo) => void>();
  /** Set to make the next spawn fail with this executor failure. */
  failNext?: NativeFailure;

  spawn(req: SpawnRequest): Spawned {
    this.spawned.push(structuredClone(req));
    if (this.failNext) {
      const f = this.failNext;
      this.failNext = undefined;
      throw Object.assign(new Error(`${f.syscall}: failed`), f);
    }
    return { pid: this.nextPid++, pidfd: this.nextFd++ };
  }

  watch(pidfd: number, onExit: (e: ExitInfo) => void): void {
    this.watchers.set(pidfd, onExit);
  }

  /** Makes the process behind pidfd "exit". */
  exit(pidfd: number, e: Partial<ExitInfo> = {}): void {
    const cb = this.watchers.get(pidfd);
    this.watchers.delete(pidfd);
    cb?.({ pid: 0, code: 0, signal: null, ...e });
  }

  signal(pidfd: number, signo: number, _value?: number): void {
    this.signals.push({ pidfd, signo });
  }
  pidfdOpen(): number {
    return this.nextFd++;
  }
  pipe(): [number, number] {
    return [this.nextFd++, this.nextFd++];
  }
  socketpair(): [number, number] {
    return [this.nextFd++, this.nextFd++];
  }
  control(): { fd: number; reply: string; fds: number[] } {
    throw Object.assign(new Error('connect: ENOENT (no supervisor in unit tests)'), { code: 'ENOENT', syscall: 'connect', errno: 2 });
  }
  setWinsize(): void {}
  flock(): boolean {
    return true;
  }
  close(): void {}
  readonly mounts: { source: string; target: string; fstype: string; flags: string[]; data?: string }[] = [];
  mount(source: string, target: string, fstype: string, flags: string[], data?: string): void {
    this.mounts.push({ source, target, fstype, flags, data });
  }
  readonly whiteouts: string[] = [];
  readonly opaques: string[] = [];
  whiteout(p: string): void {
    this.whiteouts.push(p);
  }
  opaque(d: string): void {
    this.opaques.push(d);
  }
  readonly netlink: string[] = [];
  linkAddBridge(name: string, mac: string): void {
    this.netlink.push(`bridge ${name} ${mac}`);
  }
  linkSet(name: string, alias: string | null, up: boolean | null): void {
    this.netlink.push(`set ${name} ${alias ?? '-'} ${up ?? '-'}`);
  }
  addrAdd(name: string, address: string, prefix: number, brd: boolean): void {
    this.netlink.push(`addr ${name} ${address}/${prefix}${brd ? ' brd' : ''}`);
  }
  linkAddrs(): string[] {
    return [];
  }
  linkKind(): string {
    return 'bridge';
  }
  readonly linksDeleted: string[] = [];
  linkDel(name: string): boolean {
    this.linksDeleted.push(name);
    return true;
  }
  isOpaque(d: string): boolean {
    return this.opaques.includes(d);
  }
  umount(target: string): void {
    const i = this.mounts.findIndex((m) => m.target === target);
    if (i >= 0) this.mounts.splice(i, 1);
  }
}
