// The volumes hook (issue: volumes and configuration data). Registers itself with the runtime.
export {};
