// The volumes pod hook (issue 4): volumes, volumeMounts and env references. Registers itself
// when imported (runtime/all-hooks.ts imports it after the network hook, whose prepare sets
// facts.podIP / hostIP that env fieldRefs read).

import { registerHook, type PodHook } from '../runtime/hooks.ts';
import { contributeVolumes } from './contribute.ts';
import { prepareVolumes } from './prepare.ts';

export const volumesHook: PodHook = {
  name: 'volumes',
  contribute: (ctx) => contributeVolumes(ctx),
  prepare: async (ctx, host) => prepareVolumes(ctx, host),
};

registerHook(volumesHook);
