// state.json's status part: the supervisor's report on the pod, in Kubernetes' vocabulary.
// Written by the supervisor (native/shim/state.c), atomically; read here. (The same file
// holds the host record and the journal: src/state/host.ts.)

import path from 'node:path';

import { readJson } from './files.ts';
import type { PodDirs } from './paths.ts';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface Termination {
  exitCode: number;
  signal: number | null;
  reason: string | null;
  message: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface StartFailure {
  step: string | null;
  syscall: string;
  errno: number;
  path: string | null;
  dest: string | null;
  detail: string | null;
}

/** One probe of a running container (state.json's `probes`, keyed liveness/readiness/startup). */
export interface ProbeStatus {
  /** The probe's current verdict; null when the container is not running. */
  result: 'success' | 'failure' | 'unknown' | null;
  /** Consecutive failures so far. */
  failures: number;
  /** The last failure, e.g. "Liveness probe failed: HTTP probe failed with statuscode: 500". */
  message: string | null;
}

export interface ContainerStatus {
  name: string;
  init: boolean;
  sidecar: boolean;
  state: 'waiting' | 'running' | 'terminated';
  reason: string | null;
  message: string | null;
  pid: number | null;
  exitCode: number | null;
  signal: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  restartCount: number;
  /** Running, started, not stopping, and its readiness probe (if any) succeeds. The pod is Ready when all are. */
  ready: boolean;
  /** Running, its postStart hook has ended and its startup probe (if any) has succeeded. */
  started: boolean;
  nextStartInMs: number | null;
  lastState: Termination | null;
  probes: Partial<Record<'liveness' | 'readiness' | 'startup', ProbeStatus>>;
  error: StartFailure | null;
}

export interface PodState {
  pod: string;
  uid: string;
  phase: PodPhase;
  reason: string | null;
  supervisorPid: number;
  pausePid: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  allStarted: boolean;
  stopping: boolean;
  containers: ContainerStatus[];
  /** A Job's pod: its runs so far (native/shim/state.c). */
  job?: { completions: number; succeeded: number; failed: number; backoffLimit: number };
}

export function stateFile(dirs: PodDirs): string {
  return path.join(dirs.run, 'state.json');
}

/** The supervisor's report; undefined until a supervisor has written one. */
export function readState(dirs: PodDirs): PodState | undefined {
  const s = readJson<PodState>(stateFile(dirs));
  return s?.phase ? s : undefined;
}

/** The exit code a container's last run ended with, Kubernetes style (128+N for signal N). */
export function lastExitCode(c: ContainerStatus): number | undefined {
  if (c.state === 'terminated') return c.exitCode ?? undefined;
  return c.lastState?.exitCode;
}
