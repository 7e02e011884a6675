export {
  formatImageRef,
  parseImageRef,
  toKyvernoString,
  toRegistryHost,
  toWireRepository,
  withDigest,
  type ImageRef,
} from './image-ref.js';
export { compileImagePattern, type ImagePattern } from './pattern.js';
