// Reading a manifest for the verbs that take one (run, plan, exec's --file): kept apart from
// common.ts so that verbs that read none never load the YAML parser.

import { readFileSync } from 'node:fs';

import { FieldError, MinipodError } from '../errors.ts';
import { formatDiagnostic, parseManifests, type Located, type ParsedManifests } from '../spec/index.ts';
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

/** The one pod of a manifest (minipod runs one pod per command). */
export function onePod(m: LoadedManifest): Located<Pod> {
  if (m.pods.length === 1) return m.pods[0];
  if (m.pods.length === 0) throw new MinipodError(`${m.file}: no Pod in this file (found ${m.configMaps.length} ConfigMap(s), ${m.secrets.length} Secret(s))`);
  const second = m.pods[1];
  const pos = second.pos('metadata.name');
  throw new MinipodError(
    `${m.file}:${pos?.line ?? 1}:${pos?.col ?? 1} metadata.name: a second Pod ("${second.value.metadata.name}"); minipod runs one pod per command`,
  );
}

/** Adds FILE:LINE:COL to a FieldError raised while planning or starting. */
export function locate(e: unknown, pod: Located<Pod> | undefined): unknown {
  if (!(e instanceof FieldError) || !pod) return e;
  const pos = pod.pos(e.field);
  if (!pos) return e;
  e.message = `${pod.file}:${pos.line}:${pos.col} ${e.message}`;
  return e;
}

