// Media types of the OCI image spec (https://github.com/opencontainers/image-spec/blob/main/media-types.md), Docker's
// schema 2 (https://distribution.github.io/distribution/spec/manifest-v2-2/) and Sigstore's bundle.

export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const MEDIA_TYPE_SIGSTORE_BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST_LIST]);
export const IMAGE_MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST,
]);

/** Every manifest type we read, for content negotiation. Docker schema 1 is not accepted: it cannot be verified by digest. */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST,
].join(', ');
