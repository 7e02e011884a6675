// A signed artifact: one signature as discovery found it, normalised whatever its layout, and parsed once. A legacy
// .sig layer (simple signing) and a Sigstore bundle (DSSE over an in-toto statement) both become this shape, and
// every attestor × signature check reads it without parsing anything again. Attestations (legacy .att layers and
// attestation bundles) take the same shape, with their statement's predicate.
//
// The claims (and a bundle's pre-authentication encoding) are built on first use, then kept: most signatures on a
// registry are not by the policy's signers, and a megabyte of someone else's annotations costs milliseconds and
// megabytes to parse for nothing. Only a signature that verifies gets its claims read.
import type { KeyObject } from 'node:crypto';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { SignedEntity } from '@sigstore/verify';
import type { Result } from '../result/index.js';
import type { RekorBundle } from './rekor-bundle.js';
import type { SimpleSigningClaims } from './simple-signing.js';
import type { InTotoStatement } from './statement.js';

/** A legacy .sig layer, a Sigstore bundle, or a legacy .att layer (a DSSE envelope). */
export type ArtifactFormat = 'simple-signing' | 'sigstore-bundle' | 'dsse-envelope';

/** What the signature says about the image, parsed from the signed bytes. */
export type Claims =
  ({ readonly $case: 'simple-signing' } & SimpleSigningClaims) | ({ readonly $case: 'in-toto' } & InTotoStatement);

/** The certificate an artifact was signed with, and its key. */
export interface SigningCertificate {
  readonly certificate: X509Certificate;
  readonly key: KeyObject;
}

export interface SignedArtifact {
  /** Where it was found, for messages: `sha256-….sig layer 2`, `referrer sha256:…`. */
  readonly source: string;
  /** The digest naming it: the signature layer's, or the referrer manifest's that holds the bundle. */
  readonly digest: string;
  readonly format: ArtifactFormat;
  /** The bytes the signature covers: the simple-signing payload, or the DSSE pre-authentication encoding. */
  readonly message: Uint8Array;
  /** The signature bytes; empty when the artifact has none that could be read. */
  readonly signature: Uint8Array;
  /** The claims of the signed bytes, or why they could not be read. */
  readonly claims: Result<Claims, string>;
  /** The signing certificate the artifact carries (legacy annotation, bundle material), when it carries one. */
  readonly certificate?: Result<SigningCertificate, string>;
  /** Legacy: the dev.sigstore.cosign/bundle annotation, parsed but not verified. */
  readonly rekor?: Result<RekorBundle, string>;
  /**
   * Legacy attestations: the envelope as stored (the Rekor entry hashes these bytes) and its decoded payload, which
   * a dsse transparency-log entry hashes too.
   */
  readonly envelope?: { readonly bytes: Uint8Array; readonly payload: Uint8Array; readonly payloadType: string };
  /** Bundles: the bundle and its signed entity for @sigstore/verify, built once. */
  readonly sigstore?: { readonly bundle: Bundle; readonly entity: SignedEntity };
}

/** A value computed on first use and kept. */
export function lazily<T>(compute: () => T): () => T {
  let state: { readonly value: T } | undefined;
  return () => (state ??= { value: compute() }).value;
}
