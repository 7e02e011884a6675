// Leader election on a coordination.k8s.io/v1 Lease, the I/O half, as client-go's leaderelection package does it
// (client-node has none): read the lease, let decideLease say what to write, write it back under the read
// resourceVersion, so two candidates that both decide to take it cannot both succeed; the loser gets 409 Conflict.
// https://github.com/kubernetes/client-go/blob/master/tools/leaderelection/leaderelection.go
import { toMicroTime, type CallOptions, type CoordinationApi, type Lease } from '../../pkg/kube/index.js';
import { errorFields, type Logger } from '../../pkg/log/index.js';
import {
  DEFAULT_LEASE_TIMING,
  decideLease,
  jitterRetryPeriod,
  releaseLease,
  validateLeaseTiming,
  type LeaseRecord,
  type LeaseState,
  type LeaseTiming,
} from '../leader-lease.js';
import { apiErrorFields, toApiError } from './api-error.js';

export { DEFAULT_LEASE_TIMING, type LeaseTiming } from '../leader-lease.js';

export type LeaseApi = Pick<
  CoordinationApi,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

export interface LeaderElectorDeps {
  readonly coordination: LeaseApi;
  readonly namespace: string;
  /** The Lease's name: one per thing to elect a leader for. */
  readonly name: string;
  /** This candidate's name, unique among candidates (the pod name, say): two with one identity would both lead. */
  readonly identity: string;
  readonly log: Logger;
  /** Called when this candidate becomes leader. */
  readonly onStartedLeading: () => void;
  /**
   * Called when leadership ends: lost (renewals failed past the renew deadline, or another candidate holds the
   * lease) or given up by stop(). It may return a promise: stop() releases the lease only once it settles, and the
   * elector campaigns again only once it settles, so terms never overlap within this process.
   */
  readonly onStoppedLeading: () => void | Promise<void>;
  /** DEFAULT_LEASE_TIMING when not given. */
  readonly timing?: LeaseTiming;
  readonly now?: () => Date;
  /** In [0, 1), for the followers' jitter; Math.random when not given. */
  readonly random?: () => number;
}

/**
 * Campaigns for a Lease and, once it holds it, renews it every retryPeriod. Leadership ends when no renewal has
 * succeeded for renewDeadline (measured from the start of the last successful one, by a timer, so a request that
 * hangs cannot keep us leading), or at once when the lease names another holder. After a loss it campaigns again;
 * onStartedLeading and onStoppedLeading alternate. Unlike client-go it does not keep retrying a lease it has seen
 * taken: that can only shorten the time two candidates both act as leader.
 */
export class LeaderElector {
  readonly #deps: LeaderElectorDeps;
  readonly #timing: LeaseTiming;
  readonly #now: () => Date;
  readonly #random: () => number;
  readonly #log: Logger;
  #state: 'new' | 'running' | 'stopped' = 'new';
  #loop: Promise<void> = Promise.resolve();
  #stopped: Promise<void> | undefined;
  #leading = false;
  #leadingUntilMs = 0;
  /** Counts the terms that have ended: a write that began in an earlier term must not start a new one. */
  #endedTerms = 0;
  /** The onStoppedLeading of the last term, while it runs. */
  #winding: Promise<void> = Promise.resolve();
  #deadlineTimer: NodeJS.Timeout | undefined;
  #sleepTimer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  /** The lease as last read or written. The leader renews it without reading it first (client-go's fast path). */
  #lease: Lease | undefined;
  /** The lease version last seen and when, by our clock: a holder's term counts from when we saw it renew. */
  #observed: { readonly resourceVersion: string | undefined; readonly at: Date } | undefined;
  #failures = 0;

  constructor(deps: LeaderElectorDeps) {
    const timing = deps.timing ?? DEFAULT_LEASE_TIMING;
    const problems = validateLeaseTiming(timing);
    if (!deps.identity) problems.push('identity must not be empty');
    if (problems.length > 0) throw new Error(`leader election: ${problems.join('; ')}`);
    this.#deps = deps;
    this.#timing = timing;
    this.#now = deps.now ?? (() => new Date());
    this.#random = deps.random ?? Math.random;
    this.#log = deps.log.child({ lease: `${deps.namespace}/${deps.name}`, identity: deps.identity });
  }

  /** Begins campaigning. A second call while running does nothing; an elector does not start again once stopped. */
  start(): void {
    if (this.#state === 'running') return;
    if (this.#state === 'stopped') throw new Error('leader election: a stopped LeaderElector cannot start again');
    this.#state = 'running';
    this.#loop = this.#run();
  }

  /**
   * Ends the campaign. When leading: calls onStoppedLeading, waits for it, then releases the lease (no holder, a
   * one-second term, as client-go's ReleaseOnCancel) so another candidate takes over at its next try instead of
   * after leaseDuration. Resolves once all that is done; a request in flight is waited for (at most
   * renewDeadline / 2).
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** Whether this candidate leads now: false as soon as the renew deadline has passed, even before its timer runs. */
  isLeader(): boolean {
    return this.#leading && this.#now().getTime() < this.#leadingUntilMs;
  }

  async #stop(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    if (!wasRunning) return;
    clearTimeout(this.#sleepTimer);
    this.#wake?.();
    await this.#loop;
    if (this.#leading) this.#endTerm('info', 'stopping');
    // Our work ends before the lease is free, so the next leader's never overlaps it.
    await this.#winding;
    await this.#release();
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      await this.#winding;
      if (this.#state !== 'running') return;
      try {
        await this.#tryAcquireOrRenew();
      } catch (e) {
        this.#log.error('leader election attempt failed', errorFields(e));
      }
      if (this.#state !== 'running') return;
      const { retryPeriodMs } = this.#timing;
      await this.#sleep(this.#leading ? retryPeriodMs : jitterRetryPeriod(retryPeriodMs, this.#random()));
    }
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const startedAt = this.#now();
    const term = this.#endedTerms;
    const { coordination, namespace, name, identity } = this.#deps;
    // Fast path: the leader writes over the lease it last wrote without reading it; a conflict means it changed
    // since, so read it and decide again.
    if (this.#leading && this.#lease) {
      const renewal = decideLease(this.#toState(this.#lease), identity, startedAt, this.#timing);
      if (renewal.action === 'renew') {
        const result = await this.#write(renewal.action, renewal.lease, startedAt, term);
        if (result !== 'conflict' || this.#state !== 'running') return;
      }
    }
    let current: Lease | undefined;
    try {
      current = await coordination.readNamespacedLease({ name, namespace }, this.#requestOptions());
    } catch (e) {
      if (toApiError(e).code !== 404) {
        this.#fail('read', e);
        return;
      }
    }
    this.#lease = current;
    this.#observe(current);
    const decision = decideLease(current && this.#toState(current), identity, startedAt, this.#timing);
    if (decision.action === 'wait') {
      this.#failures = 0;
      if (this.#leading) this.#endTerm('warn', 'another candidate holds the lease', { holder: decision.holder });
      this.#log.debug('lease held by another candidate', {
        holder: decision.holder,
        expiresAt: decision.expiresAt.toISOString(),
      });
      return;
    }
    await this.#write(decision.action, decision.lease, startedAt, term);
  }

  /** Writes `record` over #lease, or creates the lease when there is none. */
  async #write(
    action: 'create' | 'acquire' | 'renew',
    record: LeaseRecord,
    startedAt: Date,
    term: number,
  ): Promise<'written' | 'conflict' | 'failed'> {
    const { coordination, namespace, name } = this.#deps;
    const base = this.#lease;
    try {
      const written = base
        ? await coordination.replaceNamespacedLease(
            // The read metadata carries resourceVersion: the write fails with 409 if anyone wrote in between.
            { name, namespace, body: { ...base, spec: { ...base.spec, ...toLeaseSpec(record) } } },
            this.#requestOptions(),
          )
        : await coordination.createNamespacedLease(
            {
              namespace,
              body: {
                apiVersion: 'coordination.k8s.io/v1',
                kind: 'Lease',
                metadata: { name, namespace },
                spec: toLeaseSpec(record),
              },
            },
            this.#requestOptions(),
          );
      this.#lease = written;
      this.#observe(written);
      this.#failures = 0;
      this.#hold(action, startedAt, term);
      return 'written';
    } catch (e) {
      // Another candidate wrote first (or created the lease first): that is the protocol working, not a fault.
      if (toApiError(e).code === 409) {
        this.#log.debug('another candidate wrote the lease first', { action });
        return 'conflict';
      }
      this.#fail(action, e);
      return 'failed';
    }
  }

  /** After a successful write begun at startedAt: lead until startedAt + renewDeadline. */
  #hold(action: string, startedAt: Date, term: number): void {
    // stop() is under way (it releases what we just wrote), or a term ended while we wrote: the next attempt,
    // once that term has wound down, renews and starts leading again.
    if (this.#state !== 'running' || term !== this.#endedTerms) return;
    const until = startedAt.getTime() + this.#timing.renewDeadlineMs;
    const remaining = until - this.#now().getTime();
    if (remaining <= 0) {
      if (this.#leading) this.#endTerm('warn', 'renew deadline passed');
      return;
    }
    this.#leadingUntilMs = until;
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = setTimeout(() => this.#endTerm('warn', 'renew deadline passed'), remaining);
    if (this.#leading) return;
    this.#leading = true;
    const transitions = this.#lease?.spec?.leaseTransitions;
    this.#log.info('started leading', { action, ...(transitions !== undefined ? { transitions } : {}) });
    try {
      this.#deps.onStartedLeading();
    } catch (e) {
      this.#log.error('onStartedLeading failed', errorFields(e));
    }
  }

  #endTerm(level: 'info' | 'warn', reason: string, fields: Record<string, unknown> = {}): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#leadingUntilMs = 0;
    this.#endedTerms++;
    clearTimeout(this.#deadlineTimer);
    this.#log.log(level, 'stopped leading', { reason, ...fields });
    this.#winding = this.#notifyStopped();
  }

  #notifyStopped(): Promise<void> {
    const report = (e: unknown): void => {
      this.#log.error('onStoppedLeading failed', errorFields(e));
    };
    try {
      return Promise.resolve(this.#deps.onStoppedLeading()).catch(report);
    } catch (e) {
      report(e);
      return Promise.resolve();
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    const record = lease && releaseLease(this.#toState(lease), this.#deps.identity, this.#now());
    if (!lease || !record) return;
    const { coordination, namespace, name } = this.#deps;
    try {
      this.#lease = await coordination.replaceNamespacedLease(
        { name, namespace, body: { ...lease, spec: { ...lease.spec, ...toLeaseSpec(record) } } },
        this.#requestOptions(),
      );
      this.#log.info('released lease');
    } catch (e) {
      if (toApiError(e).code === 409) this.#log.info('lease changed before it could be released; leaving it');
      else this.#log.warn('lease release failed; it frees when it expires', apiErrorFields(e));
    }
  }

  #fail(action: string, e: unknown): void {
    this.#failures++;
    this.#log.warn(`lease ${action} failed; will retry`, {
      failures: this.#failures,
      leading: this.#leading,
      ...apiErrorFields(e),
    });
  }

  #observe(lease: Lease | undefined): void {
    const resourceVersion = lease?.metadata?.resourceVersion;
    if (this.#observed && this.#observed.resourceVersion === resourceVersion) return;
    this.#observed = { resourceVersion, at: this.#now() };
  }

  #toState(lease: Lease): LeaseState {
    const spec = lease.spec ?? {};
    const seen = this.#observed?.resourceVersion === lease.metadata?.resourceVersion ? this.#observed : undefined;
    return {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: toDate(spec.acquireTime),
      renewTime: toDate(spec.renewTime),
      leaseTransitions: spec.leaseTransitions,
      observedAt: seen?.at,
    };
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#sleepTimer = setTimeout(resolve, ms);
    });
  }

  /**
   * Bounds each request, as client-go bounds each renewal by a context: otherwise a request that hangs holds the
   * loop, and stop(), with it. Half the renew deadline leaves the leader a second try within it.
   */
  #requestOptions(): CallOptions {
    return { timeoutMs: this.#timing.renewDeadlineMs / 2 };
  }
}

/** The spec fields a LeaseRecord sets, its times as MicroTime strings (six fractional digits). */
function toLeaseSpec(record: LeaseRecord): NonNullable<Lease['spec']> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: toMicroTime(record.acquireTime),
    renewTime: toMicroTime(record.renewTime),
    leaseTransitions: record.leaseTransitions,
  };
}

/** A MicroTime as read: the API server's string (a Date from a test's fake is taken too). */
function toDate(value: unknown): Date | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}
