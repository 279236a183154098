// /etc/hosts, /etc/resolv.conf and /etc/hostname of a pod, rendered the way the kubelet
// writes them. One copy per pod (under its run directory), bind-mounted into every
// container, so that all containers of the pod see the same files (and edits).

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { FieldError } from '../errors.ts';
import type { Pod, PodDNSConfig } from '../spec/types.ts';
import { parseIPv4 } from './cidr.ts';

/** The kubelet caps these (MaxDNSNameservers, MaxDNSSearchPaths). */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;

export function etcDir(runDir: string): string {
  return path.join(runDir, 'etc');
}

/** Kubelet's managed hosts file: localhost lines, the pod's own name, then hostAliases. */
export function renderHosts(pod: Pod, podIP: string, hostname: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const sub = pod.spec.subdomain;
  const ns = pod.metadata.namespace ?? 'default';
  lines.push(sub ? `${podIP}\t${hostname}.${sub}.${ns}.svc.cluster.local\t${hostname}` : `${podIP}\t${hostname}`);
  return lines.join('\n') + '\n' + renderAliases(pod);
}

/** With hostNetwork the kubelet keeps the host's own file and appends hostAliases. */
export function renderHostNetworkHosts(pod: Pod, hostFile: string): string {
  const base = hostFile.endsWith('\n') || !hostFile ? hostFile : hostFile + '\n';
  return base + renderAliases(pod);
}

function renderAliases(pod: Pod): string {
  const aliases = pod.spec.hostAliases ?? [];
  if (!aliases.length) return '';
  const out = ['', '# Entries added by HostAliases.'];
  for (const a of aliases) out.push([a.ip, ...(a.hostnames ?? [])].join('\t'));
  return out.join('\n') + '\n';
}

export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: { name: string; value?: string }[];
}

export function parseResolvConf(text: string): ResolvConf {
  const r: ResolvConf = { nameservers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) r.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') r.searches = rest; // the last one wins, as in the resolver
    else if (key === 'options') {
      for (const o of rest) {
        const i = o.indexOf(':');
        r.options.push(i < 0 ? { name: o } : { name: o.slice(0, i), value: o.slice(i + 1) });
      }
    }
  }
  return r;
}

function uniq<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/**
 * The pod's resolver configuration. minipod has no cluster DNS, so ClusterFirst behaves as
 * the kubelet does without one: like Default, the host's file. dnsConfig is merged on top
 * (nameservers and searches appended, options replaced by name); with dnsPolicy None it is
 * all there is. Loopback nameservers of the host (a local caching resolver) cannot be
 * reached from a pod's own network namespace, so they are dropped unless the pod uses the
 * host network.
 */
export function resolvFor(pod: Pod, host: ResolvConf, hostNetwork: boolean): ResolvConf {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const cfg: PodDNSConfig = pod.spec.dnsConfig ?? {};
  for (const [i, ns] of (cfg.nameservers ?? []).entries()) {
    if (parseIPv4(ns) === undefined && !/^[0-9a-fA-F:]+$/.test(ns)) throw new FieldError(`spec.dnsConfig.nameservers[${i}]`, `"${ns}" is not an IP address`);
  }
  let base: ResolvConf;
  if (policy === 'None') {
    if (!cfg.nameservers?.length) throw new FieldError('spec.dnsConfig.nameservers', 'dnsPolicy None needs at least one nameserver in dnsConfig');
    base = { nameservers: [], searches: [], options: [] };
  } else {
    const reachable = hostNetwork ? host.nameservers : host.nameservers.filter((n) => !n.startsWith('127.') && n !== '::1');
    base = { nameservers: reachable, searches: host.searches, options: host.options };
  }
  const options = [...base.options];
  for (const o of cfg.options ?? []) {
    const i = options.findIndex((x) => x.name === o.name);
    if (i >= 0) options[i] = o;
    else options.push(o);
  }
  return {
    nameservers: uniq([...base.nameservers, ...(cfg.nameservers ?? [])]).slice(0, MAX_NAMESERVERS),
    searches: uniq([...base.searches, ...(cfg.searches ?? [])]).slice(0, MAX_SEARCHES),
    options,
  };
}

export function renderResolvConf(r: ResolvConf): string {
  const lines: string[] = [];
  if (r.searches.length) lines.push(`search ${r.searches.join(' ')}`);
  for (const n of r.nameservers) lines.push(`nameserver ${n}`);
  if (r.options.length) lines.push(`options ${r.options.map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)).join(' ')}`);
  return lines.join('\n') + (lines.length ? '\n' : '');
}

export interface EtcFiles {
  hosts: string;
  resolv: string;
  hostname: string;
}

/** Writes the three files into the pod's run directory and returns their paths. */
export function writeEtcFiles(runDir: string, pod: Pod, o: { podIP: string; hostname: string; hostNetwork: boolean }): EtcFiles {
  mkdirSync(etcDir(runDir), { recursive: true, mode: 0o755 });
  const readHostFile = (f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch {
      return '';
    }
  };
  const files = etcFiles(runDir);
  const hosts = o.hostNetwork ? renderHostNetworkHosts(pod, readHostFile('/etc/hosts')) : renderHosts(pod, o.podIP, o.hostname);
  writeFileSync(files.hosts, hosts, { mode: 0o644 });
  writeFileSync(files.resolv, renderResolvConf(resolvFor(pod, parseResolvConf(readHostFile('/etc/resolv.conf')), o.hostNetwork)), { mode: 0o644 });
  writeFileSync(files.hostname, o.hostname + '\n', { mode: 0o644 });
  return files;
}

/** Paths of the files for a pod directory (also while planning, before they exist). */
export function etcFiles(runDir: string): EtcFiles {
  const dir = etcDir(runDir);
  return { hosts: path.join(dir, 'hosts'), resolv: path.join(dir, 'resolv.conf'), hostname: path.join(dir, 'hostname') };
}
