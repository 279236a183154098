// minipod describe POD... ; minipod events [-w] [POD]

import { watch } from 'node:fs';

import { resolveImage } from '../image/store.ts';
import { lazyNative } from '../native/load.ts';
import { describePod } from '../runtime/describe.ts';
import { eventObject, eventsFile, readEvents, shortAge, type PodEvent } from '../runtime/events.ts';
import { findPod, podNames, podInfo, readManifest } from '../runtime/pods.ts';
import type { StateRoots } from '../state/paths.ts';
import { help, parse, report, rootsFrom, table, UsageError, type Verb } from './common.ts';

const describeUsage = `
Usage: minipod describe [options] POD...

Shows a pod as \`kubectl describe pod\` does: the pod, each container (State, Last State,
Ready, Restart Count, image and its digest, probes, mounts), Conditions, Volumes, QoS Class,
and Events (Scheduled, Pulling, Pulled, Created, Started, Killing, BackOff, Unhealthy,
Failed, ... with their count and age), which the supervisor records as they happen.

Options:
      --root DIR        state root
  -h, --help            this help
`;

function imageIds(roots: StateRoots, images: { name: string; image: string }[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of images) {
    try {
      const rec = resolveImage(roots, c.image);
      if (rec) out.set(c.name, rec.manifestDigest ? `${rec.name.split(':')[0]}@${rec.manifestDigest}` : rec.configDigest ?? rec.id);
    } catch {
      // an image removed since: no digest to show
    }
  }
  return out;
}

export const describe: Verb = {
  name: 'describe',
  summary: 'show a pod, its containers and its events, as kubectl describe',
  usage: describeUsage,
  async main(argv) {
    const { values, positionals } = parse(argv, {});
    if (values.help) return help(this);
    if (!positionals.length) throw new UsageError('describe needs at least one pod name');
    const roots = rootsFrom(values);
    let rc = 0;
    const parts: string[] = [];
    for (const name of positionals) {
      try {
        const info = await findPod(lazyNative(), roots, name);
        const manifest = readManifest(info.dirs);
        const all = [...(manifest?.spec.initContainers ?? []), ...(manifest?.spec.containers ?? [])];
        parts.push(describePod({ info, manifest, events: readEvents(info.dirs), imageIds: imageIds(roots, all) }));
      } catch (e) {
        rc = report(e);
      }
    }
    process.stdout.write(parts.join('\n'));
    return rc;
  },
};

const eventsUsage = `
Usage: minipod events [options] [POD]

Lists the events of every pod (or of POD), oldest first, as \`kubectl get events\`:
LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.

Options:
  -w, --watch           after the list, print new events as they happen (until Ctrl-C)
      --root DIR        state root
  -h, --help            this help
`;

function eventRow(pod: string, e: PodEvent): string[] {
  return [shortAge(e.time), e.type, e.reason, eventObject(e, pod), e.message];
}

export const events: Verb = {
  name: 'events',
  summary: 'list the events of pods (-w: follow them)',
  usage: eventsUsage,
  async main(argv) {
    const { values, positionals } = parse(argv, { watch: { type: 'boolean', short: 'w' } });
    if (values.help) return help(this);
    if (positionals.length > 1) throw new UsageError('events takes at most one pod name');
    const roots = rootsFrom(values);
    if (positionals[0]) await findPod(lazyNative(), roots, positionals[0]); // a clear "not found"
    const names = () => (positionals[0] ? [positionals[0]] : podNames(roots));
    const seen = new Map<string, number>();
    const rows: [string, string, string[]][] = [];
    for (const n of names()) {
      const list = readEvents(podInfo(roots, n).dirs);
      seen.set(n, list.length);
      for (const e of list) rows.push([e.time, n, eventRow(n, e)]);
    }
    rows.sort((a, b) => a[0].localeCompare(b[0]));
    const headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'];
    if (rows.length) process.stdout.write(table(headers, rows.map((r) => r[2])));
    else if (!values.watch) process.stderr.write('No events found.\n');
    if (!values.watch) return 0;
    // Follow: look again whenever a pods' directory changes, and every 500 ms.
    const poll = () => {
      for (const n of names()) {
        const list = readEvents(podInfo(roots, n).dirs);
        for (const e of list.slice(seen.get(n) ?? 0)) process.stdout.write(eventRow(n, e).join('   ') + '\n');
        seen.set(n, list.length);
      }
    };
    const watchers = names().map((n) => {
      try {
        return watch(eventsFile(podInfo(roots, n).dirs), poll);
      } catch {
        return undefined;
      }
    });
    const timer = setInterval(poll, 500);
    await new Promise<void>((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve());
    });
    clearInterval(timer);
    for (const w of watchers) w?.close();
    return 0;
  },
};
