// Probes and lifecycle hooks of one container, as plain data for the supervisor.
//
// Kubernetes semantics, with every default filled in so the supervisor holds no policy of its
// own: named ports are resolved against the container's ports, an exec handler becomes a
// complete ProcessPlan that joins the running container's namespaces (the way `minipod exec`
// enters a container), and anything the supervisor could not carry out is refused here as a
// FieldError instead of failing at runtime.

import { isIP } from 'node:net';

import { FieldError } from '../errors.ts';
import type { Container, HTTPGetAction, LifecycleHandler, Probe, TCPSocketAction } from '../spec/types.ts';
import type { ContainerPlan, ProcessPlan } from './types.ts';

/**
 * One action of a probe or hook. `host: null` means the pod's IP, which the supervisor reads
 * from the pod's network namespace when the action runs (127.0.0.1 there when it has none);
 * sockets are always opened inside the pod's network namespace.
 */
export type HandlerPlan =
  /** Runs `process` (it joins the container's namespaces); exit 0 = success. */
  | { kind: 'exec'; process: ProcessPlan }
  /** GET http://host:port/path; 200 <= status < 400 = success. */
  | { kind: 'httpGet'; host: string | null; port: number; path: string; headers: { name: string; value: string }[] }
  /** A TCP connection that opens = success. */
  | { kind: 'tcpSocket'; host: string | null; port: number }
  /** Hooks only: wait. */
  | { kind: 'sleep'; seconds: number };

export interface ProbePlan {
  handler: HandlerPlan;
  initialDelaySeconds: number;
  periodSeconds: number;
  /** A run that takes longer fails (an exec handler is killed). */
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  /** Grace period of the kill that a failed liveness or startup probe causes; null: the pod's. */
  terminationGracePeriodSeconds: number | null;
}

/** Absent keys: the container has no such probe. */
export interface ProbesPlan {
  liveness?: ProbePlan;
  readiness?: ProbePlan;
  /** Holds liveness and readiness back until it has succeeded once. */
  startup?: ProbePlan;
}

export interface HooksPlan {
  /** Runs right after the container starts; failure kills it (reason FailedPostStartHook). */
  postStart?: HandlerPlan;
  /** Runs before the stop signal; the grace period counts from its start. */
  preStop?: HandlerPlan;
}

export const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } as const;

const SIGNALS = new Set([
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1', 'SIGSEGV', 'SIGUSR2',
  'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU',
  'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
]);

/** A port given as a number, a numeric string or the name of one of the container's ports. */
export function resolvePort(c: Container, port: number | string | undefined, field: string): number {
  if (port === undefined || port === '') throw new FieldError(field, 'a port is required');
  let n: number | undefined;
  if (typeof port === 'number') n = port;
  else {
    const named = (c.ports ?? []).find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^\d+$/.test(port)) n = Number(port);
    else {
      const names = (c.ports ?? []).map((p) => p.name).filter(Boolean);
      throw new FieldError(field, `no containerPort is named "${port}"${names.length ? ` (named ports: ${names.join(', ')})` : ''}`);
    }
  }
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new FieldError(field, `port ${JSON.stringify(port)} is not between 1 and 65535`);
  return n;
}

/** An IP address literal; "localhost" is 127.0.0.1 (the supervisor resolves no names). */
function hostOf(host: string | undefined, field: string): string | null {
  if (host === undefined || host === '') return null;
  if (host === 'localhost') return '127.0.0.1';
  if (!isIP(host)) throw new FieldError(field, `host "${host}" is not an IP address (minipod resolves no host names for probes)`);
  return host;
}

/**
 * The process of an exec handler: the command in the running container's ipc, uts, net, pid
 * and mount namespaces (so it sees the container's root, no pivot), with its user,
 * capabilities, environment and working directory. Like Kubernetes, the command is not
 * expanded ($(VAR) stays as written) and not run through a shell.
 */
export function execProcess(process: ProcessPlan, command: string[] | undefined, field: string): ProcessPlan {
  if (!Array.isArray(command) || !command.length || !command[0]) throw new FieldError(`${field}.command`, 'exec needs a command');
  for (const [i, a] of command.entries()) if (typeof a !== 'string') throw new FieldError(`${field}.command[${i}]`, 'must be a string');
  return {
    pod: process.pod,
    container: process.container,
    namespaces: (['ipc', 'uts', 'net', 'pid', 'mnt'] as const).map((type) => ({ type, action: 'join' as const, path: `@container:${process.container}/${type}` })),
    loopbackUp: false,
    mounts: [],
    user: process.user,
    capabilities: process.capabilities,
    noNewPrivileges: process.noNewPrivileges,
    cwd: process.cwd,
    argv: [...command],
    env: process.env,
    ...(process.seccomp ? { seccomp: process.seccomp } : {}),
  };
}

function httpGet(c: Container, h: HTTPGetAction, field: string): HandlerPlan {
  if (h.scheme !== undefined && h.scheme !== 'HTTP') {
    throw new FieldError(`${field}.scheme`, `scheme ${JSON.stringify(h.scheme)} is not supported (only HTTP: the supervisor speaks no TLS)`);
  }
  const path = h.path ?? '/';
  if (!path.startsWith('/') || /[\s\0]/.test(path)) throw new FieldError(`${field}.path`, `"${path}" must start with / and hold no whitespace`);
  const headers = (h.httpHeaders ?? []).map((x, i) => {
    const f = `${field}.httpHeaders[${i}]`;
    if (typeof x?.name !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(x.name)) throw new FieldError(`${f}.name`, 'is not a valid header name');
    if (typeof x.value !== 'string' || /[\r\n\0]/.test(x.value)) throw new FieldError(`${f}.value`, 'must be a string without line breaks');
    return { name: x.name, value: x.value };
  });
  return { kind: 'httpGet', host: hostOf(h.host, `${field}.host`), port: resolvePort(c, h.port, `${field}.port`), path, headers };
}

function tcpSocket(c: Container, h: TCPSocketAction, field: string): HandlerPlan {
  return { kind: 'tcpSocket', host: hostOf(h.host, `${field}.host`), port: resolvePort(c, h.port, `${field}.port`) };
}

type AnyHandler = Probe & LifecycleHandler;

/** Exactly one handler, as Kubernetes validates it. */
function handler(c: Container, process: ProcessPlan, h: AnyHandler, field: string, hook: boolean): HandlerPlan {
  const given = (['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const).filter((k) => h[k] !== undefined && h[k] !== null);
  if (given.length === 0) throw new FieldError(field, `must specify a handler type (${hook ? 'exec, httpGet or sleep' : 'exec, httpGet or tcpSocket'})`);
  if (given.length > 1) throw new FieldError(`${field}.${given[1]}`, `may not specify more than 1 handler type (has ${given.join(' and ')})`);
  const k = given[0];
  const f = `${field}.${k}`;
  switch (k) {
    case 'exec':
      return { kind: 'exec', process: execProcess(process, h.exec!.command, f) };
    case 'httpGet':
      return httpGet(c, h.httpGet!, f);
    case 'tcpSocket':
      if (hook) throw new FieldError(f, 'tcpSocket is not supported as a lifecycle handler (use exec, httpGet or sleep)');
      return tcpSocket(c, h.tcpSocket!, f);
    case 'sleep': {
      if (!hook) throw new FieldError(f, 'sleep is only a lifecycle handler');
      const s = h.sleep!.seconds;
      if (!Number.isInteger(s) || s < 0) throw new FieldError(`${f}.seconds`, 'must be a whole number of seconds, 0 or more');
      return { kind: 'sleep', seconds: s };
    }
    case 'grpc':
      throw new FieldError(f, 'grpc probes are not supported by minipod (use exec, httpGet or tcpSocket)');
  }
}

function count(p: Probe, key: keyof typeof PROBE_DEFAULTS, field: string, min: number): number {
  const v = p[key] ?? PROBE_DEFAULTS[key];
  if (!Number.isInteger(v) || v < min) throw new FieldError(`${field}.${key}`, `must be a whole number, ${min} or more`);
  return v;
}

export function probePlan(c: Container, process: ProcessPlan, p: Probe, field: string, kind: 'liveness' | 'readiness' | 'startup'): ProbePlan {
  if (typeof p !== 'object' || p === null) throw new FieldError(field, 'must be an object');
  const plan: ProbePlan = {
    handler: handler(c, process, p, field, false),
    initialDelaySeconds: count(p, 'initialDelaySeconds', field, 0),
    periodSeconds: count(p, 'periodSeconds', field, 1),
    timeoutSeconds: count(p, 'timeoutSeconds', field, 1),
    successThreshold: count(p, 'successThreshold', field, 1),
    failureThreshold: count(p, 'failureThreshold', field, 1),
    terminationGracePeriodSeconds: null,
  };
  if (kind !== 'readiness' && plan.successThreshold !== 1) throw new FieldError(`${field}.successThreshold`, `must be 1 for a ${kind} probe`);
  const g = p.terminationGracePeriodSeconds;
  if (g !== undefined && g !== null) {
    if (kind === 'readiness') throw new FieldError(`${field}.terminationGracePeriodSeconds`, 'is not allowed on a readiness probe');
    if (!Number.isInteger(g) || g < 1) throw new FieldError(`${field}.terminationGracePeriodSeconds`, 'must be a whole number, 1 or more');
    plan.terminationGracePeriodSeconds = g;
  }
  return plan;
}

/** A signal by name (SIGTERM, TERM) as the supervisor knows it; undefined when unknown. */
export function signalName(s: string): string | undefined {
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  return SIGNALS.has(name) ? name : undefined;
}

/**
 * The stop signal: lifecycle.stopSignal, else the image's StopSignal (imageSignal, already
 * checked), else SIGTERM — as the kubelet and containerd choose it.
 */
export function stopSignal(c: Container, field: string, imageSignal?: string): string {
  const s = c.lifecycle?.stopSignal;
  if (s === undefined) return imageSignal ?? 'SIGTERM';
  const name = typeof s === 'string' ? signalName(s) : undefined;
  if (!name) throw new FieldError(`${field}.lifecycle.stopSignal`, `unknown signal ${JSON.stringify(s)}`);
  return name;
}

/** The probes and hooks of a container whose process plan is `plan.process`. */
export function probesAndHooks(c: Container, process: ProcessPlan, field: string, init: boolean, sidecar: boolean): { probes?: ProbesPlan; hooks?: HooksPlan } {
  const probes: ProbesPlan = {};
  const hooks: HooksPlan = {};
  const kinds = [
    ['liveness', 'livenessProbe'],
    ['readiness', 'readinessProbe'],
    ['startup', 'startupProbe'],
  ] as const;
  for (const [kind, key] of kinds) {
    const p = c[key];
    if (p === undefined || p === null) continue;
    // An init container runs to completion: Kubernetes allows probes on sidecars only.
    if (init && !sidecar) throw new FieldError(`${field}.${key}`, 'may not be set for init containers without restartPolicy Always');
    probes[kind] = probePlan(c, process, p, `${field}.${key}`, kind);
  }
  for (const key of ['postStart', 'preStop'] as const) {
    const h = c.lifecycle?.[key];
    if (h === undefined || h === null) continue;
    if (init && !sidecar) throw new FieldError(`${field}.lifecycle`, 'may not be set for init containers without restartPolicy Always');
    if (typeof h !== 'object') throw new FieldError(`${field}.lifecycle.${key}`, 'must be an object');
    hooks[key] = handler(c, process, h as AnyHandler, `${field}.lifecycle.${key}`, true);
  }
  return {
    ...(Object.keys(probes).length ? { probes } : {}),
    ...(Object.keys(hooks).length ? { hooks } : {}),
  };
}

/** Adds probes, hooks and the stop signal to a container's plan (containerPlan's last step). */
export function withProbes(plan: ContainerPlan, c: Container, field: string, init: boolean, imageSignal?: string): ContainerPlan {
  return { ...plan, stopSignal: stopSignal(c, field, imageSignal), ...probesAndHooks(c, plan.process, field, init, plan.sidecar) };
}
