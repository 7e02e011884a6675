export { computeDigest, isDigest, matchesDigest, digestAlgorithm, type DigestAlgorithm } from './digest.js';
export {
  mergeDockerConfigs,
  parseDockerCfg,
  parseDockerConfigJson,
  type DockerConfig,
  type RegistryCredentials,
} from './docker-config.js';
export type { AddressKind } from './address-kind.js';
export type { AllowedAddresses } from './address-policy.js';
export { OCI_ERROR_CODES, type OciErrorCode, type OciFailure } from './errors.js';
export * from './media-types.js';
export {
  DEFAULT_LIMITS,
  RegistryClient,
  type CallOptions,
  type FetchedManifest,
  type OciLimits,
  type Referrers,
  type RegistryClientOptions,
} from './registry-client.js';
export type { FetchInit, FetchLike, FetchLikeResponse } from './fetch-like.js';
export type { ObservedRequest, RequestObserver } from './request-observer.js';
export type { Descriptor, ImageIndex, ImageManifest, Manifest } from './types.js';
