// Container image references, parsed and normalised the way container tooling does it, so that the string a policy
// matches against is the string Kyverno would have produced for the same pod, except that the registry has one
// spelling however the pod wrote it (registry-host.ts).
//
// Grammar: github.com/distribution/reference (regexp.go, normalize.go):
//   https://github.com/distribution/reference/blob/main/regexp.go
//   https://github.com/distribution/reference/blob/main/normalize.go
// Digest validation: github.com/opencontainers/go-digest (algorithm.go), which rejects upper-case hex and lengths
// that do not fit the algorithm.
// Kyverno's string form: github.com/kyverno/kyverno pkg/utils/image/infos.go (ImageInfo.String).

import { err, ok, type Result } from '../result/index.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST, toLongOfficialSpelling, toShortOfficialSpelling } from './docker-hub.js';
import { normaliseRegistryHost } from './registry-host.js';

export interface ImageRef {
  /**
   * host[:port], normalised so that one registry has one spelling: lower case, no ':443', IPv6 in RFC 5952 form;
   * Docker Hub and its aliases are 'docker.io'.
   */
  readonly registry: string;
  /**
   * Path as written: 'nginx' stays 'nginx' and 'library/nginx' stays 'library/nginx', as Kyverno keeps them. Both
   * name the same official image; toCanonicalImageRef gives the one spelling to compare by.
   */
  readonly repository: string;
  /** Absent only when a digest was given without a tag. */
  readonly tag?: string;
  /** 'sha256:<64 lowercase hex>' or 'sha512:<128 lowercase hex>'. */
  readonly digest?: string;
}

/** What Kyverno and the runtimes imply when neither a tag nor a digest is written. */
export const DEFAULT_TAG = 'latest';

// distribution/reference's NameTotalLengthMax, measured on domain + '/' + path.
const MAX_NAME_LENGTH = 255;
// No sensible reference is longer than a 255-character name (plus what normalising the registry removes, such as
// 'registry-1.'), a 128-character tag and a sha512 digest; refusing longer input up front bounds the regex work.
const MAX_REFERENCE_LENGTH = 1024;
// Long inputs are cut in error messages so that an admission response stays readable.
const MAX_QUOTED_LENGTH = 300;

// regexp.go: domainNameComponent, ipv6address, optionalPort.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_PATTERN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
// regexp.go: pathComponent = alphanumeric (separator alphanumeric)*, separator = [._] | __ | -+.
const PATH_COMPONENT_PATTERN = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
// regexp.go: tag. JavaScript's \w without the u flag is [A-Za-z0-9_], the same as RE2's.
const TAG_PATTERN = /^\w[\w.-]{0,127}$/;
// normalize.go: ParseNormalizedNamed refuses a bare image ID, which docker would read as one.
const IMAGE_ID_PATTERN = /^[a-f0-9]{64}$/;

// go-digest's algorithms, narrowed to the two that registries serve; hex must be lower case.
const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['sha256', 64],
  ['sha512', 128],
]);
const LOWER_HEX_PATTERN = /^[a-f0-9]+$/;

/**
 * Parses an image reference as written in a pod spec. Never throws: bad input is an error value whose message
 * quotes the input.
 */
export function parseImageRef(text: string): Result<ImageRef, string> {
  const fail = (reason: string): Result<never, string> => err(`invalid image reference ${quote(text)}: ${reason}`);

  if (text === '') return fail('must not be empty');
  if (text.trim() !== text) return fail('must not have leading or trailing whitespace');
  if (text.length > MAX_REFERENCE_LENGTH) return fail(`must not be longer than ${MAX_REFERENCE_LENGTH} characters`);
  if (IMAGE_ID_PATTERN.test(text)) {
    return fail('a 64-character hexadecimal string is an image ID, not a repository name');
  }

  // name[:tag][@digest]: the digest follows the first '@'; the tag follows a ':' that comes after the last '/',
  // since a ':' before it belongs to the registry's port.
  const at = text.indexOf('@');
  const digest = at === -1 ? undefined : text.slice(at + 1);
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const colon = beforeDigest.lastIndexOf(':');
  const hasTag = colon > beforeDigest.lastIndexOf('/');
  const tag = hasTag ? beforeDigest.slice(colon + 1) : undefined;
  const name = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;

  if (name === '') return fail('repository name is missing');
  const { domain, path } = splitDomain(name);

  if (domain !== undefined && !DOMAIN_PATTERN.test(domain)) {
    return fail(`registry ${quote(domain)} is not a valid host[:port]`);
  }
  // Checked before the grammar, as ParseNormalizedNamed does, so that the message names the actual mistake.
  if (path.toLowerCase() !== path) return fail('repository name must be lowercase');
  if (path === '') return fail('repository name is missing');
  const badComponent = path.split('/').find((component) => !PATH_COMPONENT_PATTERN.test(component));
  if (badComponent !== undefined) {
    return fail(
      `repository ${quote(path)} is not valid: each '/'-separated component must be lowercase letters and digits, ` +
        `joined by single '.', '_', '__' or runs of '-'`,
    );
  }

  const registry = domain === undefined ? DOCKER_HUB : normaliseRegistryHost(domain);
  const fullName = `${registry}/${path}`;
  if (fullName.length > MAX_NAME_LENGTH) {
    return fail(`name ${quote(fullName)} must not be longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag !== undefined && !TAG_PATTERN.test(tag)) {
    return fail(
      `tag ${quote(tag)} is not valid: it must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`,
    );
  }
  if (digest !== undefined) {
    const digestError = checkDigest(digest);
    if (digestError !== undefined) return fail(digestError);
  }

  // Like Kyverno, 'latest' is implied only when nothing pins the image; a digest alone stays untagged.
  const resolvedTag = tag ?? (digest === undefined ? DEFAULT_TAG : undefined);
  // The path is kept as written ('library/nginx' is not shortened to 'nginx'), as Kyverno keeps it: messages and
  // toKyvernoString then show what the pod said, and a digest pinned into the pod can keep the pod's spelling.
  // Shortening here would gain no safety: an ImageReferencePattern tries both spellings, toWireRepository sends both
  // the same way, and toCanonicalImageRef gives the one spelling to compare or cache by.
  return ok({
    registry,
    repository: path,
    ...(resolvedTag === undefined ? {} : { tag: resolvedTag }),
    ...(digest === undefined ? {} : { digest }),
  });
}

/**
 * Kyverno's ImageInfo.String(): the form image patterns in policies are matched against. A digest wins over a tag,
 * which is dropped.
 */
export function toKyvernoString(ref: ImageRef): string {
  const name = `${ref.registry}/${ref.repository}`;
  return ref.digest === undefined ? `${name}:${ref.tag ?? DEFAULT_TAG}` : `${name}@${ref.digest}`;
}

/**
 * One spelling per image name: an official Docker Hub image without 'library/', as Kyverno writes 'nginx'. Two
 * references name the same repository exactly when their canonical forms have the same registry and repository.
 */
export function toCanonicalImageRef(ref: ImageRef): ImageRef {
  const repository = toShortOfficialSpelling(ref.registry, ref.repository);
  return repository === ref.repository ? ref : { ...ref, repository };
}

/** The repository as the registry API names it: Docker Hub's official images live under 'library/'. */
export function toWireRepository(ref: ImageRef): string {
  return toLongOfficialSpelling(ref.registry, ref.repository);
}

/** The host to connect to: Docker Hub's API is not served on 'docker.io' itself. */
export function toRegistryHost(ref: ImageRef): string {
  return ref.registry === DOCKER_HUB ? DOCKER_HUB_API_HOST : ref.registry;
}

/**
 * Pins a reference to a digest, keeping its tag. The digest is trusted as given: it is meant to come from a
 * registry's response or from a reference that parseImageRef already accepted.
 */
export function withDigest(ref: ImageRef, digest: string): ImageRef {
  return { ...ref, digest };
}

/**
 * The canonical full string, registry/repository[:tag][@digest], which parseImageRef reads back unchanged. It spells
 * the registry in normalised form, so it is not the pod's own text: write a pinned image back from what the pod
 * said, not from this.
 */
export function formatImageRef(ref: ImageRef): string {
  const tag = ref.tag === undefined ? '' : `:${ref.tag}`;
  const digest = ref.digest === undefined ? '' : `@${ref.digest}`;
  return `${toRecognisableRegistry(ref.registry)}/${ref.repository}${tag}${digest}`;
}

/**
 * normalize.go's splitDockerDomain: the first component is a registry only if it looks like one ('.', ':',
 * 'localhost', or upper case, which a repository may not contain). Otherwise the whole name is a Docker Hub path.
 */
function splitDomain(name: string): { domain: string | undefined; path: string } {
  const slash = name.indexOf('/');
  if (slash === -1) return { domain: undefined, path: name };
  const first = name.slice(0, slash);
  return looksLikeRegistry(first) ? { domain: first, path: name.slice(slash + 1) } : { domain: undefined, path: name };
}

/**
 * A one-label registry such as 'foo' (from 'Foo/bar') is only read as a registry when written with upper case, as
 * splitDomain shows; in lower case it would read back as a Docker Hub path, a different image.
 */
function toRecognisableRegistry(registry: string): string {
  return looksLikeRegistry(registry) ? registry : registry.toUpperCase();
}

function looksLikeRegistry(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first;
}

/** Returns why a digest is unacceptable, or undefined when it is fine. */
function checkDigest(digest: string): string | undefined {
  const colon = digest.indexOf(':');
  if (colon === -1) return `digest ${quote(digest)} is not of the form algorithm:hex`;
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = DIGEST_HEX_LENGTHS.get(algorithm);
  if (length === undefined) {
    return `digest ${quote(digest)} uses an unsupported algorithm; only sha256 and sha512 are accepted`;
  }
  if (hex.length !== length || !LOWER_HEX_PATTERN.test(hex)) {
    return `digest ${quote(digest)} must have exactly ${length} lowercase hex characters after '${algorithm}:'`;
  }
  return undefined;
}

/** JSON quoting makes whitespace and control characters visible in messages. */
function quote(text: string): string {
  return text.length > MAX_QUOTED_LENGTH
    ? `${JSON.stringify(text.slice(0, MAX_QUOTED_LENGTH))}…`
    : JSON.stringify(text);
}
