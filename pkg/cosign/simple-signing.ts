// The simple-signing payload of legacy cosign signatures
// (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md): the signature covers the exact payload
// bytes; the claims are read from them afterwards. Only critical.image.docker-manifest-digest is binding (the spec
// ignores docker-reference), and optional holds the annotations a policy may require.
import { err, ok, type Result } from '../result/index.js';

export interface SimpleSigningClaims {
  readonly manifestDigest: string;
  readonly optional: Readonly<Record<string, unknown>>;
}

export function parseSimpleSigningPayload(bytes: Uint8Array): Result<SimpleSigningClaims, string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return err('payload is not JSON');
  }
  const critical = field(json, 'critical');
  const image = field(critical, 'image');
  const digest = field(image, 'docker-manifest-digest');
  if (typeof digest !== 'string' || digest === '') return err('payload has no critical.image.docker-manifest-digest');
  const optional = field(json, 'optional');
  return ok({
    manifestDigest: digest,
    optional:
      typeof optional === 'object' && optional !== null && !Array.isArray(optional)
        ? (optional as Record<string, unknown>)
        : {},
  });
}

/** Whether every required annotation is present with the same value (cosign's correctAnnotations). */
export function hasAnnotations(
  optional: Readonly<Record<string, unknown>>,
  required: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(required).every(([k, v]) => optional[k] === v);
}

/**
 * Reads a key the way Go's encoding/json, which cosign uses, matches struct fields: an exact match first, then a
 * case-insensitive one (the spec's own example writes "Docker-manifest-digest").
 */
function field(value: unknown, name: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const obj = value as Record<string, unknown>;
  if (name in obj) return obj[name];
  const lower = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : obj[key];
}
