// The outcome of checking one signed artifact against one attestor.
import type { VerifyFailure } from './failure.js';
import type { ArtifactFormat } from './signed-artifact.js';
import type { SignatureScheme } from './signature-schemes.js';

/** What a signature that satisfied an attestor was, for the verified outcome and logs. */
export interface SignatureMatch {
  readonly format: ArtifactFormat;
  /** The algorithm of a signature checked with a key. */
  readonly scheme?: SignatureScheme;
  /** The signing certificate's identity, for certificate and keyless attestors. */
  readonly identity?: { readonly subject: string; readonly issuer: string };
  /** When the transparency log recorded the signature, when the attestor required the log. */
  readonly loggedAt?: string;
  /** The artifact's digest and where it was found. */
  readonly signature: string;
  readonly source: string;
}

export type SignatureCheck =
  | { readonly $case: 'match'; readonly match: SignatureMatch }
  | { readonly $case: 'failure'; readonly failure: VerifyFailure }
  /** The attestor did not make this signature: it says nothing about the image. */
  | { readonly $case: 'unrelated' };

export const UNRELATED: SignatureCheck = Object.freeze({ $case: 'unrelated' });

export function failed(f: VerifyFailure): SignatureCheck {
  return { $case: 'failure', failure: f };
}

export function matched(match: SignatureMatch): SignatureCheck {
  return { $case: 'match', match };
}
