export {
  verifyImage,
  type ImageRegistry,
  type Match,
  type VerifyDeps,
  type VerifyOutcome,
  type VerifyRequest,
} from './verify-image.js';
export { verifyRawSignature, type SignatureScheme } from './signature-schemes.js';
