// Content digests (https://github.com/opencontainers/image-spec/blob/main/descriptor.md#digests): only sha256 and
// sha512 are registered, and every byte we read from a registry is checked against one.
import { createHash } from 'node:crypto';

const PATTERNS = { sha256: /^sha256:[a-f0-9]{64}$/, sha512: /^sha512:[a-f0-9]{128}$/ } as const;

export type DigestAlgorithm = keyof typeof PATTERNS;

export function isDigest(text: string): boolean {
  return PATTERNS.sha256.test(text) || PATTERNS.sha512.test(text);
}

export function digestAlgorithm(digest: string): DigestAlgorithm | undefined {
  if (PATTERNS.sha256.test(digest)) return 'sha256';
  if (PATTERNS.sha512.test(digest)) return 'sha512';
  return undefined;
}

export function computeDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** Whether `bytes` hash to `digest`, with the digest's own algorithm. */
export function matchesDigest(bytes: Uint8Array, digest: string): boolean {
  const algorithm = digestAlgorithm(digest);
  return algorithm !== undefined && computeDigest(bytes, algorithm) === digest;
}
