// A legacy cosign attestation layer as signed artifacts (cosign-formats.md §1.6): the layer's blob is a DSSE envelope
// (https://github.com/secure-systems-lab/dsse/blob/master/envelope.md) over an in-toto statement, its annotations
// carry the predicate type and, when there are any, the signing certificate and the Rekor entry, as a .sig layer's
// do. The envelope is read as written and never serialised again: the Rekor entry covers its bytes.
//
// An envelope may hold several signatures; each becomes an artifact of its own (the same statement, another
// signature), so that every attestor × signature check is the same one as for signatures. Nothing is verified here.
import type { Descriptor } from '../oci/index.js';
import { err, ok, type Result } from '../result/index.js';
import { quoteText } from '../text/index.js';
import { toPreAuthenticationEncoding } from './bundle-artifact.js';
import { BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, parseSigningCertificate } from './legacy-artifact.js';
import { parseRekorBundle } from './rekor-bundle.js';
import { lazily, type Claims, type SignedArtifact } from './signed-artifact.js';
import { IN_TOTO_PAYLOAD_TYPE, parseInTotoStatement } from './statement.js';

export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
/** The layer annotation cosign writes with the statement's predicate type. */
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';

/** Signatures read from one envelope; cosign writes one, and more would only multiply the checks. */
const MAX_ENVELOPE_SIGNATURES = 4;
/** A signature's base64 text: an RSA-16384 signature is 2 KiB, so 16 KiB is plenty. */
const MAX_SIGNATURE_TEXT = 16 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Whether a layer is a DSSE envelope: what cosign attest writes into the .att manifest. */
export function isDsseLayer(layer: Descriptor): boolean {
  return layer.mediaType === DSSE_MEDIA_TYPE;
}

/** Reads an envelope blob; the error says why it is not one. */
export function toDsseArtifacts(source: string, layer: Descriptor, blob: Uint8Array): Result<SignedArtifact[], string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(blob).toString('utf8'));
  } catch {
    return err(`${source}: the DSSE envelope is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return err(`${source}: the DSSE envelope is not a JSON object`);
  }
  const { payloadType, payload: encoded, signatures } = json as Record<string, unknown>;
  if (typeof payloadType !== 'string') return err(`${source}: the DSSE envelope has no payloadType`);
  const payload = typeof encoded === 'string' ? decodeBase64(encoded) : undefined;
  if (payload === undefined) return err(`${source}: the DSSE envelope's payload is not base64`);
  if (!Array.isArray(signatures) || signatures.length === 0) {
    return err(`${source}: the DSSE envelope has no signatures`);
  }
  const message = lazily(() => toPreAuthenticationEncoding(payloadType, payload));
  const claims = lazily((): Result<Claims, string> => {
    if (payloadType !== IN_TOTO_PAYLOAD_TYPE) return err(`payload type ${quoteText(payloadType)} is not in-toto`);
    const statement = parseInTotoStatement(payload);
    return statement.ok ? ok({ $case: 'in-toto', ...statement.value }) : statement;
  });
  const certificate = layer.annotations?.[CERTIFICATE_ANNOTATION];
  const rekor = layer.annotations?.[BUNDLE_ANNOTATION];
  // Parsed once for every signature of the envelope.
  const shared = {
    digest: layer.digest,
    format: 'dsse-envelope' as const,
    ...(certificate ? { certificate: parseSigningCertificate(certificate) } : {}),
    ...(rekor ? { rekor: parseRekorBundle(rekor) } : {}),
    envelope: { bytes: blob, payload, payloadType },
  };
  const artifacts = (signatures as unknown[]).slice(0, MAX_ENVELOPE_SIGNATURES).map((s, i): SignedArtifact => ({
    ...shared,
    source: signatures.length > 1 ? `${source} signature ${i}` : source,
    get message() {
      return message();
    },
    signature: toSignatureBytes(s),
    get claims() {
      return claims();
    },
  }));
  return ok(artifacts);
}

/** A signature entry's bytes; empty when it has none that can be read (the artifact then verifies with nothing). */
function toSignatureBytes(entry: unknown): Uint8Array {
  const sig = typeof entry === 'object' && entry !== null ? (entry as { sig?: unknown }).sig : undefined;
  if (typeof sig !== 'string' || sig.length > MAX_SIGNATURE_TEXT) return new Uint8Array(0);
  return decodeBase64(sig) ?? new Uint8Array(0);
}

/** DSSE's base64: standard, else URL-safe, as go-securesystemslib's decoder tries them. */
function decodeBase64(text: string): Buffer | undefined {
  if (BASE64.test(text)) return Buffer.from(text, 'base64');
  if (BASE64URL.test(text)) return Buffer.from(text, 'base64url');
  return undefined;
}
