// `minipod describe POD` in kubectl's layout: the pod, each container (State, Last State,
// Ready, Restart Count, image and its digest), Conditions, Volumes, QoS Class, and Events.
// Pure formatting of what pods.ts reads; the image digests come from the caller.

import os from 'node:os';

import type { Container, Pod, Volume } from '../spec/types.ts';
import type { ContainerStatus, Termination } from '../state/status.ts';
import { countEvents, eventAge, type PodEvent } from './events.ts';
import type { PodInfo } from './pods.ts';
import { statusView } from './view.ts';

/** kubectl's time format: Wed, 02 Dec 2026 04:13:00 +0000. */
function when(iso: string | null | undefined): string {
  if (!iso) return '<unknown>';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toUTCString().replace('GMT', '+0000');
}

function kv(map: Record<string, string> | undefined, indent: string): string {
  const e = Object.entries(map ?? {});
  if (!e.length) return '<none>';
  return e.map(([k, v], i) => `${i ? indent : ''}${k}=${v}`).join('\n');
}

function stateLines(st: ContainerStatus | undefined, pad: (s: string) => string): string[] {
  const out: string[] = [];
  const term = (key: string, t: Termination) => {
    out.push(pad(key) + 'Terminated');
    if (t.reason) out.push(pad('  Reason:') + t.reason);
    if (t.message) out.push(pad('  Message:') + t.message);
    out.push(pad('  Exit Code:') + String(t.exitCode));
    if (t.signal) out.push(pad('  Signal:') + String(t.signal));
    out.push(pad('  Started:') + when(t.startedAt), pad('  Finished:') + when(t.finishedAt));
  };
  if (st?.state === 'running') out.push(pad('State:') + 'Running', pad('  Started:') + when(st.startedAt));
  else if (st?.state === 'terminated') term('State:', { exitCode: st.exitCode ?? 0, signal: st.signal, reason: st.reason, message: st.message, startedAt: st.startedAt, finishedAt: st.finishedAt } as Termination);
  else {
    out.push(pad('State:') + 'Waiting', pad('  Reason:') + (st?.reason ?? 'PodInitializing'));
    if (st?.message) out.push(pad('  Message:') + st.message);
  }
  if (st?.lastState) term('Last State:', st.lastState);
  else out.push(pad('Last State:') + '<none>');
  return out;
}

function containerBlock(c: Container, st: ContainerStatus | undefined, imageId: string | undefined, pidOf: (n: string) => number | undefined): string[] {
  const pad = (k: string) => `    ${k.padEnd(16)}`;
  const out = [`  ${c.name}:`];
  const pid = pidOf(c.name);
  if (pid) out.push(pad('Container ID:') + `minipod://${c.name} (pid ${pid})`);
  out.push(pad('Image:') + c.image, pad('Image ID:') + (imageId ?? ''));
  const ports = c.ports ?? [];
  out.push(pad(ports.length > 1 ? 'Ports:' : 'Port:') + (ports.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ') || '<none>'));
  out.push(pad(ports.length > 1 ? 'Host Ports:' : 'Host Port:') + (ports.map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', ') || '<none>'));
  if (c.command?.length) out.push('    Command:', ...c.command.map((a) => `      ${a}`));
  if (c.args?.length) out.push('    Args:', ...c.args.map((a) => `      ${a}`));
  out.push(...stateLines(st, pad));
  out.push(pad('Ready:') + (st?.ready ? 'True' : 'False'), pad('Restart Count:') + String(st?.restartCount ?? 0));
  for (const k of ['limits', 'requests'] as const) {
    const r = c.resources?.[k];
    if (r && Object.keys(r).length) out.push(`    ${k === 'limits' ? 'Limits' : 'Requests'}:`, ...Object.entries(r).map(([n, v]) => `      ${n}:  ${v}`));
  }
  for (const [k, label] of [['livenessProbe', 'Liveness'], ['readinessProbe', 'Readiness'], ['startupProbe', 'Startup']] as const) {
    const p = c[k];
    if (!p) continue;
    const how = p.exec ? `exec [${p.exec.command.join(' ')}]` : p.httpGet ? `http-get http://:${p.httpGet.port}${p.httpGet.path ?? '/'}` : p.tcpSocket ? `tcp-socket :${p.tcpSocket.port}` : 'grpc';
    out.push(pad(`${label}:`) + `${how} delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds ?? 1}s period=${p.periodSeconds ?? 10}s #success=${p.successThreshold ?? 1} #failure=${p.failureThreshold ?? 3}`);
  }
  const env = c.env ?? [];
  out.push(`    Environment:${env.length ? '' : '  <none>'}`, ...env.map((e) => `      ${e.name}:  ${e.value ?? (e.valueFrom ? '(from a reference)' : '')}`));
  const mounts = c.volumeMounts ?? [];
  out.push(`    Mounts:${mounts.length ? '' : '  <none>'}`, ...mounts.map((m) => `      ${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'}${m.subPath ? `,path="${m.subPath}"` : ''})`));
  return out;
}

function volumeLines(v: Volume): string[] {
  const pad = (k: string) => `    ${k.padEnd(11)}`;
  const out = [`  ${v.name}:`];
  if (v.emptyDir) out.push(pad('Type:') + "EmptyDir (a temporary directory that shares a pod's lifetime)", pad('Medium:') + (v.emptyDir.medium ?? ''), pad('SizeLimit:') + (v.emptyDir.sizeLimit ?? '<unset>'));
  else if (v.hostPath) out.push(pad('Type:') + 'HostPath (bare host directory volume)', pad('Path:') + v.hostPath.path, pad('HostPathType:') + (v.hostPath.type ?? ''));
  else if (v.configMap) out.push(pad('Type:') + 'ConfigMap (a volume populated by a ConfigMap)', pad('Name:') + v.configMap.name, pad('Optional:') + String(v.configMap.optional ?? false));
  else if (v.secret) out.push(pad('Type:') + 'Secret (a volume populated by a Secret)', pad('SecretName:') + v.secret.secretName, pad('Optional:') + String(v.secret.optional ?? false));
  else if (v.persistentVolumeClaim) out.push(pad('Type:') + 'PersistentVolumeClaim (a named local volume, minipod volume)', pad('ClaimName:') + v.persistentVolumeClaim.claimName, pad('ReadOnly:') + String(v.persistentVolumeClaim.readOnly ?? false));
  else if (v.projected) out.push(pad('Type:') + 'Projected (a volume that contains injected data from multiple sources)');
  else if (v.downwardAPI) out.push(pad('Type:') + 'DownwardAPI (a volume populated by information about the pod)');
  return out;
}

export interface DescribeInput {
  info: PodInfo;
  manifest: Pod | undefined;
  events: PodEvent[];
  /** The digest (or id) of each container's image, by container name. */
  imageIds: Map<string, string>;
  now?: number;
}

export function describePod({ info, manifest, events, imageIds, now = Date.now() }: DescribeInput): string {
  const view = statusView(info);
  const pad = (k: string) => k.padEnd(18);
  const meta = manifest?.metadata ?? { name: info.name };
  const owner = meta.ownerReferences?.find((o) => o.controller) ?? meta.ownerReferences?.[0];
  const lines = [
    pad('Name:') + info.name,
    pad('Namespace:') + (meta.namespace ?? info.host?.namespace ?? 'default'),
    pad('Node:') + `${os.hostname()}${view.hostIP ? `/${view.hostIP}` : ''}`,
    pad('Start Time:') + when(view.startTime ?? info.host?.createdAt),
    pad('Labels:') + kv(meta.labels, ' '.repeat(18)),
    pad('Annotations:') + kv(meta.annotations, ' '.repeat(18)),
    pad('Status:') + (view.phase === 'Running' || view.phase === 'Pending' ? view.phase : `${view.phase}${view.reason ? ` (${view.reason})` : ''}`),
    ...(view.reason && (view.phase === 'Running' || view.phase === 'Pending') ? [pad('Reason:') + view.reason] : []),
    pad('IP:') + (view.podIP ?? ''),
    ...(view.podIP ? ['IPs:', `  IP:  ${view.podIP}`] : []),
    ...(owner ? [pad('Controlled By:') + `${owner.kind}/${owner.name}`] : []),
    ...(view.job ? [pad('Completions:') + `${view.job.succeeded}/${view.job.completions} (failed ${view.job.failed}, backoffLimit ${view.job.backoffLimit})`] : []),
  ];
  const statuses = info.state?.containers ?? [];
  const pidOf = (n: string) => statuses.find((s) => s.name === n && s.state === 'running')?.pid ?? undefined;
  const block = (title: string, list: Container[]) => {
    if (!list.length) return;
    lines.push(`${title}:`);
    for (const c of list) lines.push(...containerBlock(c, statuses.find((s) => s.name === c.name), imageIds.get(c.name), pidOf));
  };
  block('Init Containers', manifest?.spec.initContainers ?? []);
  block('Containers', manifest?.spec.containers ?? []);
  lines.push('Conditions:', '  Type              Status');
  for (const c of [...view.conditions, { type: 'PodScheduled', status: 'True' }]) lines.push(`  ${c.type.padEnd(18)}${c.status}`);
  const vols = manifest?.spec.volumes ?? [];
  lines.push(`Volumes:${vols.length ? '' : '                     <none>'}`);
  for (const v of vols) lines.push(...volumeLines(v));
  lines.push(`QoS Class:                   ${view.qosClass ?? 'BestEffort'}`, `Node-Selectors:              ${kv(manifest?.spec.nodeSelector, ' '.repeat(29))}`, 'Tolerations:                 <none>');
  const counted = countEvents(events);
  if (!counted.length) {
    lines.push('Events:                      <none>');
  } else {
    lines.push('Events:');
    const rows = counted.map((e) => [e.type, e.reason, eventAge(e, now), e.from ?? 'supervisor', e.message]);
    const head = ['Type', 'Reason', 'Age', 'From', 'Message'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]))).join('  ')}`;
    lines.push(line(head), line(head.map((h) => '-'.repeat(h.length))), ...rows.map(line));
  }
  return lines.join('\n') + '\n';
}
