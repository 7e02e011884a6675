// The error body of the distribution spec (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes):
//   {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "...", "detail": ...}]}
// Only the first error's code and message are read, and the message only after it is made safe for ours.
import { OciError, fromRegistryErrorCode, type OciErrorCode, type OciErrorContext } from './errors.js';
import { sanitizeText } from '../text/index.js';

export interface RegistryErrorBody {
  /** The spec's code, as sent (compared against known codes only, never quoted). */
  readonly code?: string;
  /** The registry's message, sanitised and cut short for quoting in ours. */
  readonly message?: string;
}

/** How much of the registry's error message ours repeats. */
const MAX_MESSAGE_LENGTH = 200;

/** Reads what it can; anything that is not a distribution error body reads as no code and no message. */
export function parseRegistryErrorBody(body: Uint8Array): RegistryErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return {};
  }
  if (typeof json !== 'object' || json === null) return {};
  const errors = (json as Record<string, unknown>)['errors'];
  if (!Array.isArray(errors) || errors.length === 0) return {};
  const first: unknown = errors[0];
  if (typeof first !== 'object' || first === null) return {};
  const { code, message } = first as Record<string, unknown>;
  const text = typeof message === 'string' ? sanitizeText(message, MAX_MESSAGE_LENGTH).trim() : '';
  return {
    ...(typeof code === 'string' && code.length <= 64 ? { code } : {}),
    ...(text !== '' ? { message: text } : {}),
  };
}

/** The OciError for a registry's error status, from its error body when it sent one. */
export function registryError(status: number, body: Uint8Array, context: OciErrorContext, detail?: string): OciError {
  const parsed = parseRegistryErrorBody(body);
  const ours = fromRegistryErrorCode(parsed.code, status);
  const summary = parsed.message ?? FALLBACK_MESSAGES[ours] ?? 'unexpected response';
  return new OciError(ours, summary, { ...context, status }, detail === undefined ? undefined : { detail });
}

const FALLBACK_MESSAGES: Partial<Record<OciErrorCode, string>> = {
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_UNKNOWN: 'repository unknown',
  BLOB_UNKNOWN: 'blob unknown',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'access denied',
  TOO_MANY_REQUESTS: 'too many requests',
  TOO_LARGE: 'too large',
  BAD_RESPONSE: 'unexpected response',
};
