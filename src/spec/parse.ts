// Manifest text → documents, keeping where every field is written, so that any later error
// (validation, planning, starting) can say FILE:LINE:COL FIELD-PATH.
//
// One YAML 1.2 parser covers all the forms a user writes: block style, flow style (KYAML,
// with comments and trailing commas), JSON (a subset of YAML 1.2) and multi-document
// streams separated by `---`.

import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Node } from 'yaml';

export interface Position {
  line: number;
  col: number;
}

export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  col: number;
  /** Field path, e.g. spec.containers[1].name; empty for the document itself. */
  path: string;
  message: string;
}

/** A parsed object together with where it came from. */
export interface Located<T> {
  value: T;
  file: string;
  /** 0-based index of the document in the stream. */
  doc: number;
  /** Position of a field path (or of its nearest written ancestor). */
  pos(path: string): Position | undefined;
}

export interface RawDocument {
  value: unknown;
  doc: number;
  pos(path: string): Position | undefined;
}

/** "spec.containers[1].name" → ['spec', 'containers', 1, 'name']. Keys with dots use ['a.b']. */
export function splitPath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\['([^']*)'\]/g;
  for (let m = re.exec(path); m; m = re.exec(path)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(m[3]);
  }
  return out;
}

/** Appends a key to a path: fields as `.key`, keys that are not identifiers as `['key']`. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
  if (!plain) return `${base}['${key}']`;
  return base ? `${base}.${key}` : key;
}

function positionOf(root: Node | null | undefined, lines: LineCounter, path: string): Position | undefined {
  let node: unknown = root;
  let at: number | undefined = (root as Node | undefined)?.range?.[0];
  for (const seg of splitPath(path)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      // The key's position: it is where the user wrote the field.
      at = (pair.key as Node).range?.[0] ?? at;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      at = item.range?.[0] ?? at;
      node = item;
    } else break;
  }
  if (at === undefined) return undefined;
  const p = lines.linePos(at);
  return { line: p.line, col: p.col };
}

export interface ParsedStream {
  docs: RawDocument[];
  errors: Diagnostic[];
}

export function parseStream(text: string, file: string): ParsedStream {
  const lines = new LineCounter();
  // YAML 1.1, as kubectl reads manifests: `defaultMode: 0644` is octal there (420), and a
  // YAML 1.2 reader would take it for decimal 644 — or, for 0400, silently for another mode.
  const all = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true, version: '1.1' });
  const errors: Diagnostic[] = [];
  const docs: RawDocument[] = [];
  const list = Array.isArray(all) ? all : [];
  if (!Array.isArray(all)) {
    // An empty stream (only comments or `---`).
    return { docs, errors };
  }
  list.forEach((d, i) => {
    for (const e of d.errors) {
      const p = lines.linePos(e.pos[0]);
      errors.push({ severity: 'error', file, line: p.line, col: p.col, path: '', message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '') });
    }
    if (d.errors.length) return;
    // YAML 1.1 reads `1:20` as the base-60 number 80 (`containerPort: 1:20` would publish
    // port 80). Kubernetes' own YAML reader has no base 60: refuse it rather than guess.
    let sexagesimal = false;
    visit(d, {
      Scalar(_, n) {
        if (n.type === 'PLAIN' && typeof n.value === 'number' && typeof n.source === 'string' && /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/.test(n.source)) {
          const p = lines.linePos(n.range?.[0] ?? 0);
          errors.push({ severity: 'error', file, line: p.line, col: p.col, path: '', message: `"${n.source}" is a YAML 1.1 base-60 number (${n.value}); Kubernetes does not read it so: write the number, or quote it for a string` });
          sexagesimal = true;
        }
      },
    });
    if (sexagesimal) return;
    const value = d.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document between `---`
    docs.push({ value, doc: i, pos: (path) => positionOf(d.contents as Node, lines, path) });
  });
  return { docs, errors };
}
