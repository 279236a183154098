// Pods as users read them: a Kubernetes-shaped Pod object (inspect, -o json/yaml, the API)
// and the columns of `kubectl get pods` (ps).

import os from 'node:os';

import { cgroupRefOf, podUsage } from '../cgroups/stats.ts';

import type { ContainerStatus, Termination } from '../state/status.ts';
import { podPhase, readManifest, readPlan, type PodInfo } from './pods.ts';

export interface K8sContainerState {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt: string };
  terminated?: { exitCode: number; signal?: number; reason?: string; message?: string; startedAt?: string; finishedAt?: string };
}

export interface K8sContainerStatus {
  name: string;
  image: string;
  state: K8sContainerState;
  lastState: K8sContainerState;
  ready: boolean;
  started: boolean;
  restartCount: number;
  pid?: number;
}

export interface PodCondition {
  type: 'Initialized' | 'ContainersReady' | 'Ready';
  status: 'True' | 'False';
  reason?: string;
}

export interface PodStatusView {
  phase: string;
  /** Kubernetes' pod conditions, from the containers' readiness (probes run in the supervisor). */
  conditions: PodCondition[];
  reason?: string;
  podIP?: string;
  hostIP?: string;
  startTime?: string;
  /** Kubernetes' QoS class of the pod (from its requests and limits). */
  qosClass?: 'Guaranteed' | 'Burstable' | 'BestEffort';
  initContainerStatuses: K8sContainerStatus[];
  containerStatuses: K8sContainerStatus[];
  /** A Job's pod: its completions so far (minipod's; Kubernetes keeps them in the Job's status). */
  job?: { completions: number; succeeded: number; failed: number; backoffLimit: number };
}

function terminated(t: Termination): K8sContainerState {
  return {
    terminated: {
      exitCode: t.exitCode,
      ...(t.signal ? { signal: t.signal } : {}),
      ...(t.reason ? { reason: t.reason } : {}),
      ...(t.message ? { message: t.message } : {}),
      ...(t.startedAt ? { startedAt: t.startedAt } : {}),
      ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
    },
  };
}

function containerView(c: ContainerStatus, image: string): K8sContainerStatus {
  let state: K8sContainerState;
  if (c.state === 'running') state = { running: { startedAt: c.startedAt ?? '' } };
  else if (c.state === 'terminated')
    state = terminated({ exitCode: c.exitCode ?? 0, signal: c.signal, reason: c.reason, message: c.message, startedAt: c.startedAt, finishedAt: c.finishedAt });
  else state = { waiting: { ...(c.reason ? { reason: c.reason } : { reason: 'PodInitializing' }), ...(c.message ? { message: c.message } : {}) } };
  return {
    name: c.name,
    image,
    state,
    lastState: c.lastState ? terminated(c.lastState) : {},
    ready: c.ready,
    started: c.started,
    restartCount: c.restartCount,
    ...(c.pid ? { pid: c.pid } : {}),
  };
}

export function statusView(info: PodInfo): PodStatusView {
  const plan = readPlan(info.dirs);
  const image = (name: string) => [...(plan?.initContainers ?? []), ...(plan?.containers ?? [])].find((c) => c.name === name)?.image ?? '';
  const cs = info.state?.containers ?? [];
  const apps = cs.filter((c) => !c.init || c.sidecar);
  const inits = cs.filter((c) => c.init && !c.sidecar);
  const initialized = inits.every((c) => c.state === 'terminated' && c.exitCode === 0);
  const ready = initialized && apps.length > 0 && apps.every((c) => c.ready);
  const cond = (type: PodCondition['type'], ok: boolean, reason: string): PodCondition => ({ type, status: ok ? 'True' : 'False', ...(ok ? {} : { reason }) });
  return {
    phase: podPhase(info),
    conditions: [
      cond('Initialized', initialized, 'ContainersNotInitialized'),
      cond('ContainersReady', ready, 'ContainersNotReady'),
      cond('Ready', ready, 'ContainersNotReady'),
    ],
    ...(info.host?.lost ? { reason: 'SupervisorLost' } : info.state?.reason ? { reason: info.state.reason } : {}),
    ...(info.state?.job ? { job: info.state.job } : {}),
    ...(info.host?.podIP ? { podIP: info.host.podIP } : {}),
    hostIP: (info.host?.network as { hostIP?: string } | undefined)?.hostIP,
    ...(info.state?.startedAt ? { startTime: info.state.startedAt } : {}),
    ...(plan?.cgroups ? { qosClass: plan.cgroups.qosClass } : {}),
    initContainerStatuses: cs.filter((c) => c.init).map((c) => containerView(c, image(c.name))),
    containerStatuses: cs.filter((c) => !c.init).map((c) => containerView(c, image(c.name))),
  };
}

/** The pod as a Kubernetes object: its manifest with metadata filled in, and its status. */
export function podObject(info: PodInfo): Record<string, unknown> {
  const manifest = readManifest(info.dirs);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...(manifest?.metadata ?? { name: info.name }),
      namespace: manifest?.metadata.namespace ?? info.host?.namespace ?? 'default',
      uid: info.host?.uid,
      creationTimestamp: info.host?.createdAt,
    },
    spec: { ...(manifest?.spec ?? {}), nodeName: os.hostname() },
    status: statusView(info),
    minipod: {
      runDir: info.dirs.run,
      libDir: info.dirs.lib,
      supervisorPid: info.host?.supervisor?.pid,
      pausePid: info.state?.pausePid ?? undefined,
      detached: info.host?.detached,
      manifest: info.host?.manifest,
      ...usageOf(info),
    },
  };
}

/** What a running pod has used so far, from its cgroups: CPU seconds and the memory working set. */
function usageOf(info: PodInfo): { usage?: object } {
  if (info.liveness !== 'running') return {};
  const plan = info.host?.cgroups ? undefined : readPlan(info.dirs);
  const u = podUsage(info.host?.cgroups ?? (plan && cgroupRefOf(plan)));
  if (!u) return {};
  const view = (x: { cpuNs: number; memoryWorkingSetBytes: number }) => ({ cpuSeconds: Math.round(x.cpuNs / 1e6) / 1000, memoryWorkingSetBytes: x.memoryWorkingSetBytes });
  return { usage: { ...view(u), containers: Object.fromEntries(u.containers.map((c) => [c.name, view(c)])) } };
}

/** STATUS as kubectl prints it: the most telling container reason, else the phase. */
export function statusText(info: PodInfo): string {
  const phase = podPhase(info);
  if (info.host?.lost) return 'Unknown';
  const cs = info.state?.containers ?? [];
  if (info.state?.stopping && phase !== 'Succeeded' && phase !== 'Failed') return 'Terminating';
  const inits = cs.filter((c) => c.init && !c.sidecar);
  const pending = inits.filter((c) => !(c.state === 'terminated' && c.exitCode === 0));
  if (pending.length && !info.state?.allStarted) {
    const c = pending[0];
    if (c.state === 'terminated') return `Init:${c.reason ?? 'Error'}`;
    if (c.state === 'waiting' && c.reason && c.reason !== 'PodInitializing') return `Init:${c.reason}`;
    return `Init:${inits.length - pending.length}/${inits.length}`;
  }
  let reason: string = phase;
  for (const c of cs.filter((x) => !x.init).reverse()) {
    if (c.state === 'waiting' && c.reason) reason = c.reason;
    else if (c.state === 'terminated') reason = c.reason ?? (c.signal ? `Signal:${c.signal}` : `ExitCode:${c.exitCode}`);
  }
  if (reason === phase && phase === 'Pending') return 'ContainerCreating';
  if (cs.some((c) => !c.init && c.state === 'running') && reason !== 'CrashLoopBackOff' && reason !== 'Error') return 'Running';
  return reason;
}

export function ageText(since: string | undefined, now = Date.now()): string {
  if (!since) return '<unknown>';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export interface PsRow {
  name: string;
  ready: string;
  status: string;
  restarts: string;
  age: string;
  ip: string;
  containers: string;
  supervisor: string;
  /** A Job's pod: succeeded/completions, as `kubectl get jobs` shows them. */
  completions?: string;
}

export function psRow(info: PodInfo): PsRow {
  const cs = (info.state?.containers ?? []).filter((c) => !c.init || c.sidecar);
  const ready = cs.filter((c) => c.ready).length;
  const restarts = cs.reduce((n, c) => n + c.restartCount, 0);
  return {
    name: info.name,
    ready: `${ready}/${cs.length || (readPlan(info.dirs)?.containers.length ?? 0)}`,
    status: statusText(info),
    restarts: String(restarts),
    age: ageText(info.host?.createdAt),
    ip: info.host?.podIP ?? '<none>',
    containers: cs.map((c) => c.name).join(','),
    supervisor: info.liveness === 'running' ? String(info.host?.supervisor?.pid ?? '') : '-',
    ...(info.state?.job ? { completions: `${info.state.job.succeeded}/${info.state.job.completions}` } : readPlan(info.dirs)?.job ? { completions: `0/${readPlan(info.dirs)!.job!.completions}` } : {}),
  };
}
