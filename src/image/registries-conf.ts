// Where pulls go: per-registry mirrors and plain-HTTP ("insecure") registries.
//
// The file is YAML in the shape of k3s's registries.yaml (the one Kubernetes users who run
// a single-host cluster already write), read with the same parser as manifests so that a
// mistake is reported as `file:line:col field: …`:
//
//   mirrors:
//     docker.io:                 # a registry as image references name it; "*": every other
//       endpoint:                # tried in order; the scheme says HTTP or HTTPS
//         - http://127.0.0.1:5000
//       fallback: false          # then the registry itself? (default false)
//   configs:
//     registry.internal:5000:
//       insecure: true           # plain HTTP; false makes a loopback registry use HTTPS
//
// One difference from k3s, on purpose: a registry with mirrors is never asked itself
// unless `fallback: true` says so. A mirror that is down or misconfigured in an
// air-gapped CI must fail the pull, not send it to a public registry.
//
// The file: the caller's (API `registries`, CLI `--registries-conf`), else
// MINIPOD_REGISTRIES_CONF, else /etc/minipod/registries.yaml when it exists.

import fs from 'node:fs';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node } from 'yaml';

import { imageError } from './unpack.ts';

export const DEFAULT_REGISTRIES_CONF = '/etc/minipod/registries.yaml';

export interface RegistriesConfig {
  /** Where it came from, for messages. */
  file?: string;
  mirrors: Record<string, { endpoint: string[]; fallback: boolean }>;
  configs: Record<string, { insecure?: boolean }>;
}

export interface Endpoint {
  /** scheme://host[:port] */
  base: string;
  /** host[:port], the key of credentials. */
  host: string;
  mirror: boolean;
}

const EMPTY: RegistriesConfig = { mirrors: {}, configs: {} };

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || /^127\./.test(h) || h === '::1';
}

/** HTTP or HTTPS for a host with no scheme given: `insecure` decides, else loopback is HTTP. */
export function schemeFor(host: string, conf: RegistriesConfig = EMPTY): 'http' | 'https' {
  const insecure = conf.configs[host]?.insecure;
  if (insecure !== undefined) return insecure ? 'http' : 'https';
  return isLoopback(host) ? 'http' : 'https';
}

/**
 * The endpoints to try for `registry` (the name as references spell it, `docker.io`) whose
 * own API host is `apiHost` (`registry-1.docker.io`): its mirrors in order, then itself —
 * only when it has no mirrors or its entry says `fallback: true`.
 */
export function endpointsFor(registry: string, apiHost: string, conf: RegistriesConfig = EMPTY): Endpoint[] {
  const entry = conf.mirrors[registry] ?? (registry === 'docker.io' ? conf.mirrors['index.docker.io'] : undefined) ?? conf.mirrors['*'];
  const out: Endpoint[] = [];
  for (const e of entry?.endpoint ?? []) {
    const m = /^(https?):\/\/([^/]+)\/?$/.exec(e) ?? /^()([^/]+)$/.exec(e)!;
    const host = m[2];
    out.push({ base: `${m[1] || schemeFor(host, conf)}://${host}`, host, mirror: true });
  }
  if (!entry || entry.fallback || !entry.endpoint.length) out.push({ base: `${schemeFor(apiHost, conf)}://${apiHost}`, host: apiHost, mirror: false });
  return out;
}

/** Reads the configuration; none at all is an empty one. */
export function loadRegistries(file?: string, env: NodeJS.ProcessEnv = process.env): RegistriesConfig {
  const chosen = file ?? env.MINIPOD_REGISTRIES_CONF;
  const target = chosen ?? DEFAULT_REGISTRIES_CONF;
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (e) {
    if (!chosen && (e as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY;
    throw imageError(`registries configuration ${target}: ${(e as Error).message}`, 'ERR_IMAGE_REGISTRIES_CONF');
  }
  return parseRegistries(text, target);
}

/** Parses and checks the YAML; every mistake names the file, line, column and field. */
export function parseRegistries(text: string, file: string): RegistriesConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const fail = (node: Node | undefined | null, field: string, why: string): never => {
    const p = lines.linePos(node?.range?.[0] ?? 0);
    throw imageError(`${file}:${p.line}:${p.col} ${field}: ${why}`, 'ERR_IMAGE_REGISTRIES_CONF');
  };
  if (doc.errors.length) {
    const e = doc.errors[0];
    const p = lines.linePos(e.pos[0]);
    throw imageError(`${file}:${p.line}:${p.col}: ${e.message.split('\n')[0]}`, 'ERR_IMAGE_REGISTRIES_CONF');
  }
  const conf: RegistriesConfig = { file, mirrors: {}, configs: {} };
  const root = doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return conf;
  const entries = (node: unknown, field: string): [string, Node, Node][] => {
    if (!isMap(node)) return fail(node as Node, field, 'must be a mapping');
    return node.items.map((p) => {
      if (!isPair(p) || !isScalar(p.key)) return fail(node, field, 'has a key that is not a name');
      return [String(p.key.value), p.key as Node, p.value as Node];
    });
  };
  const hostName = /^(\*|[A-Za-z0-9.-]+(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?)$/;
  for (const [key, keyNode, value] of entries(root, '(top level)')) {
    if (key === 'mirrors') {
      for (const [reg, regNode, body] of entries(value, 'mirrors')) {
        const field = `mirrors.${reg}`;
        if (!hostName.test(reg)) fail(regNode, field, 'is not a registry name (host[:port], or "*")');
        const m = { endpoint: [] as string[], fallback: false };
        for (const [k, kn, v] of entries(body, field)) {
          if (k === 'endpoint') {
            const items = (v as { items?: Node[] } | null)?.items;
            if (!Array.isArray(items) || !(v as { items?: unknown }).items) fail(v, `${field}.endpoint`, 'must be a list of URLs');
            for (const [i, it] of items!.entries()) {
              const s = isScalar(it) ? String(it.value) : '';
              if (!/^(https?:\/\/)?[^/\s]+\/?$/.test(s) || !hostName.test(s.replace(/^https?:\/\//, '').replace(/\/$/, ''))) {
                fail(it, `${field}.endpoint[${i}]`, `"${s}" is not [http://|https://]host[:port] (a mirror serves the registry API at its root)`);
              }
              m.endpoint.push(s);
            }
          } else if (k === 'fallback') {
            if (!isScalar(v) || typeof v.value !== 'boolean') fail(v, `${field}.fallback`, 'must be true or false');
            m.fallback = (v as { value: boolean }).value;
          } else fail(kn, `${field}.${k}`, 'unknown field (endpoint, fallback)');
        }
        conf.mirrors[reg] = m;
      }
    } else if (key === 'configs') {
      for (const [host, hostNode, body] of entries(value, 'configs')) {
        const field = `configs.${host}`;
        if (!hostName.test(host) || host === '*') fail(hostNode, field, 'is not a registry host (host[:port])');
        const c: { insecure?: boolean } = {};
        for (const [k, kn, v] of entries(body, field)) {
          if (k !== 'insecure') fail(kn, `${field}.${k}`, 'unknown field (insecure)');
          if (!isScalar(v) || typeof v.value !== 'boolean') fail(v, `${field}.insecure`, 'must be true or false');
          c.insecure = (v as { value: boolean }).value;
        }
        conf.configs[host] = c;
      }
    } else fail(keyNode, key, 'unknown field (mirrors, configs)');
  }
  return conf;
}
