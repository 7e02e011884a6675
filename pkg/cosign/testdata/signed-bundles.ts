// Sigstore bundles as cosign v3 writes them for `cosign sign`, made in a test's memory: a DSSE envelope over an in-toto
// statement (BUNDLE_SPEC.md), signed with a key (`cosign sign --key`), or keyless with a leaf of a test CA and logged
// in a test log as the dsse 0.0.1 entry Rekor v1 makes, with its signed entry timestamp as inclusion promise. The test
// log signs no checkpoints, so a keyless bundle has no inclusion proof, and is a v0.1 bundle (the one version that
// does not require a proof) rather than the v0.3 cosign writes; @sigstore/verify checks both alike.
import { createHash, sign, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, toDSSEBundle, type Bundle } from '@sigstore/bundle';
import type { TestLeaf } from '../../trust/testdata/test-ca.js';
import type { TestLog } from '../../trust/testdata/test-log.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export interface StatementSubject {
  readonly digest: string;
  readonly annotations?: Readonly<Record<string, unknown>>;
}

/** An in-toto statement about `subjects` (image digests, algorithm:hex), as cosign sign writes it. */
export function statement(
  subjects: string | readonly StatementSubject[],
  predicateType = COSIGN_SIGN_PREDICATE_TYPE,
): Buffer {
  const list = typeof subjects === 'string' ? [{ digest: subjects }] : subjects;
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: list.map((s) => {
        const colon = s.digest.indexOf(':');
        return {
          name: 'registry.example/team/app',
          digest: { [s.digest.slice(0, colon)]: s.digest.slice(colon + 1) },
          ...(s.annotations ? { annotations: s.annotations } : {}),
        };
      }),
      predicateType,
      predicate: {},
    }),
  );
}

/** DSSE's pre-authentication encoding: what the signature covers. */
export function preAuthenticationEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** A bundle signed with a key, hashing with `hash` (null for Ed25519), and no log entry. */
export function keyBundle(
  privateKey: KeyObject,
  payload: Buffer,
  hash: string | null = 'sha256',
  payloadType = IN_TOTO_PAYLOAD_TYPE,
): Bundle {
  return toDSSEBundle({
    artifact: payload,
    artifactType: payloadType,
    signature: sign(hash, preAuthenticationEncoding(payloadType, payload), privateKey),
    keyHint: 'hint',
  });
}

/**
 * A keyless bundle: signed by `leaf`'s key, with its certificate, and logged in `log` (at `integratedTime`, now by
 * default) when a log is given.
 */
export function keylessBundle(
  leaf: TestLeaf,
  log: TestLog | undefined,
  payload: Buffer,
  integratedTime?: number,
): Bundle {
  const signature = sign('sha256', preAuthenticationEncoding(IN_TOTO_PAYLOAD_TYPE, payload), leaf.privateKey);
  const bundle = toDSSEBundle({
    artifact: payload,
    artifactType: IN_TOTO_PAYLOAD_TYPE,
    signature,
    certificate: leaf.der,
  });
  if (!log) return bundle;
  const body = {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
      signatures: [{ signature: signature.toString('base64'), verifier: Buffer.from(leaf.pem).toString('base64') }],
    },
  };
  const { SignedEntryTimestamp, Payload } = JSON.parse(log.logBody(body, integratedTime)) as {
    SignedEntryTimestamp: string;
    Payload: { body: string; integratedTime: number; logID: string; logIndex: number };
  };
  const json = bundleToJSON(bundle);
  return bundleFromJSON({
    ...json,
    mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
    verificationMaterial: {
      ...json.verificationMaterial,
      tlogEntries: [
        {
          logIndex: String(Payload.logIndex),
          logId: { keyId: Buffer.from(Payload.logID, 'hex').toString('base64') },
          kindVersion: { kind: 'dsse', version: '0.0.1' },
          integratedTime: String(Payload.integratedTime),
          inclusionPromise: { signedEntryTimestamp: SignedEntryTimestamp },
          canonicalizedBody: Payload.body,
        },
      ],
    },
  });
}

/** The bundle as the blob of a referrer manifest. */
export function toBlob(bundle: Bundle): Buffer {
  return Buffer.from(JSON.stringify(bundleToJSON(bundle)));
}
