// A plain callback the registry client calls after each HTTP request it sends, for whoever counts them (the
// process's metrics): no metrics library is known here. Token fetches, redirects and retries are requests too.

export interface ObservedRequest {
  /** host[:port] of the URL requested, as URL spells it: the registry's, or a token realm or redirect target. */
  readonly host: string;
  readonly method: string;
  /** The HTTP status; absent when no answer came (refused, reset, TLS failure, timed out). */
  readonly status?: number;
  /** From sending to the response headers (or the failure), by the client's clock. */
  readonly durationMs: number;
}

export type RequestObserver = (request: ObservedRequest) => void;

/** Tells `observer`, if any; an observer that throws never fails the request. */
export function notifyObserver(observer: RequestObserver | undefined, request: ObservedRequest): void {
  try {
    observer?.(request);
  } catch {
    // Counting is no reason to fail a verification.
  }
}
