// A transparency log in a test's memory: it signs Rekor entries as Rekor v1 does (an ECDSA P-256 signed entry
// timestamp over the canonical JSON of body, integratedTime, logID and logIndex; cosign-formats.md §2.5), so unit
// tests can make the dev.sigstore.cosign/bundle annotations that real cosign writes, for signatures they make.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { json } from '@sigstore/core';
import type { TrustRoot } from '../trusted-root.js';
import { toLogId } from '../policy-trust.js';

export interface TestLog {
  readonly publicKey: KeyObject;
  readonly logId: string;
  /** A trust root that holds this log and nothing else. */
  readonly trustRoot: TrustRoot;
  /** The trusted_root.json text of that trust root. */
  readonly trustedRootJson: string;
  /** Logs a hashedrekord entry for `signature` over `payload` by `signerPem`; returns the bundle annotation. */
  logSignature(entry: {
    payload: Uint8Array;
    signature: Uint8Array;
    signerPem: string;
    integratedTime?: number;
  }): string;
  /** Signs an arbitrary entry body, for tests of entries that do not match. */
  logBody(body: object, integratedTime?: number): string;
}

export function createTestLog(): TestLog {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const logId = toLogId(publicKey);
  let index = 0;
  const logBody = (body: object, integratedTime = Math.floor(Date.now() / 1000)) => {
    const payload = {
      body: Buffer.from(json.canonicalize(body)).toString('base64'),
      integratedTime,
      logID: logId.toString('hex'),
      logIndex: index++,
    };
    const set = sign('sha256', Buffer.from(json.canonicalize(payload)), privateKey);
    return JSON.stringify({ SignedEntryTimestamp: set.toString('base64'), Payload: payload });
  };
  const trustRoot: TrustRoot = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    ctlogs: [],
    tlogs: [
      {
        logID: logId,
        baseURL: 'https://rekor.test',
        publicKey,
        validFor: { start: new Date(0), end: new Date(8.64e15) },
      },
    ],
  };
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const trustedRootJson = JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: der.toString('base64'),
          keyDetails: 'PKIX_ECDSA_P256_SHA_256',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: logId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
  return {
    publicKey,
    logId: logId.toString('hex'),
    trustRoot,
    trustedRootJson,
    logBody,
    logSignature: ({ payload, signature, signerPem, integratedTime }) =>
      logBody(
        {
          apiVersion: '0.0.1',
          kind: 'hashedrekord',
          spec: {
            data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
            signature: {
              content: Buffer.from(signature).toString('base64'),
              publicKey: { content: Buffer.from(signerPem).toString('base64') },
            },
          },
        },
        integratedTime,
      ),
  };
}
