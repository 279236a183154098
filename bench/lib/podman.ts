// Driving podman (kube play / kube down, crun as its OCI runtime) the same way.

import fs from 'node:fs';

import { attempt, benchEnv, must, run, sleep } from './exec.ts';
import { live, type Member } from './proc.ts';

const HELPERS = ['conmon', 'catatonit', 'aardvark-dns'];

export class Podman {
  readonly env = benchEnv();

  up(file: string): number {
    return must('podman', ['--runtime', 'crun', 'kube', 'play', file], this.env);
  }

  down(file: string): number {
    return must('podman', ['kube', 'down', file], this.env);
  }

  /** Best-effort removal of every pod the bench creates (web, mpb-NN): before and after a run. */
  removeBenchPods(): void {
    const r = run('podman', ['pod', 'ps', '--format', '{{.Name}}'], this.env);
    this.removePods(r.output.split('\n').filter((n) => /^(web|mpb-\d+)$/.test(n)));
  }

  /** Best-effort removal of the named pods (cleanup after a failure). */
  removePods(names: string[]): void {
    if (names.length) attempt('podman', ['pod', 'rm', '-f', ...names], this.env);
  }

  /**
   * conmon and podman's cleanup processes exit asynchronously after kube down: wait for
   * them, so that the next measurement does not overlap the previous pod's exit.
   */
  async settle(timeoutMs = 15000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (live(HELPERS).length && performance.now() < deadline) await sleep(50);
  }

  /** What podman keeps running for one pod: conmon per container, the infra (catatonit), aardvark-dns. */
  helpers(pod: string, containers: string[]): Member[] {
    const q = (args: string[]) => {
      const r = run('podman', args, this.env);
      if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: ${r.output.trim()}`);
      return r.output.trim();
    };
    const infra = q(['pod', 'inspect', pod, '--format', '{{.InfraContainerID}}']);
    const members: Member[] = [];
    for (const c of [infra, ...containers]) {
      const [pid, conmon] = q(['inspect', c, '--format', '{{.State.Pid}} {{.State.ConmonPid}}']).split(' ').map(Number);
      members.push({ role: 'conmon', pid: conmon });
      if (c === infra) members.push({ role: 'catatonit (infra)', pid });
    }
    const apid = Number(fs.readFileSync('/run/containers/networks/aardvark-dns/aardvark.pid', 'utf8').trim());
    members.push({ role: 'aardvark-dns', pid: apid });
    return members;
  }
}
