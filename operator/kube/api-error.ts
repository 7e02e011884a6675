// client-node 2.x throws ApiException with the HTTP code and the raw body, and renders the whole response into
// its message. This turns it, once, into the code and the API server's own words (metav1.Status.message).

export interface ApiError {
  readonly code?: number;
  readonly reason?: string;
  readonly message: string;
}

export function toApiError(e: unknown): ApiError {
  // Only HTTP status codes: an aborted request's DOMException has a numeric code of its own (23).
  const raw = (e as { code?: unknown })?.code;
  const code = typeof raw === 'number' && raw >= 100 && raw < 600 ? raw : undefined;
  const body = (e as { body?: unknown })?.body;
  const status = parseStatus(body);
  if (status?.message) {
    return {
      ...(code !== undefined ? { code } : {}),
      ...(status.reason ? { reason: status.reason } : {}),
      message: status.message,
    };
  }
  const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
  return { ...(code !== undefined ? { code } : {}), message };
}

/** Log fields for an API error: `error` (the message), `code` and `reason` when known. */
export function apiErrorFields(e: unknown): Record<string, string | number> {
  const { code, reason, message } = toApiError(e);
  return { error: message, ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) };
}

function parseStatus(body: unknown): { message?: string; reason?: string } | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { message, reason } = value as { message?: unknown; reason?: unknown };
  return {
    ...(typeof message === 'string' ? { message } : {}),
    ...(typeof reason === 'string' ? { reason } : {}),
  };
}

/** An API call that failed, with the API server's message; thrown by the kube/ adapters instead of ApiException. */
export class KubeApiError extends Error {
  readonly code: number | undefined;
  readonly reason: string | undefined;

  constructor(operation: string, e: unknown) {
    const api = toApiError(e);
    super(`${operation}: ${api.message}`, { cause: e });
    this.name = 'KubeApiError';
    this.code = api.code;
    this.reason = api.reason;
  }
}
