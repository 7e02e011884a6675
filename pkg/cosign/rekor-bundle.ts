// The transparency-log proof that legacy cosign signatures carry in their dev.sigstore.cosign/bundle annotation
// (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md#properties): Rekor's signed entry timestamp
// (SET) over the entry it logged. Checked offline, as cosign's VerifyBundle does (cosign-formats.md §2.5):
//   1. the SET is a signature by a trusted Rekor key, chosen by the entry's logID, valid at the integrated time,
//      over the RFC 8785 canonical JSON of {body, integratedTime, logID, logIndex};
//   2. the logged entry is this signature: for a signature (hashedrekord or rekord 0.0.1), the same signature bytes,
//      the same key or certificate, and the hash of this payload; for an attestation (dsse 0.0.1, what cosign attest
//      logs), the SHA-256 of this envelope as stored and of its payload, and this signature by this key or
//      certificate among the entry's signatures.
// The integrated time it proves is when the signature existed, which is the time a certificate is checked at.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { json as canonicalJson } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { err, ok, type Result } from '../result/index.js';
import { quoteText } from '../text/index.js';

type TLogAuthority = TrustMaterial['tlogs'][number];

/** Who made the signature: the key, or the certificate whose key it is. */
export type Signer = { readonly key: KeyObject } | { readonly certificate: Uint8Array };

export interface LoggedSignature {
  /** The signed bytes: the simple-signing payload, or a DSSE envelope's pre-authentication encoding. */
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly signer: Signer;
  /** For an attestation: the envelope as stored and its decoded payload, which a dsse entry hashes. */
  readonly envelope?: { readonly bytes: Uint8Array; readonly payload: Uint8Array };
}

export interface TlogProof {
  readonly integratedTime: Date;
  readonly logIndex: number;
  /** Hex SHA-256 of the log's key. */
  readonly logId: string;
  /** The annotation as read, for checks that need the entry again (a certificate's, by @sigstore/verify). */
  readonly bundle: RekorBundle;
}

export interface RekorBundle {
  readonly set: Buffer;
  readonly payload: RekorPayload;
}

export interface RekorPayload {
  readonly body: string;
  readonly integratedTime: number;
  readonly logIndex: number;
  readonly logID: string;
}

/**
 * Verifies a parsed annotation's SET and that the entry it covers is `signed`; the error says what did not hold.
 * `annotation` is what parseRekorBundle made of the layer's annotation, or undefined when the layer had none.
 */
export function verifyRekorBundle(
  annotation: Result<RekorBundle, string> | undefined,
  signed: LoggedSignature,
  tlogs: readonly TLogAuthority[],
): Result<TlogProof, string> {
  if (annotation === undefined) {
    return err(
      'the signature has no transparency-log entry (no dev.sigstore.cosign/bundle annotation), and Rekor is not ' +
        'searched online; sign with a transparency log or set rekor.ignoreTlog',
    );
  }
  if (!annotation.ok) return annotation;
  const { set, payload } = annotation.value;
  const integratedTime = new Date(payload.integratedTime * 1000);
  const logs = tlogs.filter(
    (t) =>
      t.logID.toString('hex') === payload.logID &&
      t.validFor.start <= integratedTime &&
      integratedTime <= t.validFor.end,
  );
  if (logs.length === 0) {
    return err(`no trusted Rekor key for log ${payload.logID} at ${integratedTime.toISOString()}`);
  }
  // Rebuilt from the parsed fields, so that only the four signed members are covered, in canonical order.
  const signedBytes = Buffer.from(
    canonicalJson.canonicalize({
      body: payload.body,
      integratedTime: payload.integratedTime,
      logID: payload.logID,
      logIndex: payload.logIndex,
    }),
  );
  if (!logs.some((log) => verifyWithLogKey(log.publicKey, signedBytes, set))) {
    return err(`the signed entry timestamp of log entry ${payload.logIndex} does not verify with the Rekor key`);
  }
  const entry = checkEntry(Buffer.from(payload.body, 'base64'), signed);
  if (!entry.ok) return err(`log entry ${payload.logIndex}: ${entry.error}`);
  return ok({ integratedTime, logIndex: payload.logIndex, logId: payload.logID, bundle: annotation.value });
}

/** Reads the dev.sigstore.cosign/bundle annotation; nothing is verified yet. */
export function parseRekorBundle(annotation: string): Result<RekorBundle, string> {
  let json: unknown;
  try {
    json = JSON.parse(annotation);
  } catch {
    return err('the dev.sigstore.cosign/bundle annotation is not JSON');
  }
  const { SignedEntryTimestamp: set, Payload: payload } = isObject(json) ? json : {};
  if (typeof set !== 'string' || set === '' || !isObject(payload)) {
    return err('the dev.sigstore.cosign/bundle annotation lacks SignedEntryTimestamp or Payload');
  }
  const { body, integratedTime, logIndex, logID } = payload;
  if (
    typeof body !== 'string' ||
    !Number.isSafeInteger(integratedTime) ||
    !Number.isSafeInteger(logIndex) ||
    typeof logID !== 'string' ||
    !/^[0-9a-f]{64}$/.test(logID)
  ) {
    return err('the dev.sigstore.cosign/bundle Payload needs body, integratedTime, logIndex and a hex logID');
  }
  // A Date holds ±8.64e15 ms; a time beyond it would make an Invalid Date, which throws when printed.
  if (Math.abs(integratedTime as number) > 8.64e12) {
    return err(`the dev.sigstore.cosign/bundle integratedTime ${integratedTime as number} is not a time`);
  }
  return ok({
    set: Buffer.from(set, 'base64'),
    payload: { body, integratedTime: integratedTime as number, logIndex: logIndex as number, logID },
  });
}

function verifyWithLogKey(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key, signature);
  } catch {
    return false;
  }
}

// A Map, not an object: a logged algorithm named "constructor" or "__proto__" must find nothing.
const HASHES: ReadonlyMap<string, string> = new Map([
  ['sha256', 'sha256'],
  ['sha384', 'sha384'],
  ['sha512', 'sha512'],
]);

/** The logged hashedrekord or rekord entry must describe exactly this signature. */
function checkEntry(body: Buffer, signed: LoggedSignature): Result<void, string> {
  let entry: unknown;
  try {
    entry = JSON.parse(body.toString('utf8'));
  } catch {
    return err('the logged body is not JSON');
  }
  if (!isObject(entry)) return err('the logged body is not a JSON object');
  const { kind, apiVersion } = entry;
  if (signed.envelope) {
    if (kind !== 'dsse' || apiVersion !== '0.0.1') {
      return err(`entries of kind ${quoteText(kind)} ${quoteText(apiVersion)} do not hold attestations`);
    }
    return checkDsseEntry(child(entry, 'spec'), signed, signed.envelope);
  }
  if ((kind !== 'hashedrekord' && kind !== 'rekord') || apiVersion !== '0.0.1') {
    return err(`entries of kind ${quoteText(kind)} ${quoteText(apiVersion)} do not hold signatures`);
  }
  const spec = child(entry, 'spec');
  const signature = child(spec, 'signature');
  const content = signature?.['content'];
  if (typeof content !== 'string' || !Buffer.from(content, 'base64').equals(Buffer.from(signed.signature))) {
    return err('the logged signature is not this signature');
  }
  const logged = child(signature, 'publicKey')?.['content'];
  if (typeof logged !== 'string' || !isSigner(Buffer.from(logged, 'base64').toString('utf8'), signed.signer)) {
    return err('the logged key or certificate is not the one that made this signature');
  }
  const hashed = child(child(spec, 'data'), 'hash');
  const algorithm = hashed?.['algorithm'];
  const hash = typeof algorithm === 'string' ? HASHES.get(algorithm) : undefined;
  if (hash === undefined) return err(`unsupported hash algorithm ${quoteText(algorithm)}`);
  if (hashed?.['value'] !== createHash(hash).update(signed.payload).digest('hex')) {
    return err('the logged hash is not the hash of this payload');
  }
  return ok(undefined);
}

/** Entries read from a dsse entry's signature list; cosign logs one. */
const MAX_LOGGED_SIGNATURES = 16;

/** A dsse 0.0.1 entry must hash this envelope and its payload, and list this signature by this signer. */
function checkDsseEntry(
  spec: Record<string, unknown> | undefined,
  signed: LoggedSignature,
  envelope: NonNullable<LoggedSignature['envelope']>,
): Result<void, string> {
  const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
  const envelopeHash = child(spec, 'envelopeHash');
  if (envelopeHash?.['algorithm'] !== 'sha256' || envelopeHash['value'] !== sha256(envelope.bytes)) {
    return err('the logged envelope hash is not the hash of this envelope');
  }
  const payloadHash = child(spec, 'payloadHash');
  if (payloadHash?.['algorithm'] !== 'sha256' || payloadHash['value'] !== sha256(envelope.payload)) {
    return err('the logged payload hash is not the hash of this payload');
  }
  const logged = spec?.['signatures'];
  if (!Array.isArray(logged)) return err('the logged entry lists no signatures');
  const mine = Buffer.from(signed.signature);
  const listed = logged.slice(0, MAX_LOGGED_SIGNATURES).some((s: unknown) => {
    if (!isObject(s) || typeof s['signature'] !== 'string' || typeof s['verifier'] !== 'string') return false;
    if (!Buffer.from(s['signature'], 'base64').equals(mine)) return false;
    return isSigner(Buffer.from(s['verifier'], 'base64').toString('utf8'), signed.signer);
  });
  return listed ? ok(undefined) : err('the logged entry does not list this signature by this signer');
}

function child(value: Record<string, unknown> | undefined, key: string): Record<string, unknown> | undefined {
  const v = value?.[key];
  return isObject(v) ? v : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a logged PEM (a public key or a certificate) names the signer. */
function isSigner(pem: string, signer: Signer): boolean {
  // A key or certificate PEM is a few kilobytes; a longer one is not worth a regular-expression scan.
  if (pem.length > 64 * 1024) return false;
  const block = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!block) return false;
  const der = Buffer.from(block[2]!.replace(/\s+/g, ''), 'base64');
  if ('certificate' in signer) return block[1] === 'CERTIFICATE' && der.equals(Buffer.from(signer.certificate));
  if (block[1] !== 'PUBLIC KEY') return false;
  try {
    const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
    return spki(createPublicKey({ key: der, format: 'der', type: 'spki' })).equals(spki(signer.key));
  } catch {
    return false;
  }
}
