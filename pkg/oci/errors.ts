// Registry failures as typed values with stable codes. The message says what a cluster admin needs: which
// registry, repository and reference, and what the registry answered. Credentials never appear in it.
//
// The message reaches whoever created the Pod (admission deny messages), and the Pod creator chooses the registry,
// so it says no more than the outcome: never an errno, a TLS alert or a DNS error, which would make the webhook a
// port scanner for the networks it can reach; never a realm's or redirect's port and path; and registry text only
// sanitised and cut short (pkg/text/safe-text.ts). Such details go to `detail`, for logs only.

import { sanitizeText } from '../text/index.js';

export const OCI_ERROR_CODES = [
  'MANIFEST_UNKNOWN',
  'NAME_UNKNOWN',
  'BLOB_UNKNOWN',
  'UNAUTHORIZED',
  'DENIED',
  'TOO_MANY_REQUESTS',
  'DIGEST_MISMATCH',
  'TOO_LARGE',
  'TIMEOUT',
  'NETWORK',
  'BAD_RESPONSE',
] as const;

export type OciErrorCode = (typeof OCI_ERROR_CODES)[number];

export interface OciErrorContext {
  readonly registry: string;
  readonly repository?: string;
  readonly reference?: string;
  readonly status?: number;
}

export interface OciFailure extends OciErrorContext {
  readonly code: OciErrorCode;
  /** Safe to show the Pod's creator. */
  readonly message: string;
  /**
   * For logs only, never for a Pod's creator: the network error (errno, TLS, DNS), the refused address, or the
   * exception behind a BAD_RESPONSE. Sanitised and bounded like the message.
   */
  readonly detail?: string;
}

/**
 * Thrown inside pkg/oci and turned into an OciFailure value at the client's public methods. Carries the context so
 * the message is built in one place.
 */
export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly context: OciErrorContext;
  readonly detail: string | undefined;
  /** The message's middle, as given: to restate the same failure with another detail. */
  readonly summary: string;

  /** `summary` is the middle of the message; `detail` goes to OciFailure.detail. */
  constructor(
    code: OciErrorCode,
    summary: string,
    context: OciErrorContext,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(formatMessage(code, summary, context), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OciError';
    this.code = code;
    this.context = context;
    this.summary = summary;
    this.detail = options?.detail === undefined ? undefined : sanitizeText(options.detail, MAX_DETAIL_LENGTH);
  }

  toFailure(): OciFailure {
    return { code: this.code, message: this.message, ...this.context, ...(this.detail ? { detail: this.detail } : {}) };
  }
}

/** Longest summary (the message's middle) and detail kept: enough for any message we write, not for a flood. */
const MAX_SUMMARY_LENGTH = 400;
const MAX_DETAIL_LENGTH = 1000;

function formatMessage(code: OciErrorCode, summary: string, c: OciErrorContext): string {
  const where = c.repository
    ? `${c.registry}/${c.repository}${c.reference ? (c.reference.includes(':') ? `@${c.reference}` : `:${c.reference}`) : ''}`
    : c.registry;
  const status = c.status !== undefined ? ` (HTTP ${c.status})` : '';
  // Summaries quote registry text through quoteText already; sanitising the whole is the backstop.
  return `${code}: ${sanitizeText(where, MAX_SUMMARY_LENGTH)}: ${sanitizeText(summary, MAX_SUMMARY_LENGTH)}${status}`;
}

/** Maps the error codes of the distribution spec's error body to ours. */
export function fromRegistryErrorCode(code: string | undefined, status: number): OciErrorCode {
  switch (code) {
    case 'MANIFEST_UNKNOWN':
      return 'MANIFEST_UNKNOWN';
    case 'NAME_UNKNOWN':
      return 'NAME_UNKNOWN';
    case 'BLOB_UNKNOWN':
      return 'BLOB_UNKNOWN';
    case 'UNAUTHORIZED':
      return 'UNAUTHORIZED';
    case 'DENIED':
      return 'DENIED';
    case 'TOOMANYREQUESTS':
      return 'TOO_MANY_REQUESTS';
    case 'SIZE_INVALID':
      return 'TOO_LARGE';
    default:
      break;
  }
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404) return 'MANIFEST_UNKNOWN';
  if (status === 413) return 'TOO_LARGE';
  if (status === 429) return 'TOO_MANY_REQUESTS';
  return 'BAD_RESPONSE';
}
