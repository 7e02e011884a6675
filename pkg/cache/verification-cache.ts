// The admission webhook's memory of verifications that passed: Kyverno's image verify cache, done safely.
// - Only passes are kept, each with the digest that was verified. A hit answers with that digest, for the webhook to
//   pin the Pod to: if the tag has moved since, the Pod still runs the image that was verified. CVE-2026-122321:
//   Kyverno's hit pinned whatever digest the tag named at the time of the hit, verified or not. A pass without a
//   well-formed digest is therefore not kept.
// - Failures are never kept. A transient one (registry down, a deadline) must not deny the image for an hour, and
//   telling transient from definitive is the verifier's business, not the cache's.
// - Identical verifications in flight are shared (kyverno#16997), so that a burst of Pods naming one image costs one
//   verification. Each caller keeps its own deadline: a caller whose signal aborts gets an answer at once, and the
//   others go on waiting. A late caller does not inherit an earlier caller's deadline, short or long. When every
//   caller has given up, the verification's signal aborts and the next caller starts afresh.
// - Entries are bounded in number and in time, and nothing runs in the background (see expiring-lru.ts).
import { isDigest } from '../oci/index.js';
import { encodeCacheKey, type CacheKey } from './cache-key.js';
import { ExpiringLru } from './expiring-lru.js';

/** Kyverno's defaults (--imageVerifyCacheTTLDuration, --imageVerifyCacheMaxSize). */
export const DEFAULT_CACHE_TTL_MS = 3_600_000;
export const DEFAULT_CACHE_MAX_ENTRIES = 1000;

/** A verification that passed: the digest verified, and what the caller wants back on a hit. */
export interface Pass<T> {
  readonly pass: true;
  readonly digest: string;
  readonly value: T;
}

export interface Fail<F> {
  readonly pass: false;
  readonly failure: F;
}

export type Outcome<T, F> = Pass<T> | Fail<F>;

/**
 * Verifies once for every caller waiting. `signal` aborts when all of them have given up; a verify that carries on
 * regardless still fills the cache with its pass.
 */
export type Verify<T, F> = (signal: AbortSignal) => Promise<Outcome<T, F>>;

/** Where an answer came from: a pass kept earlier, a verification this caller started, or one it joined. */
export type Source = 'cache' | 'verified' | 'shared';

/** The caller's signal aborted before the answer came, with its reason. */
export interface Aborted {
  readonly pass: false;
  readonly source: 'aborted';
  readonly reason: unknown;
}

export type Answer<T, F> =
  (Pass<T> & { readonly source: Source }) | (Fail<F> & { readonly source: Exclude<Source, 'cache'> }) | Aborted;

export interface VerificationCacheOptions {
  /** How long a pass is kept, from when it was verified (not from its last use). Default 1 h; 0 turns the cache off. */
  readonly ttlMs?: number;
  /** How many passes are kept; beyond, the least recently used goes. Default 1,000; 0 turns the cache off. */
  readonly maxEntries?: number;
  readonly now: () => number;
}

export interface WaitOptions {
  /** This caller's deadline; the verification goes on for the other callers. */
  readonly signal?: AbortSignal;
}

/** Counters since the cache was made, and its size now: for logs. */
export interface CacheStats {
  readonly hits: number;
  /** Lookups that found no pass; each started a verification or joined one (counted in coalesced). */
  readonly misses: number;
  readonly coalesced: number;
  readonly entries: number;
  /** Verifications running, including those every caller has stopped waiting for. */
  readonly inFlight: number;
  /** Passes dropped to stay within maxEntries. */
  readonly evictions: number;
  /** Passes dropped because they outlived ttlMs. */
  readonly expired: number;
}

interface Flight<T, F> {
  readonly policyUid: string;
  readonly controller: AbortController;
  readonly promise: Promise<Outcome<T, F>>;
  waiting: number;
  /** Set when the policy was invalidated (or the cache cleared) meanwhile: the pass answers a policy now gone. */
  stale: boolean;
}

export class VerificationCache<T, F> {
  /** Absent when the cache is off. */
  readonly #passes: ExpiringLru<Pass<T>> | undefined;
  /** Verifications a new caller may join, by encoded key. */
  readonly #joinable = new Map<string, Flight<T, F>>();
  /** Every verification running, including abandoned ones: invalidation must reach them too. */
  readonly #running = new Set<Flight<T, F>>();
  #hits = 0;
  #misses = 0;
  #coalesced = 0;

  constructor(options: VerificationCacheOptions) {
    const { ttlMs = DEFAULT_CACHE_TTL_MS, maxEntries = DEFAULT_CACHE_MAX_ENTRIES, now } = options;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError(`ttlMs must be a finite number ≥ 0, not ${ttlMs}`);
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 0)
      throw new RangeError(`maxEntries must be an integer ≥ 0, not ${maxEntries}`);
    this.#passes = ttlMs > 0 && maxEntries > 0 ? new ExpiringLru({ ttlMs, maxEntries, now }) : undefined;
  }

  /** False when ttlMs or maxEntries is 0: every lookup misses, and nothing is kept or shared. */
  get enabled(): boolean {
    return this.#passes !== undefined;
  }

  /** The pass kept for `key`, unless it has expired. */
  get(key: CacheKey): Pass<T> | undefined {
    const pass = this.#passes?.get(encodeCacheKey(key));
    if (pass) this.#hits++;
    else this.#misses++;
    return pass;
  }

  /**
   * The pass kept for `key`, counted as a hit; a miss is not counted here. For a caller that answers from the cache
   * without waiting on a promise and calls getOrVerify (which counts the miss) only when nothing is kept.
   */
  lookup(key: CacheKey): Pass<T> | undefined {
    const pass = this.#passes?.get(encodeCacheKey(key));
    if (pass) this.#hits++;
    return pass;
  }

  /**
   * The pass kept for `key`, else the outcome of `verify`, run once for every caller asking for `key` meanwhile.
   * Resolves with an Aborted answer when the caller's signal aborts first, and rejects when `verify` throws (nothing
   * is kept then, and the next caller verifies again).
   */
  getOrVerify(key: CacheKey, verify: Verify<T, F>, options: WaitOptions = {}): Promise<Answer<T, F>> {
    const id = encodeCacheKey(key);
    const pass = this.#passes?.get(id);
    if (pass) {
      this.#hits++;
      return Promise.resolve({ ...pass, source: 'cache' });
    }
    this.#misses++;
    const { signal } = options;
    if (signal?.aborted) return Promise.resolve(aborted(signal.reason));
    const joined = this.#joinable.get(id);
    if (joined) {
      this.#coalesced++;
      return this.#wait(id, joined, 'shared', signal);
    }
    return this.#wait(id, this.#start(id, key.policyUid, verify), 'verified', signal);
  }

  /**
   * Drops the passes of a policy that was edited or deleted, and keeps verifications running for it from storing
   * theirs. Its old entries could not be hit anyway (the key holds the resourceVersion), but they would hold memory.
   */
  invalidatePolicy(policyUid: string): void {
    for (const flight of this.#running) if (flight.policyUid === policyUid) flight.stale = true;
    this.#passes?.deleteGroup(policyUid);
  }

  /** Forgets every pass, for when what they were verified against changed outside the policies (trust roots, keys). */
  clear(): void {
    for (const flight of this.#running) flight.stale = true;
    this.#passes?.clear();
  }

  stats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      coalesced: this.#coalesced,
      entries: this.#passes?.size ?? 0,
      inFlight: this.#running.size,
      evictions: this.#passes?.evictions ?? 0,
      expired: this.#passes?.expirations ?? 0,
    };
  }

  #start(id: string, policyUid: string, verify: Verify<T, F>): Flight<T, F> {
    const controller = new AbortController();
    // The executor turns a verify that throws at once into a rejection, like one that rejects later.
    const promise = new Promise<Outcome<T, F>>((resolve) => resolve(verify(controller.signal)));
    const flight: Flight<T, F> = { policyUid, controller, promise, waiting: 0, stale: false };
    // With the cache off nothing is shared either: every admission verifies for itself.
    if (this.#passes) this.#joinable.set(id, flight);
    this.#running.add(flight);
    const settle = (outcome?: Outcome<T, F>) => {
      this.#running.delete(flight);
      if (this.#joinable.get(id) === flight) this.#joinable.delete(id);
      if (outcome?.pass && !flight.stale && isDigest(outcome.digest))
        this.#passes?.set(id, policyUid, { pass: true, digest: outcome.digest, value: outcome.value });
    };
    // Registered before any caller's handlers, so the pass is kept by the time a caller sees it; and it handles the
    // rejection of a verification every caller gave up on, which would otherwise go unhandled.
    promise.then(settle, () => settle());
    return flight;
  }

  #wait(
    id: string,
    flight: Flight<T, F>,
    source: Exclude<Source, 'cache'>,
    signal: AbortSignal | undefined,
  ): Promise<Answer<T, F>> {
    flight.waiting++;
    return new Promise<Answer<T, F>>((resolve, reject) => {
      let waiting = true;
      const leave = (): boolean => {
        if (!waiting) return false;
        waiting = false;
        signal?.removeEventListener('abort', giveUp);
        flight.waiting--;
        return true;
      };
      const giveUp = () => {
        if (!leave()) return;
        resolve(aborted(signal!.reason));
        if (flight.waiting > 0) return;
        // Nobody wants the answer any more: a new caller starts afresh rather than join a verification being stopped.
        if (this.#joinable.get(id) === flight) this.#joinable.delete(id);
        flight.controller.abort(signal!.reason);
      };
      signal?.addEventListener('abort', giveUp, { once: true });
      flight.promise.then(
        (outcome) => {
          if (leave()) resolve({ ...outcome, source });
        },
        (error: unknown) => {
          if (leave()) reject(error);
        },
      );
    });
  }
}

function aborted(reason: unknown): Aborted {
  return { pass: false, source: 'aborted', reason };
}
