// P3's plan for the addon: one process in new mnt/pid/net/ipc/uts namespaces, on an overlay
// of the busybox tree, with the system mounts, masked paths and pivot a minipod container
// gets (src/plan/defaults.ts), running /bin/true. The closest thing to what `crun run` does
// with `crun spec`'s default config (which binds a read-only rootfs instead of an overlay).

import { DEFAULT_CAPABILITIES, DEFAULT_PATH, protectionMounts, systemMounts } from '../../src/plan/defaults.ts';
import type { ProcessPlan } from '../../src/plan/types.ts';

export interface LayerDirs {
  lower: string;
  upper: string;
  work: string;
  target: string;
  shm: string;
}

export function truePlan(d: LayerDirs): ProcessPlan {
  return {
    pod: 'bench',
    container: 'true',
    namespaces: (['ipc', 'uts', 'net', 'pid', 'mnt'] as const).map((type) => ({ type, action: 'create' as const })),
    loopbackUp: true,
    hostname: 'bench',
    mounts: [
      { op: 'propagation', mode: 'rprivate' },
      { op: 'rootfs', kind: 'overlay', lower: [d.lower], upper: d.upper, work: d.work, target: d.target },
      ...systemMounts(d.shm, false),
      ...protectionMounts(false),
      { op: 'pivot' },
    ],
    user: { uid: 0, gid: 0, groups: [] },
    capabilities: [...DEFAULT_CAPABILITIES],
    noNewPrivileges: true,
    cwd: '/',
    argv: ['/bin/true'],
    env: [`PATH=${DEFAULT_PATH}`],
  };
}
