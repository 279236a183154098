// Volumes and configuration data: what other parts of minipod use from here.
export { validateVolumes, type VolumeProblem } from './validate.ts';
export { contributeVolumes } from './contribute.ts';
export { resolveEnv } from './env.ts';
export { projectVolume, type ProjectedFile } from './projection.ts';
