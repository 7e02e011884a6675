// The subset of fetch the transport uses: undici's fetch by default (default-fetch.ts), a fake in tests.
import type { AllowedAddresses } from './address-policy.js';

export interface FetchInit {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: Uint8Array;
  readonly redirect: 'manual';
  readonly signal: AbortSignal;
  /**
   * When present, the request may connect only to addresses of these kinds (address-policy.ts), checked against the
   * addresses DNS gives at connect time. The transport has already refused IP-literal hosts outside the set.
   */
  readonly allowedAddresses?: AllowedAddresses;
  /**
   * HTTPS without checking the server's certificate (Kyverno's allowInsecureRegistry). Such requests get their own
   * connections: a socket whose certificate was never checked must not serve a request that needs it checked.
   */
  readonly insecureTls?: boolean;
}

export interface FetchLikeResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: AsyncIterable<Uint8Array> | null;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchLikeResponse>;
