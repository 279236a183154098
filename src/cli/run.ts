// minipod run [-d [--wait [--timeout S]]] [--strict] [--configmap FILE]... [network options] POD.yaml

import { startFailureExit } from '../errors.ts';
import { loadNative } from '../native/load.ts';
import { runForeground } from '../runtime/foreground.ts';
import { waitPodReady } from '../runtime/ready.ts';
import type { PullMode } from '../runtime/images.ts';
import { startPod } from '../runtime/start.ts';
import { podDirs, type PodDirs } from '../state/paths.ts';
import { readState, type StartFailure } from '../state/status.ts';
import { pullRenderer } from './progress.ts';
import { help, parse, report, requireRoot, rootsFrom, UsageError, warn, type Verb } from './common.ts';
import { loadManifest, locate, onePod } from './manifest.ts';

const usage = `
Usage: minipod run [options] POD.yaml

Runs the Pod in POD.yaml ("-" reads stdin): pause holds the pod's network, IPC and UTS
namespaces; every container joins them with its own mount namespace over its image.

In the foreground (default) container output is shown as "[container] line"; Ctrl-C stops
the pod (stop signal, then SIGKILL after terminationGracePeriodSeconds; Ctrl-C again kills
at once) and removes everything of it. Exit status: 0 when every container ended with 0,
else the exit code of the first container that did not; 125 when minipod itself failed.

Options:
  -d, --detach          start the pod, return once every container has started; the pod
                        keeps running under its supervisor (see minipod ps / rm)
      --wait            with -d: also wait until every container is ready (readiness probes)
      --timeout SECONDS how long --wait waits (default 60), and how long run -d waits for
                        init containers (default: as long as they run); on timeout the pod
                        stays, exit 1
      --configmap FILE  ConfigMaps and Secrets the pod refers to (repeatable; the manifest's
                        own stream may carry them too); --secret is the same flag
      --bridge NAME     host bridge for the pod network (default minipod0; env MINIPOD_BRIDGE)
      --subnet CIDR     pod subnet of that bridge (default 10.90.0.0/16; env MINIPOD_SUBNET)
      --no-masquerade   do not masquerade the pod's traffic leaving the subnet
      --cgroup-parent PATH  the cgroup the pod's cgroup is made under (default /minipod;
                        env MINIPOD_CGROUP_PARENT)
      --allow-unsafe-sysctls PATTERNS  namespaced sysctls outside Kubernetes' safe set the
                        pod may set: names or "prefix.*", comma-separated (the kubelet's flag;
                        env MINIPOD_ALLOW_UNSAFE_SYSCTLS)
      --seccomp-default RuntimeDefault seccomp for containers whose manifest does not set a
                        seccompProfile (the kubelet's flag; env MINIPOD_SECCOMP_DEFAULT=1)
      --cgroups enabled|disabled  disabled: no cgroups, as podman's --cgroups=disabled
                        (refused for a pod with cpu or memory resources; env MINIPOD_CGROUPS)
      --pull POLICY     images whose container sets no imagePullPolicy: missing (pull when
                        not present; default), always, or never
      --registries-conf FILE  mirrors and plain-HTTP registries for those pulls
                        (default /etc/minipod/registries.yaml; env MINIPOD_REGISTRIES_CONF)
      --strict          treat "not supported yet" manifest fields as errors
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

function cgroupsOption(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'enabled' || v === 'disabled') return v === 'enabled';
  throw new UsageError(`--cgroups: enabled or disabled, not "${v}"`);
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
      strict: { type: 'boolean' },
      'backoff-base': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      configmap: { type: 'string', multiple: true },
      secret: { type: 'string', multiple: true },
      bridge: { type: 'string' },
      subnet: { type: 'string' },
      'no-masquerade': { type: 'boolean' },
      'cgroup-parent': { type: 'string' },
      cgroups: { type: 'string' },
      'allow-unsafe-sysctls': { type: 'string', multiple: true },
      'seccomp-default': { type: 'boolean' },
    });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('run needs exactly one manifest file (see minipod run --help)');
    const roots = rootsFrom(values);
    // The network reads these (so does the supervisor's teardown, which inherits them).

    if (values.wait && !values.detach) throw new UsageError('--wait goes with -d (a foreground run already waits for the pod to end)');
    const timeoutS = values.timeout === undefined ? 60 : Number(values.timeout);
    if (!(timeoutS > 0)) throw new UsageError(`--timeout: not a number of seconds: ${values.timeout}`);
    const manifest = loadManifest(positionals[0], !!values.strict, warn);
    const pod = onePod(manifest);
    const configMaps = manifest.configMaps.map((c) => c.value);
    const secrets = manifest.secrets.map((s) => s.value);
    for (const file of [...(values.configmap ?? []), ...(values.secret ?? [])]) {
      const extra = loadManifest(file, !!values.strict, warn);
      if (extra.pods.length) throw new UsageError(`--configmap ${file}: holds a Pod; give ConfigMaps and Secrets only`);
      configMaps.push(...extra.configMaps.map((c) => c.value));
      secrets.push(...extra.secrets.map((s) => s.value));
    }
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
      manifest: manifest.file === '-' ? undefined : manifest.file,
      backoffInitialMs,
      configMaps,
      secrets,
      pull: pull as PullMode,
      onPull: (e: Parameters<typeof progress.event>[0]) => progress.event(e),
      registries: values['registries-conf'],
      network: { bridge: values.bridge, subnet: values.subnet, ...(values['no-masquerade'] && { masquerade: false }) },
      cgroupParent: values['cgroup-parent'],
      cgroups: cgroupsOption(values.cgroups),
      allowUnsafeSysctls: values['allow-unsafe-sysctls']?.flatMap((v) => v.split(',')).filter(Boolean),
      ...(values['seccomp-default'] ? { seccompDefault: true } : {}),
    };
    try {
      if (!values.detach) return await runForeground(pod.value, opts, (l) => process.stderr.write(`${l}\n`));
      const started = await startPod(pod.value, {
        ...opts,
        mode: 'detached',
        onWaiting: (l) => process.stderr.write(`minipod: ${l}\n`),
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
      return failed.length ? startFailureExit(failed[0].error) : 0;
    } catch (e) {
      return report(locate(e, pod));
    }
  },
};
