// Local images: reference grammar, the store under <lib>/images, and safe unpacking.

export { ImageRefError, canonicalImageRef, lookupCandidates, parseImageRef, type ImageRef } from './ref.ts';
export {
  DEFAULT_PATH,
  imageRootfs,
  imageOrigin,
  importImage,
  listImages,
  pruneImages,
  removeImage,
  resolveImage,
  tagImage,
  withImagesLock,
  type ImageConfig,
  type ImageRecord,
  type ImportOptions,
  type InUse,
} from './store.ts';
export { TarEntryError, detectCompression, tarExtractArgs, unpack, type Compression, type UnpackResult } from './unpack.ts';
export { pullImage, type PullEvent, type PullOptions } from './pull.ts';
