// Reading a manifest for the verbs that take one (run, plan, exec's --file): kept apart from
// common.ts so that verbs that read none never load the YAML parser.

import { readFileSync } from 'node:fs';

import { FieldError, MinipodError } from '../errors.ts';
import { formatDiagnostic, parseManifests, type Located, type ParsedManifests, type StreamPod } from '../spec/index.ts';
import type { Pod } from '../spec/types.ts';

export interface LoadedManifest extends ParsedManifests {
  file: string;
}

export function loadManifest(file: string, strict: boolean, warn: (s: string) => void): LoadedManifest {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new MinipodError(`${file}: ${(e as Error).message}`, { code: (e as NodeJS.ErrnoException).code });
  }
  const parsed = parseManifests(text, file === '-' ? '<stdin>' : file, { strict });
  for (const w of parsed.warnings) warn(formatDiagnostic(w));
  return { ...parsed, file };
}

/** The pods of a manifest, in stream order (refused when there is none). */
export function streamPods(m: LoadedManifest): StreamPod[] {
  if (m.pods.length === 0) throw new MinipodError(`${m.file}: no Pod in this file, nor a Deployment, ReplicaSet, DaemonSet or Job (found ${m.configMaps.length} ConfigMap(s), ${m.secrets.length} Secret(s), ${m.claims.length} PersistentVolumeClaim(s))`);
  return m.pods;
}

/** Adds FILE:LINE:COL to a FieldError raised while planning or starting. */
export function locate(e: unknown, pod: Located<Pod> | undefined): unknown {
  if (!(e instanceof FieldError) || !pod) return e;
  const pos = pod.pos(e.field);
  if (!pos) return e;
  e.message = `${pod.file}:${pos.line}:${pos.col} ${e.message}`;
  return e;
}

