// minipod run [-d] [--strict] POD.yaml

import { loadNative } from '../native/load.ts';
import { runForeground } from '../runtime/foreground.ts';
import { startPod } from '../runtime/start.ts';
import { help, loadManifest, locate, onePod, parse, report, requireRoot, rootsFrom, UsageError, warn, type Verb } from './common.ts';

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
      --strict          treat "not supported yet" manifest fields as errors
      --backoff-base MS restart backoff base in ms (Kubernetes: 10000)
      --root DIR        state root (default /var/lib/minipod and /run/minipod; env MINIPOD_ROOT)
  -h, --help            this help
`;

export const run: Verb = {
  name: 'run',
  summary: 'run a pod from a manifest',
  usage,
  async main(argv) {
    const { values, positionals } = parse(argv, {
      detach: { type: 'boolean', short: 'd' },
      strict: { type: 'boolean' },
      'backoff-base': { type: 'string' },
    });
    if (values.help) return help(this);
    if (positionals.length !== 1) throw new UsageError('run needs exactly one manifest file (see minipod run --help)');
    const roots = rootsFrom(values);
    const manifest = loadManifest(positionals[0], !!values.strict, warn);
    const pod = onePod(manifest);
    requireRoot('minipod run');
    const base = values['backoff-base'] ?? process.env.MINIPOD_BACKOFF_BASE_MS;
    const backoffInitialMs = base === undefined ? undefined : Number(base);
    if (backoffInitialMs !== undefined && !(backoffInitialMs >= 0)) throw new UsageError(`--backoff-base: not a number of ms: ${base}`);
    const native = loadNative();
    const opts = {
      native,
      roots,
      manifest: manifest.file === '-' ? undefined : manifest.file,
      backoffInitialMs,
      configMaps: manifest.configMaps.map((c) => c.value),
      secrets: manifest.secrets.map((s) => s.value),
    };
    try {
      if (!values.detach) return await runForeground(pod.value, opts, (l) => process.stderr.write(`${l}\n`));
      const started = await startPod(pod.value, { ...opts, mode: 'detached' });
      started.link.detach();
      process.stdout.write(`${started.name}${started.facts.podIP ? ` ${started.facts.podIP}` : ''}\n`);
      return 0;
    } catch (e) {
      return report(locate(e, pod));
    }
  },
};
