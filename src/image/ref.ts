// Image references: the Docker/OCI distribution grammar, normalised for a local-only store.
//
//   reference := name [":" tag] ["@" digest]
//   name      := [domain "/"] path          (at most 255 characters)
//   domain    := host [":" port]            (host: DNS labels, or [IPv6])
//   path      := component ("/" component)*
//   component := [a-z0-9]+ (([._]|__|-+) [a-z0-9]+)*
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := "sha256:" 64 lowercase hex | "sha512:" 128 lowercase hex
//
// The first path element is a domain when it contains "." or ":", is "localhost", or has an
// uppercase letter: that is the distribution library's rule, so `Foo/bar` parses the way the
// rest of the Kubernetes world parses it.
//
// minipod never pulls, so it does not expand `busybox` to `docker.io/library/busybox:latest`.
// The canonical form keeps what the user typed and only adds the implicit tag:
//   busybox                      -> busybox:latest
//   localhost/busybox            -> localhost/busybox:latest
//   registry.k8s.io/pause:3.10   -> registry.k8s.io/pause:3.10
//   busybox@sha256:<hex>         -> busybox@sha256:<hex>   (a digest implies no tag)
// A digest in a local name is part of the name: minipod does not verify it against content.
//
// Lookup rule (lookupCandidates): a manifest's image matches the stored names below, first hit
// wins:
//   1. its canonical form exactly;
//   2. if it has no domain, or the domain is localhost, docker.io or index.docker.io, the
//      same image under the other spellings of that "familiar" name, in this order:
//        bare (`busybox:latest`), `localhost/busybox:latest`, `docker.io/library/busybox:latest`
//      (`docker.io/<user>/<repo>` for two-component paths).
// So `image: busybox` runs an image imported as `busybox`, `busybox:latest`,
// `localhost/busybox` or `docker.io/library/busybox`, and `image: docker.io/library/busybox`
// runs one imported as `busybox`. Any other registry only matches exactly. Tags and digests
// always match exactly: `busybox` never picks `busybox:1.36`.

import { MinipodError } from '../errors.ts';

export interface ImageRef {
  /** Repository name as written: `[domain/]path`. */
  name: string;
  /** Registry part of the name, if any. */
  domain?: string;
  /** The name without its domain. */
  path: string;
  tag?: string;
  digest?: string;
  /** `name[:tag][@digest]`, with `:latest` added when there is neither tag nor digest. */
  canonical: string;
}

export class ImageRefError extends MinipodError {
  constructor(
    readonly ref: string,
    readonly reason: string,
  ) {
    super(`invalid image reference ${JSON.stringify(ref)}: ${reason}`, { code: 'ERR_IMAGE_REF' });
    this.name = 'ImageRefError';
  }
}

const NAME_MAX = 255;
const TAG_MAX = 128;
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DOMAIN_LABEL = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha512: 128 };

const FAMILIAR_DOMAINS = new Set(['localhost', 'docker.io', 'index.docker.io']);

export function parseImageRef(input: string): ImageRef {
  const fail = (reason: string): never => {
    throw new ImageRefError(input, reason);
  };
  if (typeof input !== 'string' || input === '') fail('empty reference');
  const bad = /[\s\x00-\x1f\x7f]/.exec(input);
  if (bad) fail(`contains the character ${JSON.stringify(bad[0])}`);

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    checkDigest(digest, fail);
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') fail('empty tag');
    if (tag.length > TAG_MAX) fail(`tag is longer than ${TAG_MAX} characters`);
    if (!TAG.test(tag)) {
      fail(`tag ${JSON.stringify(tag)} may only contain letters, digits, "_", "." and "-" and must not start with "." or "-"`);
    }
  }

  const name = rest;
  if (name === '') fail('empty repository name');
  if (name.length > NAME_MAX) fail(`repository name is longer than ${NAME_MAX} characters`);

  let domain: string | undefined;
  let path = name;
  const slash = name.indexOf('/');
  if (slash >= 0) {
    const first = name.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = name.slice(slash + 1);
      checkDomain(domain, fail);
    }
  }
  for (const c of path.split('/')) {
    if (c === '') fail('empty path component');
    if (!COMPONENT.test(c)) {
      if (c !== c.toLowerCase() && COMPONENT.test(c.toLowerCase())) fail('repository name must be lowercase');
      fail(`path component ${JSON.stringify(c)} must be lowercase letters and digits separated by ".", "_", "__" or "-"`);
    }
  }

  const canonical = name + (tag !== undefined ? `:${tag}` : digest !== undefined ? '' : ':latest') + (digest !== undefined ? `@${digest}` : '');
  const ref: ImageRef = { name, path, canonical };
  if (domain !== undefined) ref.domain = domain;
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

function checkDigest(digest: string, fail: (reason: string) => never): void {
  const sep = digest.indexOf(':');
  if (sep < 0) fail('digest must look like sha256:<64 hex digits>');
  const algo = digest.slice(0, sep);
  const hex = digest.slice(sep + 1);
  const len = DIGEST_HEX[algo];
  if (len === undefined) fail(`unsupported digest algorithm ${JSON.stringify(algo)} (use sha256 or sha512)`);
  if (!/^[0-9a-f]*$/.test(hex)) fail(`digest must be lowercase hexadecimal`);
  if (hex.length !== len) fail(`${algo} digest must have ${len} hex digits, not ${hex.length}`);
}

function checkDomain(domain: string, fail: (reason: string) => never): void {
  let host = domain;
  const m = /^(.*):([^:\]]*)$/.exec(domain);
  if (m) {
    host = m[1];
    if (!/^[0-9]+$/.test(m[2])) fail(`registry port ${JSON.stringify(m[2])} is not a number`);
  }
  if (IPV6.test(host)) return;
  if (host === '' || !host.split('.').every((l) => DOMAIN_LABEL.test(l))) {
    fail(`registry ${JSON.stringify(domain)} is not a valid host name`);
  }
}

/** Canonical form of a reference (throws ImageRefError when invalid). */
export function canonicalImageRef(ref: string): string {
  return parseImageRef(ref).canonical;
}

/**
 * Stored names that a reference may resolve to, most specific first (see the rule at the top
 * of this file). The first one present in the store wins.
 */
export function lookupCandidates(ref: string | ImageRef): string[] {
  const r = typeof ref === 'string' ? parseImageRef(ref) : ref;
  const out = [r.canonical];
  if (r.domain !== undefined && !FAMILIAR_DOMAINS.has(r.domain)) return out;
  const suffix = r.canonical.slice(r.name.length);
  let familiar = r.path;
  // `library/busybox` is Docker's spelling of an official image; in familiar form it is `busybox`.
  if (r.domain !== 'localhost' && /^library\/[^/]+$/.test(familiar)) familiar = familiar.slice('library/'.length);
  const dockerPath = familiar.includes('/') ? familiar : `library/${familiar}`;
  for (const n of [familiar, `localhost/${familiar}`, `docker.io/${dockerPath}`]) {
    const c = n + suffix;
    if (!out.includes(c)) out.push(c);
  }
  return out;
}
