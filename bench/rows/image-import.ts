// P6: unpack of a ~50 MB rootfs tarball: minipod's import (in-process, the function
// `minipod image import` calls) against GNU tar -xf. The measurement itself is
// bench/image-import.ts (also runnable alone); this wraps it into the table.

import os from 'node:os';

import { measureImport } from '../image-import.ts';
import type { Ctx } from '../lib/context.ts';
import type { Comparison, Sample } from '../lib/result.ts';

export async function imageImport(ctx: Ctx): Promise<{ rows: Comparison[]; description: string }> {
  const r = await measureImport({ runs: ctx.runs.import, dir: os.tmpdir(), mb: 50, cleanupEach: false });
  const s = (name: string, label: string): Sample => ({ label, unit: 'ms', values: r.times.get(name) ?? [] });
  const mine = s('minipod import', 'minipod image import (in-process)');
  return {
    description: r.description,
    rows: [
      { row: 'P6 unpack ~50 MB rootfs tarball', a: mine, b: s('tar -xf', 'GNU tar -xf'), goal: { max: 1.2, text: '≤ 1.2× GNU tar' } },
      { row: 'P6 unpack ~50 MB rootfs tarball', a: mine, b: s("tar (minipod's flags)", "GNU tar with minipod's flags"), note: 'same tar, preserving everything' },
      { row: 'P6 unpack ~50 MB rootfs tarball', a: s('minipod image import (CLI)', 'minipod image import (CLI)'), b: s('tar -xf', 'GNU tar -xf'), goal: { max: 1.2, text: '≤ 1.2× GNU tar' }, note: 'the command: Node start and bundle load included' },
    ],
  };
}
