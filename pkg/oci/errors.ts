// Registry failures as typed values with stable codes. The message says what a cluster admin needs: which
// registry, repository and reference, and what the registry answered. Credentials never appear in it.

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
  readonly message: string;
}

/**
 * Thrown inside pkg/oci and turned into an OciFailure value at the client's public methods. Carries the context so
 * the message is built in one place.
 */
export class OciError extends Error {
  readonly code: OciErrorCode;
  readonly context: OciErrorContext;

  constructor(code: OciErrorCode, detail: string, context: OciErrorContext, options?: { cause?: unknown }) {
    super(formatMessage(code, detail, context), options);
    this.name = 'OciError';
    this.code = code;
    this.context = context;
  }

  toFailure(): OciFailure {
    return { code: this.code, message: this.message, ...this.context };
  }
}

function formatMessage(code: OciErrorCode, detail: string, c: OciErrorContext): string {
  const where = c.repository
    ? `${c.registry}/${c.repository}${c.reference ? (c.reference.includes(':') ? `@${c.reference}` : `:${c.reference}`) : ''}`
    : c.registry;
  const status = c.status !== undefined ? ` (HTTP ${c.status})` : '';
  return `${code}: ${where}: ${detail}${status}`;
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
