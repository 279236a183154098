// Security-context fields that need a Linux security module or a user namespace minipod
// does not have: parsed, and refused with the reason rather than ignored (a pod that asks
// for confinement must not run without it).
//
//   seLinuxOptions, appArmorProfile (but type Unconfined)  the host's LSM list must have it;
//                                                          minipod applies neither yet
//   procMount: Unmasked                                    Kubernetes requires hostUsers: false
//                                                          (then /proc is not masked at all)

import { existsSync, readFileSync } from 'node:fs';

import { FieldError } from '../errors.ts';
import type { Pod } from '../spec/types.ts';

/** The active LSMs (securityfs, else /sys/module), e.g. ["capability", "yama"]. */
export function hostLsms(): string[] {
  try {
    return readFileSync('/sys/kernel/security/lsm', 'utf8').trim().split(',');
  } catch {
    return ['apparmor', 'selinux'].filter((m) => existsSync(`/sys/module/${m}`));
  }
}

interface Ctx {
  seLinuxOptions?: unknown;
  appArmorProfile?: { type?: string };
  procMount?: string;
}

export function checkLsmFields(pod: Pod, lsms = hostLsms()): void {
  const at: [string, Ctx | undefined][] = [['spec.securityContext', pod.spec.securityContext as Ctx | undefined]];
  for (const [kind, list] of [['initContainers', pod.spec.initContainers ?? []], ['containers', pod.spec.containers]] as const) {
    list.forEach((c, i) => at.push([`spec.${kind}[${i}].securityContext`, c.securityContext as Ctx | undefined]));
  }
  for (const [field, sc] of at) {
    if (!sc) continue;
    if (sc.seLinuxOptions !== undefined) {
      throw new FieldError(`${field}.seLinuxOptions`, lsms.includes('selinux') ? 'SELinux labels are not applied by minipod yet' : 'this host has no SELinux (its LSMs: ' + (lsms.join(', ') || 'none') + ')');
    }
    const aa = sc.appArmorProfile;
    if (aa !== undefined && aa.type !== 'Unconfined') {
      throw new FieldError(`${field}.appArmorProfile`, lsms.includes('apparmor') ? 'AppArmor profiles are not applied by minipod yet' : 'this host has no AppArmor (its LSMs: ' + (lsms.join(', ') || 'none') + ')');
    }
    if (sc.procMount !== undefined && sc.procMount !== 'Default' && sc.procMount !== 'Unmasked') throw new FieldError(`${field}.procMount`, 'must be Default or Unmasked');
    if (sc.procMount === 'Unmasked' && pod.spec.hostUsers !== false) {
      throw new FieldError(`${field}.procMount`, 'Unmasked needs hostUsers: false: only a container in a user namespace may see an unmasked /proc (as Kubernetes requires)');
    }
  }
}
