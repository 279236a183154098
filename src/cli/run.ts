// minipod run [-d [--wait [--timeout S]]] [--replace] [--strict] [--configmap FILE]... [network options] FILE

import { existsSync } from 'node:fs';
import path from 'node:path';

import { startFailureExit } from '../errors.ts';
import { loadNative } from '../native/load.ts';
import { runForeground, runForegroundAll } from '../runtime/foreground.ts';
import { removePod } from '../runtime/control.ts';
import { findPod } from '../runtime/pods.ts';
import { createVolume } from '../volumes/named.ts';
import { waitPodReady } from '../runtime/ready.ts';
import type { PullMode } from '../runtime/images.ts';
import { preflightPod, startPod } from '../runtime/start.ts';
import { podDirs, type PodDirs } from '../state/paths.ts';
import { readState, type StartFailure } from '../state/status.ts';
import { pullRenderer } from './progress.ts';
import { help, parse, report, requireRoot, rootsFrom, UsageError, type Verb } from './common.ts';
import { locate, streamPods } from './manifest.ts';
import { loadWithObjects, PLAN_OPTIONS, PLAN_OPTIONS_HELP, planOptions } from './run-options.ts';

const usage = `
Usage: minipod run [options] FILE

Runs every Pod in FILE ("-" reads stdin), as kubectl apply -f and podman kube play do: pause
holds each pod's network, IPC and UTS namespaces; every container joins them with its own
mount namespace over its image. Deployments and ReplicaSets become their replicas, a
DaemonSet one pod, a Job its pods (completions, parallelism, backoffLimit,
activeDeadlineSeconds), each from its template, once: nothing reconciles them later.
ConfigMaps and Secrets in FILE are what its pods read; a PersistentVolumeClaim creates the
named volume of its name when there is none (see minipod volume). Other kinds are named in
a warning and skipped. Every pod is checked (images pulled, plans made) before any starts.

In the foreground (default) container output is shown as "[container] line" ("[pod/container]"
with several pods); Ctrl-C stops the pods (stop signal, then SIGKILL after terminationGracePeriodSeconds; Ctrl-C again kills
at once) and removes everything of it. Exit status: 0 when every container ended with 0,
else the exit code of the first container that did not; 125 when minipod itself failed.

Options:
  -d, --detach          start the pod, return once every container has started; the pod
                        keeps running under its supervisor (see minipod ps / rm)
      --wait            with -d: also wait until every container is ready (readiness probes)
      --timeout SECONDS how long --wait waits (default 60), and how long run -d waits for
                        init containers (default: as long as they run); on timeout the pod
                        stays, exit 1
${PLAN_OPTIONS_HELP}
      --replace         remove pods of the same names first (podman's --replace)
      --pull POLICY     images whose container sets no imagePullPolicy: missing (pull when
                        not present; default), always, or never
      --registries-conf FILE  mirrors and plain-HTTP registries for those pulls
                        (default /etc/minipod/registries.yaml; env MINIPOD_REGISTRIES_CONF)
      --backoff-base MS restart backoff base in ms (Kubernetes: 10000)
      --root DIR        state root (default /var/lib/minipod and /run/minipod; env MINIPOD_ROOT)
  -h, --help            this help
`;

/** Containers whose last start failed (StartError), with the executor's record. */
function startFailures(dirs: PodDirs): { name: string; message: string; error: StartFailure }[] {
  const out: { name: string; message: string; error: StartFailure }[] = [];
  for (const c of readState(dirs)?.containers ?? []) {
    if (!c.error) continue;
    // Waiting to restart: the failure is its last state; the message now is the backoff's.
    const message = c.state === 'waiting' ? c.lastState?.message : c.message;
    out.push({ name: c.name, message: message ?? c.message ?? 'StartError', error: c.error });
  }
  return out;
}

export const run: Verb = {
  name: 'run',
  summary: 'run a pod from a manifest',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, {
      detach: { type: 'boolean', short: 'd' },
      pull: { type: 'string' },
      'registries-conf': { type: 'string' },
      'backoff-base': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      replace: { type: 'boolean' },
      ...PLAN_OPTIONS,
    });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('run needs exactly one manifest file (see minipod run --help)');
    const roots = rootsFrom(values);
    if (values.wait && !values.detach) throw new UsageError('--wait goes with -d (a foreground run already waits for the pod to end)');
    const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!(timeoutS > 0)) throw new UsageError(`--timeout: not a number of seconds: ${values.timeout}`);
    const { manifest, configMaps, secrets } = loadWithObjects(positionals[0], values);
    const pods = streamPods(manifest);
    requireRoot('minipod run');
    const base = values['backoff-base'] ?? process.env.MINIPOD_BACKOFF_BASE_MS;
    const backoffInitialMs = base === undefined ? undefined : Number(base);
    if (backoffInitialMs !== undefined && !(backoffInitialMs >= 0)) throw new UsageError(`--backoff-base: not a number of ms: ${base}`);
    const pull = values.pull ?? 'missing';
    if (pull !== 'missing' && pull !== 'always' && pull !== 'never') throw new UsageError(`--pull: missing, always or never, not "${pull}"`);
    const native = loadNative();
    const progress = pullRenderer(process.stderr, process.env, 'minipod: ');
    const opts = {
      native,
      roots,
      manifest: manifest.file === '-' ? undefined : path.resolve(manifest.file),
      backoffInitialMs,
      configMaps,
      secrets,
      pull: pull as PullMode,
      onPull: (e: Parameters<typeof progress.event>[0]) => progress.event(e),
      registries: values['registries-conf'],
      ...planOptions(values),
    };
    let current: (typeof pods)[number] | undefined;
    try {
      // Several pods: every one is checked before any starts, so a bad one leaves nothing.
      // (One pod: startPod makes the same checks before it touches the host.)
      for (const p of pods.length > 1 ? pods : []) {
        current = p;
        await preflightPod(p.value, { ...opts, ...(p.job ? { job: p.job } : {}) }, !!values.replace);
      }
      current = undefined;
      for (const c of manifest.claims) createVolume(roots, c.value.metadata.name, { ifMissing: true, claim: c.value.metadata.name, labels: c.value.metadata.labels });
      if (values.replace) {
        for (const p of pods) {
          if (!existsSync(podDirs(roots, p.value.metadata.name).run)) continue;
          await removePod(native, roots, await findPod(native, roots, p.value.metadata.name), true);
          process.stderr.write(`minipod: replaced pod "${p.value.metadata.name}"\n`);
        }
      }
      if (!values.detach) {
        if (pods.length === 1 && !pods[0].job) {
          current = pods[0];
          return await runForeground(pods[0].value, opts, (l) => process.stderr.write(`${l}\n`));
        }
        return await runForegroundAll(pods.map((p) => ({ pod: p.value, job: p.job })), opts, (l) => process.stderr.write(`${l}\n`));
      }
      let rc = 0;
      for (const p of pods) {
        current = p;
        const started = await startPod(p.value, {
          ...opts,
          mode: 'detached',
          ...(p.job ? { job: p.job } : {}),
          onWaiting: (l) => process.stderr.write(`minipod: ${pods.length > 1 ? `pod "${p.value.metadata.name}": ` : ''}${l}\n`),
          ...(values.timeout !== undefined ? { initTimeoutMs: timeoutS * 1000 } : {}),
        });
        await started.link.detach();
        // A container that could not be started at all: say so and fail, as `podman run -d`
        // does (127 for a command not found, 126 not runnable, else 125). The pod stays, as
        // its restartPolicy may retry; `minipod rm` removes it.
        const failed = startFailures(podDirs(roots, started.name));
        if (!failed.length && values.wait) await waitPodReady(roots, started.name, timeoutS * 1000);
        process.stdout.write(`${started.name}${started.facts.podIP ? ` ${started.facts.podIP}` : ''}\n`);
        for (const f of failed) process.stderr.write(`minipod: pod "${started.name}" container "${f.name}" failed to start: ${f.message}\n`);
        if (failed.length && !rc) rc = startFailureExit(failed[0].error);
      }
      return rc;
    } catch (e) {
      return report(locate(e, current));
    }
  },
};
