// Docker Hub's naming conventions, which are the one place where two different-looking names are the same image:
// the registry has several names, and an official image may be written with or without 'library/'.
//
// docker and go-containerregistry: github.com/distribution/reference normalize.go (legacyDefaultDomain,
// officialRepoPrefix), github.com/google/go-containerregistry pkg/name/registry.go (DefaultRegistry).

/** The name Kyverno and this package give Docker Hub in image references. */
export const DOCKER_HUB = 'docker.io';

/** The host Docker Hub's registry API answers on, as go-containerregistry's name.DefaultRegistry has it. */
export const DOCKER_HUB_API_HOST = 'index.docker.io';

/** The other names docker and go-containerregistry accept for Docker Hub, lower case. */
export const DOCKER_HUB_ALIASES: readonly string[] = [DOCKER_HUB_API_HOST, 'registry-1.docker.io'];

const OFFICIAL_PREFIX = 'library/';

/**
 * The other way to write an official Docker Hub image: 'nginx' for 'library/nginx' and the reverse. Undefined for
 * any other repository, including 'library/a/b', which is not an official image.
 */
export function toOtherOfficialSpelling(registry: string, repository: string): string | undefined {
  if (registry !== DOCKER_HUB) return undefined;
  if (!repository.includes('/')) return `${OFFICIAL_PREFIX}${repository}`;
  const short = repository.slice(OFFICIAL_PREFIX.length);
  return repository.startsWith(OFFICIAL_PREFIX) && !short.includes('/') ? short : undefined;
}

/** The repository as Kyverno writes an official image when the pod does not name it: 'nginx', not 'library/nginx'. */
export function toShortOfficialSpelling(registry: string, repository: string): string {
  const other = toOtherOfficialSpelling(registry, repository);
  return other !== undefined && !other.includes('/') ? other : repository;
}

/** The repository as Docker Hub's API names it: official images live under 'library/'. */
export function toLongOfficialSpelling(registry: string, repository: string): string {
  const other = toOtherOfficialSpelling(registry, repository);
  return other?.startsWith(OFFICIAL_PREFIX) ? other : repository;
}
