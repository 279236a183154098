// The OCI runtime spec's config.json (1.0.2 and later), as far as minipod-oci reads it.
// Field names are the spec's; what is not listed here is refused or ignored by translate.ts.

export interface OciHook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface OciProcess {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: { bounding?: string[]; effective?: string[]; inheritable?: string[]; permitted?: string[]; ambient?: string[] };
  rlimits?: { type: string; hard: number; soft: number }[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface OciResources {
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  memory?: { limit?: number; reservation?: number; swap?: number; kernel?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: unknown;
  hugepageLimits?: unknown[];
  network?: unknown;
  unified?: Record<string, string>;
}

export interface OciConfig {
  ociVersion: string;
  process?: OciProcess;
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: OciMount[];
  hooks?: Partial<Record<'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop', OciHook[]>>;
  annotations?: Record<string, string>;
  linux?: {
    namespaces?: { type: string; path?: string }[];
    uidMappings?: unknown[];
    gidMappings?: unknown[];
    devices?: { path: string; type: string; major?: number; minor?: number; fileMode?: number; uid?: number; gid?: number }[];
    cgroupsPath?: string;
    resources?: OciResources;
    sysctl?: Record<string, string>;
    seccomp?: { defaultAction: string; defaultErrnoRet?: number; architectures?: string[]; flags?: string[]; listenerPath?: string; syscalls?: { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo?: number; op: string }[] }[] };
    rootfsPropagation?: string;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    mountLabel?: string;
    intelRdt?: unknown;
    personality?: unknown;
    timeOffsets?: unknown;
  };
}

/** An error in the bundle's config.json, naming the field. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`config.json ${field}: ${message}`);
  }
}
