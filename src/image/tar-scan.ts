// A streaming check of a tar archive's headers, run before GNU tar sees the bytes.
//
// GNU tar does the extraction (it keeps device nodes, FIFOs, absolute symlink targets,
// setuid bits, numeric owners, hardlinks and xattrs, and is an order of magnitude faster than
// anything in JavaScript). This scanner is the first of two safety layers: it reads the archive
// the way GNU tar 1.34 reads it (ustar prefix only with the POSIX magic, GNU long names and
// links, pax `path`/`linkpath`/`size`, base-256 sizes, either checksum, end at the first zero
// block) and refuses, before any byte of the entry reaches tar:
//   - names or hard-link targets with a `..` component (they would escape the target);
//   - entries under a path that an earlier entry made a symlink (writing through `a -> /etc`);
//   - hard links to something that is not an earlier entry, or through a symlink;
//   - an entry that changes the type of an earlier one (GNU tar's delayed-symlink handling
//     makes such overrides order- and inode-number-dependent);
//   - anything it cannot read exactly like GNU tar: bad checksums (tar would resynchronise on
//     the next thing that looks like a header), data on a directory/link/device entry (tar
//     would not skip it), sparse/multi-volume/dumpdir/unknown types, two pax headers for one
//     entry, global pax headers that rename or resize, malformed pax records.
// Leading `/` is stripped, as GNU tar and container runtimes do: `/etc/passwd` in a rootfs
// archive means the image's /etc/passwd. Symlink targets are never checked: an absolute or
// `..` target is legitimate in an image; only following it during extraction would not be.
// The second layer is GNU tar's own defences (see unpack.ts).
//
// Names are kept as latin1 strings so that every byte survives; messages show them as UTF-8.

import { MinipodError } from '../errors.ts';

export type EntryKind = 'dir' | 'file' | 'symlink';

export class TarEntryError extends MinipodError {
  constructor(
    message: string,
    code: 'ERR_IMAGE_UNSAFE_ENTRY' | 'ERR_IMAGE_BAD_ARCHIVE',
    /** The refused entry's name, when one is to blame. */
    readonly entry?: string,
  ) {
    super(message, { code });
    this.name = 'TarEntryError';
  }
}

export interface ScanSummary {
  /** Entries other than metadata headers. */
  entries: number;
  /** Bytes of regular-file content (hard links counted once). */
  bytes: number;
}

const BLOCK = 512;
/** Largest GNU long name / pax header accepted; real ones are a few hundred bytes. */
const META_MAX = 1 << 20;
const POSIX_MAGIC = Buffer.from('ustar\0', 'latin1');

const show = (latin1: string): string => JSON.stringify(Buffer.from(latin1, 'latin1').toString('utf8'));
const pad = (n: number): number => (BLOCK - (n % BLOCK)) % BLOCK;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** A C string inside a fixed-size field. */
function cstr(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end < 0 || end > off + len ? off + len : end);
}

/** A numeric header field, decoded like GNU tar's from_header (octal or base-256). */
function num(b: Buffer, off: number, len: number, octalOnly = false): number | undefined {
  const lim = off + len;
  let i = off;
  if (b[i] === 0) i++; // "buggy tar of unknown vintage" writes a leading NUL
  for (;;) {
    if (i === lim) return undefined;
    if (!isSpace(b[i])) break;
    i++;
  }
  let v = 0;
  if (b[i] >= 0x30 && b[i] <= 0x37) {
    while (i < lim && b[i] >= 0x30 && b[i] <= 0x37) v = v * 8 + (b[i++] - 0x30);
  } else if (!octalOnly && i <= lim - 2 && b[i] === 0x80) {
    v = 0;
    i++;
    while (i < lim) v = v * 256 + b[i++];
  } else if (b[i] !== 0 && !isSpace(b[i])) {
    return undefined; // negative base-256, obsolete base-64, garbage
  }
  if (i !== lim && b[i] !== 0 && !isSpace(b[i])) return undefined;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** GNU tar accepts the unsigned (POSIX) sum or the signed one old Sun/NeXT tars wrote. */
function checksum(b: Buffer): 'zero' | 'ok' | 'bad' {
  let u = 0;
  for (let i = 0; i < BLOCK; i++) u += b[i];
  if (u === 0) return 'zero';
  for (let i = 148; i < 156; i++) u += 0x20 - b[i];
  const rec = num(b, 148, 8, true);
  if (rec === undefined) return 'bad';
  if (rec === u) return 'ok';
  let high = 0; // bytes >= 128 outside the checksum field, each 256 less when signed
  for (let i = 0; i < BLOCK; i++) if (b[i] > 127 && (i < 148 || i >= 156)) high++;
  return rec === u - 256 * high ? 'ok' : 'bad';
}

interface Pending {
  longName?: string;
  longLink?: string;
  pax?: Map<string, string>;
}

export class TarScanner {
  /** Bytes of entry data (with padding) still to come before the next header. */
  skip = 0;
  /** True once the end-of-archive block has been read: GNU tar stops there too. */
  ended = false;
  private offset = 0;
  private hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private meta: Buffer | null = null;
  private metaFill = 0;
  private metaType = '';
  private metaAt = 0;
  private pending: Pending = {};
  private kinds = new Map<string, EntryKind | 'implicit'>();
  private entries = 0;
  private bytes = 0;

  /** Hard-link targets found in the layers below (see lowerFile), as relative paths. */
  readonly copyUps: string[] = [];
  /** A layer's whiteout markers (`.wh.NAME`, `.wh..wh..opq`), as relative latin1 paths. */
  readonly whiteouts: string[] = [];

  /**
   * `what` prefixes messages, e.g. `image import busybox:latest`. lowerFile, for a layer of a
   * layered image: whether the layers below have this (normalised, latin1) path as a file.
   */
  constructor(
    private readonly what: string,
    private readonly lowerFile?: (key: string) => boolean,
  ) {}

  /**
   * Check the next bytes of the archive. Returns how many of them belong to the archive: all
   * of them, or fewer when the end-of-archive block is inside `chunk`. Throws TarEntryError
   * before returning if anything in `chunk` is refused, so a caller that forwards only what
   * this returned forwards nothing unchecked.
   */
  write(chunk: Buffer): number {
    const len = chunk.length;
    let pos = 0;
    while (pos < len && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, len - pos);
        this.skip -= n;
        this.offset += n;
        pos += n;
      } else if (this.meta) {
        const n = Math.min(this.meta.length - this.metaFill, len - pos);
        chunk.copy(this.meta, this.metaFill, pos, pos + n);
        this.metaFill += n;
        this.offset += n;
        pos += n;
        if (this.metaFill === this.meta.length) this.endMeta();
      } else if (this.hdrFill === 0 && len - pos >= BLOCK) {
        this.offset += BLOCK;
        pos += BLOCK;
        this.header(chunk.subarray(pos - BLOCK, pos), this.offset - BLOCK);
      } else {
        const n = Math.min(BLOCK - this.hdrFill, len - pos);
        chunk.copy(this.hdr, this.hdrFill, pos, pos + n);
        this.hdrFill += n;
        this.offset += n;
        pos += n;
        if (this.hdrFill === BLOCK) {
          this.hdrFill = 0;
          this.header(this.hdr, this.offset - BLOCK);
        }
      }
    }
    return pos;
  }

  /** For a caller reading a file: take the pending data skip and seek over it instead. */
  takeSkip(): number {
    const n = this.skip;
    this.skip = 0;
    this.offset += n;
    return n;
  }

  /** Call at end of input: refuses a truncated archive. */
  finish(): ScanSummary {
    if (!this.ended) {
      if (this.offset === 0) throw this.bad('the archive is empty');
      throw this.bad(`the archive is truncated (no end-of-archive block after ${this.offset} bytes)`);
    }
    return { entries: this.entries, bytes: this.bytes };
  }

  private bad(msg: string): TarEntryError {
    return new TarEntryError(`${this.what}: ${msg}`, 'ERR_IMAGE_BAD_ARCHIVE');
  }

  private unsafe(entry: string, msg: string): TarEntryError {
    return new TarEntryError(`${this.what}: tar entry ${show(entry)} ${msg}`, 'ERR_IMAGE_UNSAFE_ENTRY', Buffer.from(entry, 'latin1').toString('utf8'));
  }

  private header(b: Buffer, at: number): void {
    const sum = checksum(b);
    if (sum === 'zero') {
      if (this.pending.longName !== undefined || this.pending.longLink !== undefined || this.pending.pax) {
        throw this.bad(`the archive ends after an extended header (offset ${at})`);
      }
      this.ended = true;
      return;
    }
    if (sum === 'bad') throw this.bad(`corrupt tar header at offset ${at} (bad checksum)`);
    const type = String.fromCharCode(b[156]);
    const size = num(b, 124, 12);
    if (size === undefined) throw this.bad(`corrupt tar header at offset ${at} (bad size field)`);
    if (type === 'L' || type === 'K' || type === 'x' || type === 'X' || type === 'g') {
      if (size > META_MAX) throw this.bad(`extended header at offset ${at} is ${size} bytes (limit ${META_MAX})`);
      this.meta = Buffer.allocUnsafe(size);
      this.metaFill = 0;
      this.metaType = type;
      this.metaAt = at;
      if (size === 0) this.endMeta();
      return;
    }
    this.entry(b, type, size, at);
  }

  private endMeta(): void {
    const m = this.meta!;
    const type = this.metaType;
    this.meta = null;
    this.skip = pad(m.length);
    if (type === 'L' || type === 'K') {
      const end = m.indexOf(0);
      const s = m.toString('latin1', 0, end < 0 ? m.length : end);
      if (type === 'L') this.pending.longName = s;
      else this.pending.longLink = s;
      return;
    }
    const recs = this.paxRecords(m);
    if (type === 'g') {
      for (const k of recs.keys()) {
        if (k === 'path' || k === 'linkpath' || k === 'size' || k.startsWith('GNU.')) {
          throw this.bad(`global pax header at offset ${this.metaAt} sets ${JSON.stringify(k)}, which would apply to every entry`);
        }
      }
      return;
    }
    if (this.pending.pax) throw this.bad(`two pax headers for one entry at offset ${this.metaAt}`);
    this.pending.pax = recs;
  }

  private paxRecords(m: Buffer): Map<string, string> {
    const out = new Map<string, string>();
    let p = 0;
    const malformed = (): never => {
      throw this.bad(`malformed pax header at offset ${this.metaAt}`);
    };
    while (p < m.length) {
      const sp = m.indexOf(0x20, p);
      if (sp < 0 || sp === p || sp - p > 20) malformed();
      const digits = m.toString('latin1', p, sp);
      if (!/^[0-9]+$/.test(digits)) malformed();
      const len = Number(digits);
      const end = p + len;
      if (len < digits.length + 3 || end > m.length || m[end - 1] !== 0x0a) malformed();
      const eq = m.indexOf(0x3d, sp + 1);
      if (eq < 0 || eq >= end - 1 || eq === sp + 1) malformed();
      // Keywords are UTF-8 text; values of path/linkpath are raw bytes (kept as latin1).
      out.set(m.toString('utf8', sp + 1, eq), m.toString('latin1', eq + 1, end - 1));
      p = end;
    }
    for (const k of out.keys()) {
      if (k.startsWith('GNU.sparse.')) throw this.bad(`sparse files are not supported (pax header at offset ${this.metaAt}); re-create the archive without --sparse`);
      if (k === 'GNU.dumpdir' || k.startsWith('GNU.volume.')) throw this.bad(`pax keyword ${JSON.stringify(k)} (incremental or multi-volume archive) is not supported`);
    }
    for (const k of ['path', 'linkpath']) {
      const v = out.get(k);
      if (v !== undefined && (v === '' || v.includes('\0'))) throw this.bad(`pax ${k} at offset ${this.metaAt} is empty or contains a NUL byte`);
    }
    const s = out.get('size');
    if (s !== undefined && !/^[0-9]{1,16}$/.test(s)) throw this.bad(`pax size ${JSON.stringify(s)} at offset ${this.metaAt} is not a number`);
    return out;
  }

  private entry(b: Buffer, type: string, hdrSize: number, at: number): void {
    const { longName, longLink, pax } = this.pending;
    this.pending = {};
    let name = pax?.get('path') ?? longName;
    if (name === undefined) {
      name = cstr(b, 0, 100);
      if (b[345] !== 0 && b.compare(POSIX_MAGIC, 0, 6, 257, 263) === 0) name = `${cstr(b, 345, 155)}/${name}`;
    }
    // Only links use the link name; decoding it for every entry would cost time.
    const link = type === '1' || type === '2' ? (pax?.get('linkpath') ?? longLink ?? cstr(b, 157, 100)) : '';
    const paxSize = pax?.get('size');
    const size = paxSize !== undefined ? Number(paxSize) : hdrSize;
    const trailingSlash = name.endsWith('/');

    let kind: EntryKind;
    switch (type) {
      case '0':
      case '\0':
      case '7':
        // GNU tar extracts a "regular file" whose name ends in "/" as a directory (BSD convention).
        kind = trailingSlash ? 'dir' : 'file';
        break;
      case '1':
      case '3':
      case '4':
      case '6':
        kind = 'file';
        break;
      case '2':
        kind = 'symlink';
        break;
      case '5':
        kind = 'dir';
        break;
      case 'S':
        throw this.bad(`tar entry ${show(name)} is a GNU sparse file, which is not supported; re-create the archive without --sparse`);
      default:
        throw this.unsafe(name, `has unsupported type ${JSON.stringify(type)} at offset ${at} (GNU tar would extract it as a regular file)`);
    }
    if (size !== 0 && !(kind === 'file' && '07\0'.includes(type))) {
      // GNU tar does not skip data of directories, links and devices: it would read these
      // bytes as the next headers, which this scanner would not see.
      throw this.unsafe(name, `is a ${describe(type)} but carries ${size} bytes of data`);
    }
    if (type === '2' && link === '') throw this.unsafe(name, 'is a symlink with an empty target');

    const key = this.normalize(name, name, 'escapes the target (it has a ".." component)');
    // A layer's whiteout markers are not extracted (the caller excludes them from tar and
    // makes overlayfs whiteouts of them, never following a link): recorded, not checked
    // against the entries around them — umoci writes `d2f/.wh.x` after making d2f a file.
    if (this.lowerFile && key !== '' && key.slice(key.lastIndexOf('/') + 1).startsWith('.wh.')) {
      if (kind !== 'file' || type === '1') throw this.unsafe(name, 'is a whiteout marker but not a plain file');
      this.whiteouts.push(key);
      this.entries++;
      this.skip = size + pad(size);
      return;
    }
    if (key === '') {
      if (kind !== 'dir') throw this.unsafe(name, 'names the image root but is not a directory');
      this.entries++;
      return;
    }
    this.checkParents(key, name, (p) => `would be written through symlink ${show(p)}, created earlier in the archive`);

    if (type === '1') {
      const tkey = this.normalize(link, name, `is a hard link to ${show(link)}, which escapes the target`);
      if (tkey === '') throw this.unsafe(name, 'is a hard link to the image root');
      if (tkey === key) throw this.unsafe(name, 'is a hard link to itself');
      this.checkParents(tkey, name, (p) => `is a hard link to ${show(link)}, which goes through symlink ${show(p)}`);
      let tkind = this.kinds.get(tkey);
      // An image layer may link to a file of a layer below it: that file is copied up into
      // this layer before tar makes the link (as containerd does), when the caller says the
      // lower layers have it as a regular file.
      if ((tkind === undefined || tkind === 'implicit') && this.lowerFile?.(tkey)) {
        this.copyUps.push(tkey);
        tkind = 'file';
      }
      if (tkind === undefined || tkind === 'implicit') throw this.unsafe(name, `is a hard link to ${show(link)}, which is not an earlier entry of the archive`);
      if (tkind === 'dir') throw this.unsafe(name, `is a hard link to directory ${show(link)}`);
      kind = tkind; // a hard link to a symlink is a symlink
    }

    const prev = this.kinds.get(key);
    if (prev === 'symlink') throw this.unsafe(name, 'replaces a symlink created earlier in the archive');
    if (prev !== undefined && prev !== kind && !(prev === 'implicit' && kind === 'dir')) {
      throw this.unsafe(name, `replaces an earlier ${prev === 'file' ? 'file' : 'directory'} with a ${kind === 'dir' ? 'directory' : kind}`);
    }
    this.kinds.set(key, kind);
    this.entries++;
    if (kind === 'file' && type !== '1') this.bytes += size;
    this.skip = size + pad(size);
  }

  /**
   * The path below the target that the kernel will resolve `p` to, as a key without leading
   * "/", "." components, doubled or trailing slashes ('' for the target itself).
   */
  private normalize(p: string, entry: string, escapeMsg: string): string {
    let s = p;
    while (s.startsWith('./')) s = s.slice(2); // what `tar -C dir .` writes: keep it fast
    if (!ODD_PATH.test(s)) return s.endsWith('/') ? s.replace(/\/+$/, '') : s;
    const out: string[] = [];
    for (const c of s.split('/')) {
      if (c === '' || c === '.') continue;
      if (c === '..') throw this.unsafe(entry, escapeMsg);
      out.push(c);
    }
    return out.join('/');
  }

  /**
   * Refuse a path whose parent is, or goes through, a symlink or a non-directory; record
   * missing parents as implicit directories (tar creates them). A directory never changes
   * kind (entry() refuses that), so a known directory parent was fully checked when it was
   * recorded and the walk stops there.
   */
  private checkParents(key: string, entry: string, viaSymlink: (p: string) => string): void {
    let missing: string[] | undefined;
    for (let p = parentOf(key); p !== ''; p = parentOf(p)) {
      const k = this.kinds.get(p);
      if (k === 'dir' || k === 'implicit') break;
      if (k === 'symlink') throw this.unsafe(entry, viaSymlink(p));
      if (k === 'file') throw this.unsafe(entry, `is below ${show(p)}, which is not a directory`);
      (missing ??= []).push(p);
    }
    if (missing) for (const p of missing) this.kinds.set(p, 'implicit');
  }
}

/** Leading "/", "//", or a "." or ".." component anywhere: needs the slow, exact path. */
const ODD_PATH = /^\/|\/\/|(?:^|\/)\.\.?(?:\/|$)/;

const parentOf = (key: string): string => {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
};

function describe(type: string): string {
  return { '1': 'hard link', '2': 'symlink', '3': 'character device', '4': 'block device', '5': 'directory', '6': 'FIFO' }[type] ?? 'directory';
}
