// The plan as text, one line per step, for people (`minipod plan`). `-o json` prints the
// exact plan instead.

import { describeHostOp } from './host-ops.ts';
import type { HandlerPlan, ProbePlan } from './probes.ts';
import type { ContainerPlan, MountOp, PodPlan, ProcessPlan } from './types.ts';

function mountLine(m: MountOp): string {
  switch (m.op) {
    case 'propagation':
      return `propagation ${m.mode} /`;
    case 'rootfs': {
      const flags = [...(m.readOnly ? ['ro'] : []), ...(m.flags ?? [])];
      const tail = `${m.target}${flags.length ? ` (${flags.join(',')})` : ''}`;
      if (m.kind === 'overlay') return `rootfs overlay lower=${m.lower.join(':')} upper=${m.upper} work=${m.work} -> ${tail}`;
      if (m.kind === 'tmpfs') return `rootfs tmpfs (empty, its own) -> ${tail}`;
      return `rootfs bind ${m.source} -> ${tail}`;
    }
    case 'mount': {
      const opts = Object.entries(m.options ?? {}).map(([k, v]) => (v === true ? k : `${k}=${v}`));
      return `mount ${m.fstype} -> ${m.dst} (${[...m.flags, ...opts].join(',')})`;
    }
    case 'bind': {
      const flags = [m.readOnly ? 'ro' : 'rw', ...(m.flags ?? []), ...(m.recursive ? ['rbind'] : []), ...(m.optional ? ['optional'] : [])];
      const src = m.sourceRoot ? `${m.sourceRoot} beneath: ${m.source}` : m.source;
      return `bind ${src} -> ${m.dst} (${[...flags, ...(m.idmap ? ['idmap'] : [])].join(',')})`;
    }
    case 'idmap':
      return `idmap ${m.path} (over itself, with the pod's user namespace, this mount namespace only)`;
    case 'mknod':
      return `mknod ${m.dst} ${m.kind} ${m.major}:${m.minor} mode ${m.mode.toString(8)}`;
    case 'symlink':
      return `symlink ${m.dst} -> ${m.target}`;
    case 'mkdir':
      return `mkdir ${m.dst} mode ${m.mode.toString(8)}`;
    case 'mask':
      return `mask ${m.dst}`;
    case 'readonly':
      return `readonly ${m.dst}`;
    case 'pivot':
      return 'pivot_root into the rootfs, detach the old root';
    case 'chroot':
      return "chroot into a detached clone of the tree, back in the spawner's mount namespace";
  }
}

function processLines(p: ProcessPlan, indent: string): string[] {
  const out: string[] = [];
  if (p.cgroups?.length) out.push(`${indent}cgroups: ${p.cgroups.join(' ')}`);
  if (p.oomScoreAdj !== undefined) out.push(`${indent}oom_score_adj: ${p.oomScoreAdj}`);
  if (p.seccomp) out.push(`${indent}seccomp: ${p.seccomp.profile} (default ${p.seccomp.defaultAction.action === 'errno' ? `errno ${p.seccomp.defaultAction.errno}` : p.seccomp.defaultAction.action}, ${p.seccomp.rules.length} rules)`);
  out.push(`${indent}namespaces: ${p.namespaces.map((n) => (n.action === 'join' ? `join ${n.type} ${n.path}` : `create ${n.type}`) + (n.after ? ' (after the mounts)' : '')).join(', ') || '(the host\'s)'}`);
  if (p.hostname) out.push(`${indent}hostname: ${p.hostname}`);
  if (p.loopbackUp) out.push(`${indent}loopback: up`);
  if (p.mounts.length) {
    out.push(`${indent}mounts:`);
    p.mounts.forEach((m, i) => out.push(`${indent}  ${String(i).padStart(2)} ${mountLine(m)}`));
  }
  out.push(`${indent}user: uid ${p.user.uid} gid ${p.user.gid} groups [${p.user.groups.join(', ')}]`);
  out.push(`${indent}capabilities: ${p.capabilities === null ? 'all (privileged)' : p.capabilities.join(' ') || 'none'}`);
  if (p.noNewPrivileges) out.push(`${indent}no_new_privs: yes`);
  out.push(`${indent}cwd: ${p.cwd}`);
  if (p.startHooks?.length) out.push(`${indent}startContainer hooks (in the container, before execve): ${p.startHooks.map((h) => h.path).join(' ')}`);
  out.push(`${indent}env: ${p.env.length ? '' : '(empty)'}`);
  for (const e of p.env) out.push(`${indent}  ${e}`);
  out.push(`${indent}argv: ${JSON.stringify(p.argv)}`);
  return out;
}

function handlerLine(h: HandlerPlan): string {
  switch (h.kind) {
    case 'exec':
      return `exec ${JSON.stringify(h.process.argv)} in the container`;
    case 'httpGet': {
      const host = h.host === null ? '<pod IP>' : h.host.includes(':') ? `[${h.host}]` : h.host;
      return `httpGet http://${host}:${h.port}${h.path}${h.headers.map((x) => ` (${x.name}: ${x.value})`).join('')}`;
    }
    case 'tcpSocket':
      return `tcpSocket ${h.host ?? '<pod IP>'}:${h.port}`;
    case 'sleep':
      return `sleep ${h.seconds}s`;
  }
}

function probeLine(kind: string, p: ProbePlan): string {
  const grace = p.terminationGracePeriodSeconds === null ? '' : `, kill grace ${p.terminationGracePeriodSeconds}s`;
  return `  ${kind} probe: ${handlerLine(p.handler)} every ${p.periodSeconds}s, timeout ${p.timeoutSeconds}s, initial delay ${p.initialDelaySeconds}s, success ${p.successThreshold}, failure ${p.failureThreshold}${grace}`;
}

function containerLines(c: ContainerPlan, kind: string): string[] {
  const tags = [`image ${c.image}`, `restartPolicy ${c.restartPolicy}`, ...(c.sidecar ? ['sidecar'] : []), ...(c.stopSignal !== 'SIGTERM' ? [`stop signal ${c.stopSignal}`] : [])];
  const checks: string[] = [];
  if (c.hooks?.postStart) checks.push(`  postStart hook: ${handlerLine(c.hooks.postStart)}`);
  if (c.probes?.startup) checks.push(probeLine('startup', c.probes.startup));
  if (c.probes?.liveness) checks.push(probeLine('liveness', c.probes.liveness));
  if (c.probes?.readiness) checks.push(probeLine('readiness', c.probes.readiness));
  if (c.hooks?.preStop) checks.push(`  preStop hook: ${handlerLine(c.hooks.preStop)}`);
  const o = c.origins;
  const origins = o ? [`  from: argv ${o.argv}; user ${o.user}; cwd ${o.cwd}; stop signal ${c.stopSignal} (${o.stopSignal})`] : [];
  return [`${kind} ${c.name} (${tags.join(', ')})`, ...processLines(c.process, '  '), ...origins, ...checks, `  logs: ${c.logDir}/N.log`];
}

export function describePlan(p: PodPlan): string {
  const lines = [`pod ${p.pod} (namespace ${p.namespace}, uid ${p.uid})`, `  run dir: ${p.dirs.run}`, `  lib dir: ${p.dirs.lib}`];
  if (p.hostSteps.length) {
    lines.push('host steps (run by minipod on the host, recorded for teardown):');
    for (const s of p.hostSteps) lines.push(`  ${s.what}: ${s.command.join(' ')}`);
  }
  if (p.hostOps?.length) {
    lines.push('host operations (run by the supervisor once pause runs: netlink, one nft transaction, sysctls in the pod\'s namespaces):');
    for (const o of p.hostOps) lines.push(`  ${describeHostOp(o)}`);
  }
  if (p.cgroups) {
    lines.push(`cgroups (v${p.cgroups.version}, QoS class ${p.cgroups.qosClass}; made by the supervisor before pause starts, "pod" ones journaled):`);
    for (const o of p.cgroups.ops) lines.push(`  ${o.create === 'pod' ? 'mkdir' : 'mkdir -p'} ${o.path}${o.set.map((s) => `; ${s.file}=${s.value}${s.optional ? ' (if present)' : ''}`).join('')}`);
  }
  if (p.userNamespace) {
    const m = (l: { containerID: number; hostID: number; size: number }[]) => l.map((x) => `${x.containerID}->${x.hostID} (${x.size})`).join(', ');
    lines.push(`user namespace (made by the supervisor before pause; "@pod/user"): uid ${m(p.userNamespace.uidMap)}, gid ${m(p.userNamespace.gidMap)}`);
  }
  lines.push(`pause ${p.pause.argv[0]}`, ...processLines(p.pause, '  '));
  for (const c of p.initContainers) lines.push(...containerLines(c, 'init container'));
  for (const c of p.containers) lines.push(...containerLines(c, 'container'));
  lines.push(`restartPolicy ${p.restartPolicy}, terminationGracePeriodSeconds ${p.terminationGracePeriodSeconds}`);
  return lines.join('\n') + '\n';
}
