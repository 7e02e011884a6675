// A legacy cosign signature layer as a signed artifact (SIGNATURE_SPEC.md): the layer's blob is the simple-signing
// payload, its annotations hold the base64 signature and, when there are any, the signing certificate, its chain and
// the Rekor entry. Everything is read once here; nothing is verified yet.
import { createPublicKey } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import type { Descriptor } from '../oci/index.js';
import { err, ok, type Result } from '../result/index.js';
import { parseRekorBundle } from './rekor-bundle.js';
import { lazily, type Claims, type SignedArtifact, type SigningCertificate } from './signed-artifact.js';
import { describeSigstoreError } from './sigstore-errors.js';
import { parseSimpleSigningPayload } from './simple-signing.js';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

// Standard base64 with padding, as cosign writes it; an RSA-16384 signature is 2 KiB, so 16 KiB of text is plenty.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_SIGNATURE_TEXT = 16 * 1024;

/** Whether a layer is a signature at all: attestation layers carry an empty signature annotation. */
export function isSignatureLayer(layer: Descriptor): boolean {
  const encoded = layer.annotations?.[SIGNATURE_ANNOTATION];
  return encoded !== undefined && encoded !== '';
}

export function toLegacyArtifact(source: string, layer: Descriptor, payload: Uint8Array): SignedArtifact {
  const encoded = layer.annotations?.[SIGNATURE_ANNOTATION] ?? '';
  const readable = encoded.length <= MAX_SIGNATURE_TEXT && encoded.length % 4 === 0 && BASE64.test(encoded);
  const certificate = layer.annotations?.[CERTIFICATE_ANNOTATION];
  const rekor = layer.annotations?.[BUNDLE_ANNOTATION];
  const claims = lazily((): Result<Claims, string> => {
    const parsed = parseSimpleSigningPayload(payload);
    return parsed.ok ? ok({ $case: 'simple-signing', ...parsed.value }) : parsed;
  });
  return {
    source,
    digest: layer.digest,
    format: 'simple-signing',
    message: payload,
    signature: readable ? Buffer.from(encoded, 'base64') : new Uint8Array(0),
    get claims() {
      return claims();
    },
    ...(certificate ? { certificate: parseSigningCertificate(certificate) } : {}),
    ...(rekor ? { rekor: parseRekorBundle(rekor) } : {}),
  };
}

/** A PEM or DER certificate and its public key, or why it cannot be read. */
export function parseSigningCertificate(cert: string | Uint8Array): Result<SigningCertificate, string> {
  try {
    const certificate = X509Certificate.parse(typeof cert === 'string' ? cert : Buffer.from(cert));
    const key = createPublicKey({ key: certificate.publicKey, format: 'der', type: 'spki' });
    return ok({ certificate, key });
  } catch (e) {
    return err(`the signing certificate does not parse: ${describeSigstoreError(e)}`);
  }
}
