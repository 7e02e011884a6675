// Leader election on a coordination.k8s.io/v1 Lease, the decision half: given the lease as last read, who we are
// and the time, what to write. It follows tryAcquireOrRenew and release in client-go's leaderelection package
// (https://github.com/kubernetes/client-go/blob/master/tools/leaderelection/leaderelection.go); the reads and
// writes are in kube/leader-election.ts.

/** How long a lease lasts and how often it is renewed; client-go's LeaderElectionConfig, in milliseconds. */
export interface LeaseTiming {
  /** How long followers wait, after they last saw the lease change, before they take it over. */
  readonly leaseDurationMs: number;
  /**
   * How long the leader keeps leading without a successful renewal. Shorter than leaseDurationMs, so a leader that
   * cannot reach the API server stops before any follower may start.
   */
  readonly renewDeadlineMs: number;
  /** How often the leader renews and followers try to acquire. */
  readonly retryPeriodMs: number;
}

/**
 * The defaults of Kubernetes' own controllers (component-base) and of controller-runtime; client-go's leaderelection
 * itself leaves them to its caller.
 */
export const DEFAULT_LEASE_TIMING: LeaseTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Followers wait retryPeriod plus up to this fraction of it again, so candidates do not all ask at once. */
export const JITTER_FACTOR = 1.2;

/** What is known of the lease: its spec, with times as Dates, and when this candidate saw this version of it. */
export interface LeaseState {
  readonly holderIdentity?: string | undefined;
  readonly leaseDurationSeconds?: number | undefined;
  readonly acquireTime?: Date | undefined;
  readonly renewTime?: Date | undefined;
  readonly leaseTransitions?: number | undefined;
  /**
   * When this candidate first saw this version of the lease, by its own clock. When given, a holder's term runs
   * from it rather than from renewTime, as in client-go (observedTime), so candidates' clocks need not agree: a
   * follower whose clock runs ahead must not take a lease its holder has just renewed.
   */
  readonly observedAt?: Date | undefined;
}

/** The lease spec to write. */
export interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date;
  readonly renewTime: Date;
  readonly leaseTransitions: number;
}

export type LeaseDecision =
  /** No lease exists: create it, held by us. */
  | { readonly action: 'create'; readonly lease: LeaseRecord }
  /** The lease is free (released, or its holder's term is over): take it. */
  | { readonly action: 'acquire'; readonly lease: LeaseRecord }
  /** We hold the lease: extend it. */
  | { readonly action: 'renew'; readonly lease: LeaseRecord }
  /** Another candidate holds the lease and its term runs until expiresAt. */
  | { readonly action: 'wait'; readonly holder: string; readonly expiresAt: Date };

/**
 * What candidate `me` (a non-empty identity) should do with the lease `current` (undefined: there is none) at `now`.
 * A holder's term is its own leaseDurationSeconds (ours when it has none) from observedAt, or else from renewTime;
 * a lease with a holder but neither time is taken, as nothing shows its holder is alive.
 */
export function decideLease(
  current: LeaseState | undefined,
  me: string,
  now: Date,
  timing: Pick<LeaseTiming, 'leaseDurationMs'>,
): LeaseDecision {
  const record = (acquireTime: Date, leaseTransitions: number): LeaseRecord => ({
    holderIdentity: me,
    leaseDurationSeconds: toLeaseSeconds(timing.leaseDurationMs),
    acquireTime,
    renewTime: now,
    leaseTransitions,
  });
  if (!current) return { action: 'create', lease: record(now, 0) };
  const holder = current.holderIdentity ?? '';
  // Ours, whatever its age: nobody else has written it since, or it would not name us.
  if (holder === me) {
    return { action: 'renew', lease: record(current.acquireTime ?? now, current.leaseTransitions ?? 0) };
  }
  if (holder !== '') {
    const expiresAt = findLeaseExpiry(current, timing);
    // Still valid while the expiry is strictly after now, as client-go's isLeaseValid.
    if (expiresAt && expiresAt.getTime() > now.getTime()) return { action: 'wait', holder, expiresAt };
  }
  return { action: 'acquire', lease: record(now, (current.leaseTransitions ?? 0) + 1) };
}

/**
 * The spec that gives up a lease `me` holds, or undefined when `me` does not hold it. As client-go's
 * ReleaseOnCancel: no holder and a one-second term, so the next candidate takes it at its next try instead of
 * waiting out leaseDuration; leaseTransitions stays, the taker counts the transition.
 */
export function releaseLease(current: LeaseState | undefined, me: string, now: Date): LeaseRecord | undefined {
  if (!current || current.holderIdentity !== me) return undefined;
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: current.leaseTransitions ?? 0,
  };
}

/** When the current holder's term ends, or undefined when the lease carries no time to count from. */
export function findLeaseExpiry(current: LeaseState, timing: Pick<LeaseTiming, 'leaseDurationMs'>): Date | undefined {
  const from = current.observedAt ?? current.renewTime;
  if (!from) return undefined;
  const seconds = current.leaseDurationSeconds ?? toLeaseSeconds(timing.leaseDurationMs);
  return new Date(from.getTime() + seconds * 1000);
}

/** Problems with a timing, as client-go's NewLeaderElector checks it; empty when it is sound. */
export function validateLeaseTiming(timing: LeaseTiming): string[] {
  const { leaseDurationMs, renewDeadlineMs, retryPeriodMs } = timing;
  const problems: string[] = [];
  if (!(leaseDurationMs >= 1000)) problems.push('leaseDurationMs must be at least 1000 (the lease counts seconds)');
  if (!(renewDeadlineMs > 0)) problems.push('renewDeadlineMs must be positive');
  if (!(retryPeriodMs > 0)) problems.push('retryPeriodMs must be positive');
  if (!(leaseDurationMs > renewDeadlineMs)) problems.push('leaseDurationMs must be greater than renewDeadlineMs');
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs)) {
    problems.push(`renewDeadlineMs must be greater than ${JITTER_FACTOR} × retryPeriodMs`);
  }
  return problems;
}

/** A follower's wait before its next try: retryPeriod plus up to JITTER_FACTOR of it, as client-go's wait.Jitter. */
export function jitterRetryPeriod(retryPeriodMs: number, random: number): number {
  return retryPeriodMs * (1 + random * JITTER_FACTOR);
}

/** Whole seconds, rounded up: a term we write is never shorter than the one we keep to. */
function toLeaseSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
