// A Sigstore bundle that cosign attached to an image as an OCI referrer (BUNDLE_SPEC.md) as a signed artifact.
// cosign v3 `sign` and `attest` both write a DSSE envelope over an in-toto statement; the statement is parsed once
// here, and the bundle and its signed entity are built once for @sigstore/verify. Nothing is verified yet.
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { err, ok, type Result } from '../result/index.js';
import { parseSigningCertificate } from './legacy-artifact.js';
import { lazily, type Claims, type SignedArtifact, type SigningCertificate } from './signed-artifact.js';
import { describeSigstoreError } from './sigstore-errors.js';
import { IN_TOTO_PAYLOAD_TYPE, parseInTotoStatement } from './statement.js';
import { quoteText } from '../text/index.js';

export const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
/** The referrer manifest annotation cosign writes with the statement's predicate type. */
export const BUNDLE_PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

/** Reads a bundle blob; the error says why it is not a bundle. */
export function toBundleArtifact(source: string, digest: string, blob: Uint8Array): Result<SignedArtifact, string> {
  let bundle: Bundle;
  let entity: SignedEntity;
  try {
    bundle = bundleFromJSON(JSON.parse(Buffer.from(blob).toString('utf8')));
    entity = toSignedEntity(bundle);
  } catch (e) {
    return err(`${source}: ${describeSigstoreError(e)}`);
  }
  const material = bundle.verificationMaterial.content;
  const leaf =
    material.$case === 'certificate'
      ? material.certificate.rawBytes
      : material.$case === 'x509CertificateChain'
        ? material.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  const certificate: Result<SigningCertificate, string> | undefined =
    leaf === undefined ? undefined : parseSigningCertificate(leaf);
  if (bundle.content.$case !== 'dsseEnvelope') {
    return ok({
      source,
      digest,
      format: 'sigstore-bundle',
      message: new Uint8Array(0),
      signature: new Uint8Array(0),
      claims: err('the bundle holds a message signature, not a DSSE envelope'),
      ...(certificate ? { certificate } : {}),
      sigstore: { bundle, entity },
    });
  }
  const { payloadType, payload, signatures } = bundle.content.dsseEnvelope;
  const message = lazily(() => toPreAuthenticationEncoding(payloadType, payload));
  const claims = lazily(() => toStatementClaims(payloadType, payload));
  return ok({
    source,
    digest,
    format: 'sigstore-bundle',
    get message() {
      return message();
    },
    // A bundle holds exactly one signature (sigstore-js assertBundleLatest); more is not a cosign bundle.
    signature: signatures.length === 1 ? signatures[0]!.sig : new Uint8Array(0),
    get claims() {
      return claims();
    },
    ...(certificate ? { certificate } : {}),
    sigstore: { bundle, entity },
  });
}

function toStatementClaims(payloadType: string, payload: Buffer): Result<Claims, string> {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return err(`payload type ${quoteText(payloadType)} is not in-toto`);
  }
  const statement = parseInTotoStatement(payload);
  return statement.ok ? ok({ $case: 'in-toto', ...statement.value }) : statement;
}

/** DSSE's pre-authentication encoding, the bytes a DSSE signature covers (dsse/protocol.md). */
export function toPreAuthenticationEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}
