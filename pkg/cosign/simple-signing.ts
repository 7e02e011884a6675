// The simple-signing payload of legacy cosign signatures
// (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md): the signature covers the exact payload
// bytes; the claims are read from them afterwards, once. Only critical.image.docker-manifest-digest is binding (the
// spec ignores docker-reference), and `optional` holds the annotations a policy may require.
import { err, ok, type Result } from '../result/index.js';

export interface SimpleSigningClaims {
  readonly manifestDigest: string;
  /** The `optional` map: `cosign sign -a` annotations. */
  readonly annotations: ReadonlyMap<string, unknown>;
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
  return ok({ manifestDigest: digest, annotations: new Map(isObject(optional) ? Object.entries(optional) : []) });
}

/**
 * Reads a key the way Go's encoding/json, which cosign uses, matches struct fields: an exact match first, then a
 * case-insensitive one (the spec's own example writes "Docker-manifest-digest"). Own properties only.
 */
function field(value: unknown, name: string): unknown {
  if (!isObject(value)) return undefined;
  if (Object.hasOwn(value, name)) return value[name];
  const lower = name.toLowerCase();
  const key = Object.keys(value).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : value[key];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
