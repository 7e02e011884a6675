// Policy patterns for images (imageReferences, skipImageReferences), matched so that one image has one outcome
// however the pod spells it.
//
// Kyverno matches a pattern, with its wildcards (pattern.ts), against one string per image, ImageInfo.String():
// registry/path:tag, or registry/path@digest when there is a digest. That string follows the pod's spelling, so
// 'GHCR.IO/acme/app', 'ghcr.io:443/acme/app' and 'registry-1.docker.io/x' escape patterns written for 'ghcr.io' and
// 'docker.io', and 'docker.io/library/nginx' escapes 'docker.io/nginx*'. Here a pattern matches an image when it
// matches Kyverno's string for any spelling of that image:
//
// - the registry: any case, with or without ':443', and Docker Hub under any of its names. A pattern whose host part
//   (before its first '/') has no wildcard is normalised once, as parseImageRef normalises a pod's registry, and
//   compared with the image's registry directly. A host part with wildcards cannot be normalised, so the image's
//   registry is tried in each spelling instead: as normalised, with ':443' when it has no port, and Docker Hub as
//   'index.docker.io' and 'registry-1.docker.io'; upper-case letters in the pattern match where they fall on the
//   host. Leading zeros in ports and IPv6 spellings are only normalised, not tried.
// - the repository: an official Docker Hub image as 'nginx' and as 'library/nginx'.
// - the tag and digest: for an image with both, `matches` also tries repo:tag and repo:tag@digest, so a pattern
//   with a tag still covers the image once it is pinned. `matchesPulledImage` does not: the runtime pulls by the
//   digest and ignores a tag beside it, so that tag says nothing about the image and must not earn a skip.
//
// Every spelling of an image parses to the same ImageRef (but for 'library/', which is tried both ways), so the
// outcome cannot depend on the spelling; trying the spellings makes it the outcome Kyverno gives the spelling most
// favourable to the pattern. For
// imageReferences that verifies at least what Kyverno would; for skipImageReferences (with matchesPulledImage) it
// skips what a pod could already have had skipped by choosing its spelling, and no more.
//
// A pattern without a registry ('nginx*') means what it means to Kyverno, whose string always begins with one: its
// first characters are compared with the registry, so it does not match Docker Hub's nginx.
//
// Each call builds a few candidate strings (at most 36, for an official Docker Hub image with tag and digest against
// a pattern with a wildcard host that matches none of them) and matches each in O(pattern × candidate).

import { DOCKER_HUB, DOCKER_HUB_ALIASES, toOtherOfficialSpelling } from './docker-hub.js';
import { DEFAULT_TAG, type ImageRef } from './image-ref.js';
import { collapseStars, hasWildcard, matchWildcard } from './pattern.js';
import { DEFAULT_HTTPS_PORT, hasExplicitPort, normaliseRegistryHost } from './registry-host.js';

export interface ImageReferencePattern {
  readonly source: string;
  /**
   * For imageReferences: whether the pattern matches any spelling of the image, including, for an image with a tag
   * and a digest, the tag. Do not use for skipImageReferences: a pod may write any tag beside a digest.
   */
  matches(ref: ImageRef): boolean;
  /**
   * For skipImageReferences: as `matches`, except that an image with a digest is matched only by its digest, which
   * is what the runtime pulls.
   */
  matchesPulledImage(ref: ImageRef): boolean;
}

const DOCKER_HUB_SPELLINGS: readonly string[] = [DOCKER_HUB, ...DOCKER_HUB_ALIASES].flatMap((host) => [
  host,
  `${host}:${DEFAULT_HTTPS_PORT}`,
]);

/** Compiles a pattern once, at policy compile time. `ref`s given to it are as parseImageRef returns them. */
export function compileImageReferencePattern(source: string): ImageReferencePattern {
  const pattern = collapseStars(source);
  // '*' matches every string, so every spelling of every image: no candidates to build (the common catch-all).
  if (pattern === '*') return { source, matches: () => true, matchesPulledImage: () => true };
  const slash = pattern.indexOf('/');
  const host = slash === -1 ? undefined : pattern.slice(0, slash);

  if (host !== undefined && !hasWildcard(host)) {
    const registry = normaliseRegistryHost(host);
    // What follows the host starts at the first '/', both in the pattern and in every candidate.
    const rest = pattern.slice(slash);
    const restIsLiteral = !hasWildcard(rest);
    const matchRest = (candidate: string): boolean =>
      restIsLiteral ? candidate === rest : matchWildcard(rest, candidate);
    // The host is compared first and whole, so the candidates are only what follows it (an empty host spelling).
    const matchLiteralHost = (ref: ImageRef, trustTag: boolean): boolean =>
      ref.registry === registry &&
      someCandidate([''], toRepositorySpellings(ref), toReferenceSpellings(ref, trustTag), matchRest);
    return {
      source,
      matches: (ref) => matchLiteralHost(ref, true),
      matchesPulledImage: (ref) => matchLiteralHost(ref, false),
    };
  }

  const matchWildcardHost = (ref: ImageRef, trustTag: boolean): boolean =>
    someCandidate(
      toHostSpellings(ref.registry),
      toRepositorySpellings(ref),
      toReferenceSpellings(ref, trustTag),
      (candidate, hostLength) => matchWildcard(pattern, candidate, hostLength),
    );
  return {
    source,
    matches: (ref) => matchWildcardHost(ref, true),
    matchesPulledImage: (ref) => matchWildcardHost(ref, false),
  };
}

/** Tries host/repository + reference for each combination, stopping at the first that matches. */
function someCandidate(
  hosts: readonly string[],
  repositories: readonly string[],
  references: readonly string[],
  match: (candidate: string, hostLength: number) => boolean,
): boolean {
  for (const host of hosts) {
    for (const repository of repositories) {
      for (const reference of references) {
        if (match(`${host}/${repository}${reference}`, host.length)) return true;
      }
    }
  }
  return false;
}

function toHostSpellings(registry: string): readonly string[] {
  if (registry === DOCKER_HUB) return DOCKER_HUB_SPELLINGS;
  return hasExplicitPort(registry) ? [registry] : [registry, `${registry}:${DEFAULT_HTTPS_PORT}`];
}

function toRepositorySpellings(ref: ImageRef): readonly string[] {
  const other = toOtherOfficialSpelling(ref.registry, ref.repository);
  return other === undefined ? [ref.repository] : [ref.repository, other];
}

/** Kyverno's form first (the digest when there is one), then the forms that also name the tag. */
function toReferenceSpellings(ref: ImageRef, trustTag: boolean): readonly string[] {
  if (ref.digest === undefined) return [`:${ref.tag ?? DEFAULT_TAG}`];
  const pinned = `@${ref.digest}`;
  return trustTag && ref.tag !== undefined ? [pinned, `:${ref.tag}`, `:${ref.tag}${pinned}`] : [pinned];
}
