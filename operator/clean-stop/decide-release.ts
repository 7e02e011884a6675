// What a stopping replica does with the webhook configurations it registered, the decision half: pure. A
// configuration left pointing at a webhook that no longer answers holds up every admission its failurePolicy: Fail
// webhooks match, so in local mode (a URL endpoint: this process, on this machine) the last replica to stop removes
// them; in the cluster (a Service endpoint) the other replicas, or the next rollout's, serve behind the same Service,
// so nothing is removed there. The reads and deletes are in release-webhook-configurations.ts.
import { JITTER_FACTOR } from '../leader-lease.js';

export type ReleasePlan =
  /** A Service endpoint: the configurations stay for the replicas behind the Service. */
  | { readonly action: 'keep'; readonly reason: 'in-cluster' }
  /** A follower: the configurations point at the leader, not at us. */
  | { readonly action: 'keep'; readonly reason: 'follower' }
  /** The only replica (no leader election): remove them, if they still point at us. */
  | { readonly action: 'remove' }
  /**
   * The leader, which has just released the lease: wait up to `withinMs` for another replica to take it. If one
   * does, it re-points the configurations at itself (every new leader applies them); if none does, we were the last,
   * and remove them as in 'remove'.
   */
  | { readonly action: 'hand-over'; readonly withinMs: number };

/** Beyond a follower's longest wait between tries: the time its read and write of the lease may take. */
export const HAND_OVER_MARGIN_MS = 2_000;

export interface ReleaseSituation {
  /** Where the configurations send admissions (as in webhook-configuration.ts); undefined: we register none. */
  readonly endpoint: { readonly $case: 'url'; readonly url: string } | { readonly $case: 'service' } | undefined;
  /** The lease's retry period when leader election is on; undefined without it. */
  readonly retryPeriodMs: number | undefined;
  /** Whether this replica led (or, without leader election, ran) when it stopped: only a leader registers. */
  readonly wasLeader: boolean;
}

export function planRelease(situation: ReleaseSituation): ReleasePlan {
  const { endpoint, retryPeriodMs, wasLeader } = situation;
  if (endpoint?.$case !== 'url') return { action: 'keep', reason: 'in-cluster' };
  if (retryPeriodMs === undefined) return { action: 'remove' };
  if (!wasLeader) return { action: 'keep', reason: 'follower' };
  return { action: 'hand-over', withinMs: handOverWaitMs(retryPeriodMs) };
}

/**
 * How long a released lease may stay free before we conclude no replica is left: a follower tries every
 * retryPeriod, plus up to JITTER_FACTOR of it (leader-lease.ts), and the released lease is free at once.
 */
export function handOverWaitMs(retryPeriodMs: number): number {
  return Math.ceil(retryPeriodMs * (1 + JITTER_FACTOR)) + HAND_OVER_MARGIN_MS;
}

/** Another replica's identity when it holds the lease; undefined while it is free or still ours. */
export function findSuccessor(holderIdentity: string | undefined, me: string): string | undefined {
  return holderIdentity && holderIdentity !== me ? holderIdentity : undefined;
}

/** A webhook as both configuration kinds carry it: only where it sends admissions matters here. */
export interface RoutedWebhook {
  readonly clientConfig: { readonly url?: string | undefined };
}

/** A configuration as read: its version and its webhooks. */
export interface ReadConfiguration {
  readonly resourceVersion: string | undefined;
  readonly webhooks: readonly RoutedWebhook[] | undefined;
}

export type RemovalDecision =
  /** Not there (never registered, or already removed). */
  | { readonly action: 'absent' }
  /** Some webhook sends admissions elsewhere: another replica registered it, it is not ours to remove. */
  | { readonly action: 'keep'; readonly reason: 'points-elsewhere' }
  /** Ours: delete it, on condition that it is still this version. */
  | { readonly action: 'delete'; readonly resourceVersion: string };

/**
 * Whether the configuration as just read is ours to delete: every webhook in it sends to `url` (our base URL, the
 * webhooks' paths under it). One with no webhook sends nowhere, so removing it takes nothing from anyone. Without a
 * resourceVersion there is nothing to make the delete conditional on, so it is kept.
 */
export function decideRemoval(read: ReadConfiguration | undefined, url: string): RemovalDecision {
  if (!read) return { action: 'absent' };
  const ours = (read.webhooks ?? []).every((w) => isUnder(w.clientConfig.url, url));
  if (!ours || !read.resourceVersion) return { action: 'keep', reason: 'points-elsewhere' };
  return { action: 'delete', resourceVersion: read.resourceVersion };
}

/** Whether any webhook of the configuration still sends admissions to `url`: a successor has not re-pointed it. */
export function pointsAt(read: ReadConfiguration | undefined, url: string): boolean {
  return (read?.webhooks ?? []).some((w) => isUnder(w.clientConfig.url, url));
}

function isUnder(webhookUrl: string | undefined, base: string): boolean {
  if (webhookUrl === undefined) return false;
  const root = base.replace(/\/$/, '');
  return webhookUrl === root || webhookUrl.startsWith(`${root}/`);
}
