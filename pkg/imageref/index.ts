export {
  formatImageRef,
  parseImageRef,
  toCanonicalImageRef,
  toKyvernoString,
  toRegistryHost,
  toWireRepository,
  withDigest,
  type ImageRef,
} from './image-ref.js';
export { compileImageReferencePattern, type ImageReferencePattern } from './image-reference-pattern.js';
export { compileImagePattern, type ImagePattern } from './pattern.js';
export { normaliseRegistryHost } from './registry-host.js';
