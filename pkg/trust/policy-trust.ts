// Trust material for one attestor: the operator's trust root plus what the policy itself names (rekor.pubkey,
// ctlog.pubkey, ctlog.tsaCertChain, keyless.roots, certificates.certChain), built once when the policy compiles.
// Keys named in a policy are trusted for all time, as cosign trusts a key given by flag or environment variable.
import { createHash, type KeyObject } from 'node:crypto';
import { X509Certificate } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import type { TrustRoot } from './trusted-root.js';

export type Authorities = Pick<TrustMaterial, 'certificateAuthorities' | 'timestampAuthorities' | 'tlogs' | 'ctlogs'>;
type TLogAuthority = TrustMaterial['tlogs'][number];

const ALL_TIME = Object.freeze({ start: new Date(0), end: new Date(8640000000000000) });

export interface PolicyTrust {
  /** Rekor public keys from rekor.pubkey. */
  readonly rekorKeys?: readonly KeyObject[];
  /**
   * rekor.url: sigstore-js accepts a checkpoint only from a log whose URL contains the checkpoint's signer name
   * (rekor.sigstore.dev for the public instance).
   */
  readonly rekorUrl?: string;
  /** CT log public keys from ctlog.pubkey. */
  readonly ctlogKeys?: readonly KeyObject[];
  /** Root and intermediate certificates (DER) from keyless.roots or certificates.certChain. */
  readonly roots?: readonly Uint8Array[];
  /** A timestamp authority's chain (DER, leaf first) from ctlog.tsaCertChain. */
  readonly tsaChain?: readonly Uint8Array[];
}

/**
 * The operator's trust root with the policy's own material added. Certificate roots named by the policy replace the
 * operator's certificate authorities, as Kyverno's keyless.roots replace the Fulcio roots: a policy that names its CA
 * means that CA alone.
 */
export function toAttestorTrust(root: TrustRoot, policy: PolicyTrust): Authorities {
  const roots = policy.roots ?? [];
  return {
    certificateAuthorities:
      roots.length > 0
        ? [{ certChain: roots.map((der) => X509Certificate.parse(Buffer.from(der))), validFor: ALL_TIME }]
        : root.certificateAuthorities,
    timestampAuthorities: [
      ...root.timestampAuthorities,
      ...(policy.tsaChain && policy.tsaChain.length > 0
        ? [{ certChain: policy.tsaChain.map((der) => X509Certificate.parse(Buffer.from(der))), validFor: ALL_TIME }]
        : []),
    ],
    tlogs: [...root.tlogs, ...(policy.rekorKeys ?? []).map((k) => toLogAuthority(k, policy.rekorUrl ?? ''))],
    ctlogs: [...root.ctlogs, ...(policy.ctlogKeys ?? []).map((k) => toLogAuthority(k, ''))],
  };
}

/** A log known only by its key: its ID is the SHA-256 of the key's DER SubjectPublicKeyInfo (RFC 6962 §3.2). */
function toLogAuthority(publicKey: KeyObject, baseURL: string): TLogAuthority {
  return { logID: toLogId(publicKey), baseURL, publicKey, validFor: ALL_TIME };
}

export function toLogId(publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
}
