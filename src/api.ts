// minipod as a library, for integration tests that need a real pod:
//
//   import { runPod } from 'minipod';
//   const pod = await runPod('test/fixtures/web.yaml');   // or a Pod object
//   await pod.waitReady({ timeout: 10_000 });
//   const r = await pod.exec('web', ['wget', '-qO-', 'http://localhost:8080/']);
//   await pod.remove();
//
// A pod started here belongs to this process: when the process exits or dies, its
// supervisor notices (the control socket closes) and removes the pod — unless the pod was
// started with { outlive: true }. Needs root, like the CLI.

import { pullImage as storePull, type PullEvent } from './image/index.ts';

import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { cgroupRefOf, podUsage, rate } from './cgroups/stats.ts';

import { MinipodError } from './errors.ts';
import type { NativeBinding } from './native/binding.ts';
import { loadNative } from './native/load.ts';
import { removePod, stopPod } from './runtime/control.ts';
import { execInContainer, execPlan, exitCodeOf, pickContainer } from './runtime/exec.ts';
import { CriParser, logFile, logIndex } from './runtime/logs.ts';
import { podInfo, readPlan } from './runtime/pods.ts';
import { waitPodReady } from './runtime/ready.ts';
import { startPod } from './runtime/start.ts';
import { statusView, type PodStatusView } from './runtime/view.ts';
import { formatDiagnostic, parseManifestFile, parseManifestObject } from './spec/index.ts';
import type { ConfigMap, Pod, Secret } from './spec/types.ts';
import { podDirs, stateRoots, type StateRoots } from './state/paths.ts';

export type * from './spec/types.ts';
export type { PodStatusView, K8sContainerStatus, K8sContainerState } from './runtime/view.ts';

export interface RunPodOptions {
  /** State root (default: MINIPOD_ROOT, else /var/lib/minipod and /run/minipod). */
  root?: string;
  /** Keep the pod after this process exits (remove it with remove() or `minipod rm`). */
  outlive?: boolean;
  /** ConfigMaps and Secrets for the pod (a manifest file's own are used too). */
  configMaps?: ConfigMap[];
  secrets?: Secret[];
  /** Restart backoff base in ms (Kubernetes: 10 000). */
  backoffBaseMs?: number;
  /** Reject unsupported manifest fields instead of warning. */
  strict?: boolean;
  /** Where manifest warnings go (default: stderr). */
  onWarning?: (message: string) => void;
  /** Images whose container sets no imagePullPolicy: pull when missing (default), always, never. */
  pull?: 'missing' | 'always' | 'never';
  /** Each step of the image pulls: which image for which container, then the pull's own events. */
  onPull?: (event: PullEvent | { type: 'pulling'; ref: string; container: string }) => void;
  /** A registries.yaml for pulls (else MINIPOD_REGISTRIES_CONF, else /etc/minipod/registries.yaml). */
  registries?: string;
  /** The host bridge (default: MINIPOD_BRIDGE, else minipod0). */
  bridge?: string;
  /** The pod subnet of that bridge (default: MINIPOD_SUBNET, else 10.90.0.0/16). */
  subnet?: string;
  /** Masquerade the pod's traffic leaving the subnet (default: true). */
  masquerade?: boolean;
  /** The cgroup the pod's cgroup goes under (default /minipod, or MINIPOD_CGROUP_PARENT). */
  cgroupParent?: string;
  /** false: no cgroups (podman's --cgroups=disabled); refused for a pod with cpu or memory resources. */
  cgroups?: boolean;
  /** Namespaced sysctls outside Kubernetes' safe set the pod may set: names or "prefix.*". */
  allowUnsafeSysctls?: string[];
  /** RuntimeDefault seccomp for containers whose manifest does not say (the kubelet's --seccomp-default). */
  seccompDefault?: boolean;
}

/** Pulls an image from its registry into the store (as `minipod image pull`). */
export async function pullImage(
  ref: string,
  o: {
    root?: string;
    /** Each step: the manifest resolved, every layer's bytes and state, the image stored. */
    onProgress?: (event: PullEvent) => void;
    /** OS/ARCH[/VARIANT] instead of this host's. */
    platform?: string;
    /** A registries.yaml path (else MINIPOD_REGISTRIES_CONF, else /etc/minipod/registries.yaml). */
    registries?: string;
  } = {},
): Promise<{ name: string; id: string; digest?: string }> {
  if (process.getuid?.() !== 0) throw new MinipodError('pullImage needs root (the image store is root\'s)', { code: 'EPERM' });
  const rec = await storePull(stateRoots(o.root ?? process.env.MINIPOD_ROOT), ref, { onProgress: o.onProgress, platform: o.platform, registries: o.registries });
  return { name: rec.name, id: rec.id, ...(rec.manifestDigest && { digest: rec.manifestDigest }) };
}

/** What a pod uses (PodHandle.stats): its own cgroup, and each container's. */
export interface PodStats {
  cpuMillicores: number;
  memoryWorkingSetBytes: number;
  containers: { name: string; cpuMillicores: number; memoryWorkingSetBytes: number }[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface PodHandle {
  readonly name: string;
  /** The pod's IP (undefined when it has none). */
  readonly ip: string | undefined;
  /** Runs argv in a container (all of its namespaces, its user and env). */
  exec(container: string, argv: string[], opts?: { input?: string }): Promise<ExecResult>;
  /**
   * What the pod uses, from its cgroups, like `kubectl top pod --containers`: CPU in
   * millicores over windowMs (default 100), the memory working set in bytes.
   */
  stats(opts?: { windowMs?: number }): Promise<PodStats>;
  /** A container's output so far (previous: the run before the last restart). */
  logs(container: string, opts?: { previous?: boolean }): Promise<string>;
  /** Resolves when every container is ready; rejects when the pod fails or time runs out. */
  waitReady(opts?: { timeout?: number }): Promise<void>;
  status(): PodStatusView;
  /**
   * Graceful stop (stop signal, SIGKILL after the grace period: the pod's
   * terminationGracePeriodSeconds, or gracePeriodSeconds); status and logs stay.
   */
  stop(opts?: { gracePeriodSeconds?: number }): Promise<void>;
  /** Stops if needed and removes everything of the pod; force: SIGKILL at once, no grace (rm -f). */
  remove(opts?: { force?: boolean; gracePeriodSeconds?: number }): Promise<void>;
}

function readAll(native: NativeBinding, fd: number): Promise<string> {
  return new Promise((resolve) => {
    const s = new net.Socket({ fd, readable: true, writable: false });
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.on('error', () => resolve(out));
    s.on('close', () => resolve(out));
    void native;
  });
}

class Handle implements PodHandle {
  private removed = false;
  constructor(
    private native: NativeBinding,
    private roots: StateRoots,
    readonly name: string,
    readonly ip: string | undefined,
  ) {}

  private info() {
    if (this.removed) throw new MinipodError(`pod "${this.name}" was removed`);
    return podInfo(this.roots, this.name);
  }

  async exec(container: string, argv: string[], opts: { input?: string } = {}): Promise<ExecResult> {
    const info = this.info();
    const { plan, status } = pickContainer(info, container, 'exec');
    const p = execPlan(info, plan, status, argv, false);
    const [outR, outW] = this.native.pipe();
    const [errR, errW] = this.native.pipe();
    const [inR, inW] = this.native.pipe(); // no input: closed at once, the command reads EOF
    let child;
    try {
      child = execInContainer(this.native, info, plan.name, p, { tty: false, stdio: [inR, outW, errW] });
    } catch (e) {
      for (const fd of [outR, errR, inW]) this.native.close(fd);
      throw e;
    } finally {
      for (const fd of [outW, errW, inR]) this.native.close(fd);
    }
    const w = new net.Socket({ fd: inW, readable: false, writable: true });
    w.on('error', () => undefined);
    w.end(opts.input ?? '');
    const [stdout, stderr, e] = await Promise.all([readAll(this.native, outR), readAll(this.native, errR), child.exit]);
    return { exitCode: exitCodeOf(e), stdout, stderr };
  }

  async stats(opts: { windowMs?: number } = {}): Promise<PodStats> {
    // Where the cgroups are: the host record says (the plan, larger, for an older pod).
    const info = this.info();
    const plan = info.host?.cgroups ? undefined : readPlan(info.dirs);
    const ref = info.host?.cgroups ?? (plan && cgroupRefOf(plan));
    const a = podUsage(ref);
    if (!a) throw new MinipodError(`pod "${this.name}" has no cgroups to read (it is not running)`, { code: 'ESRCH' });
    const t0 = performance.now();
    await sleep(opts.windowMs ?? 100);
    const b = podUsage(ref);
    const ms = performance.now() - t0;
    if (!b) throw new MinipodError(`pod "${this.name}" ended while it was measured`, { code: 'ESRCH' });
    return {
      ...rate(a, b, ms),
      containers: b.containers.flatMap((c) => {
        const before = a.containers.find((x) => x.name === c.name);
        return before ? [{ name: c.name, ...rate(before, c, ms) }] : [];
      }),
    };
  }

  async logs(container: string, opts: { previous?: boolean } = {}): Promise<string> {
    const info = this.info();
    const { plan, status } = pickContainer(info, container, 'logs');
    const file = logFile(info.dirs, plan.name, logIndex(status, !!opts.previous, plan.name));
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    return new CriParser()
      .push(text)
      .map((l) => `${l.text}\n`)
      .join('');
  }

  async waitReady(opts: { timeout?: number } = {}): Promise<void> {
    await waitPodReady(this.roots, this.name, opts.timeout);
  }

  status(): PodStatusView {
    return statusView(this.info());
  }

  async stop(opts: { gracePeriodSeconds?: number } = {}): Promise<void> {
    await stopPod(this.native, this.info(), opts.gracePeriodSeconds);
  }

  async remove(opts: { force?: boolean; gracePeriodSeconds?: number } = {}): Promise<void> {
    if (this.removed) return;
    await removePod(this.native, this.roots, podInfo(this.roots, this.name), opts.force === true, opts.gracePeriodSeconds);
    this.removed = true;
    owned.delete(this);
  }

  /** At exit, files of a pod that was stopped but not removed (its host side is already undone). */
  forgetAtExit(): void {
    owned.add(this);
    if (owned.size === 1 && !exitHooked) {
      exitHooked = true;
      process.once('exit', forgetOwned); // one listener for every pod, however many
    }
  }

  /** Called at exit for a pod that is still ours. */
  forget(): void {
    if (this.removed) return;
    const info = podInfo(this.roots, this.name);
    if (info.liveness === 'running' || info.liveness === 'creating') return; // its supervisor removes it
    const dirs = podDirs(this.roots, this.name);
    rmSync(dirs.run, { recursive: true, force: true });
    rmSync(dirs.lib, { recursive: true, force: true });
  }
}

/** Pods started through the API by this process and not removed yet. */
const owned = new Set<Handle>();
let exitHooked = false;

function forgetOwned(): void {
  for (const h of owned) h.forget();
}

function loadPod(manifest: Pod | string, o: RunPodOptions): { pod: Pod; configMaps: ConfigMap[]; secrets: Secret[]; file?: string } {
  // An object is validated like a file (its JSON form stands in for positions).
  const parsed = typeof manifest === 'string' ? parseManifestFile(manifest, { strict: o.strict }) : parseManifestObject(manifest, { strict: o.strict });
  for (const w of parsed.warnings) (o.onWarning ?? ((m) => process.stderr.write(`${m}\n`)))(formatDiagnostic(w));
  const label = typeof manifest === 'string' ? manifest : 'manifest object';
  if (parsed.pods.length !== 1) throw new MinipodError(`${label}: expected exactly one Pod, found ${parsed.pods.length}`);
  return {
    pod: parsed.pods[0].value,
    configMaps: [...parsed.configMaps.map((c) => c.value), ...(o.configMaps ?? [])],
    secrets: [...parsed.secrets.map((s) => s.value), ...(o.secrets ?? [])],
    file: typeof manifest === 'string' ? manifest : undefined,
  };
}

/** Starts a pod (a Pod object or a manifest file) and returns once every container started. */
export async function runPod(manifest: Pod | string, o: RunPodOptions = {}): Promise<PodHandle> {
  if (process.getuid?.() !== 0) throw new MinipodError('runPod needs root (namespaces, mounts and the network are root\'s)', { code: 'EPERM' });
  const { pod, configMaps, secrets, file } = loadPod(manifest, o);
  const roots = stateRoots(o.root ?? process.env.MINIPOD_ROOT);
  const native = loadNative();
  const started = await startPod(pod, {
    native,
    roots,
    mode: o.outlive ? 'detached' : 'owned',
    manifest: file,
    configMaps,
    secrets,
    backoffInitialMs: o.backoffBaseMs,
    pull: o.pull,
    onPull: o.onPull,
    registries: o.registries,
    network: { bridge: o.bridge, subnet: o.subnet, masquerade: o.masquerade },
    cgroupParent: o.cgroupParent,
    cgroups: o.cgroups,
    allowUnsafeSysctls: o.allowUnsafeSysctls,
    seccompDefault: o.seccompDefault,
  });
  if (o.outlive) await started.link.detach();
  else started.link.keepUnref();
  const h = new Handle(native, roots, started.name, started.facts.podIP);
  if (!o.outlive) h.forgetAtExit();
  return h;
}
