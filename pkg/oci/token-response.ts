// The token endpoint's answer (https://distribution.github.io/distribution/spec/auth/token/#token-response-fields):
//   {"token": "...", "access_token": "...", "expires_in": 300, "issued_at": "..."}
// It comes from wherever the registry's realm pointed, so every field is checked before use, and the token must be
// fit to send back in an Authorization header.
import { err, ok, type Result } from '../result/index.js';

export interface TokenResponse {
  readonly token: string;
  /** Seconds the token lives; the spec's 60 when the endpoint does not say. */
  readonly expiresInSeconds: number;
}

/** Tokens without expires_in live 60 s (Docker token spec). */
const DEFAULT_TOKEN_SECONDS = 60;
/** A longer promise than a day is not believed: the token is fetched again. */
const MAX_TOKEN_SECONDS = 24 * 60 * 60;
/** Real tokens are JWTs of a few kilobytes; this leaves room without sending megabytes in every header. */
const MAX_TOKEN_LENGTH = 64 * 1024;

export function parseTokenResponse(body: Uint8Array): Result<TokenResponse, string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return err('invalid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return err('a response that is not an object');
  const fields = json as Record<string, unknown>;
  // `token` is the spec's field; `access_token` its OAuth2 alias, which some endpoints send alone.
  const token = nonEmptyString(fields['token']) ?? nonEmptyString(fields['access_token']);
  if (token === undefined) return err('no token');
  if (token.length > MAX_TOKEN_LENGTH) return err(`a token longer than ${MAX_TOKEN_LENGTH} characters`);
  if (!isHeaderToken(token)) return err('a token that cannot be sent in a header');
  const expires = fields['expires_in'];
  const seconds =
    typeof expires === 'number' && Number.isFinite(expires) && expires > 0
      ? Math.min(expires, MAX_TOKEN_SECONDS)
      : DEFAULT_TOKEN_SECONDS;
  return ok({ token, expiresInSeconds: seconds });
}

/** Whether `text` can follow `Bearer ` in a header: visible ASCII, no spaces or controls. */
export function isHeaderToken(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return text.length > 0;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
