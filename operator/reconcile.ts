// reconcile(key): level-based. The key says which policy; everything else is read fresh from the informer cache,
// never taken from the watch event that caused the call.
import type { PolicyKind } from '../pkg/api/v1/index.js';
import { errorFields, type Logger } from '../pkg/log/index.js';
import { compile, type CompileOptions, type PolicyRef, type RuleCache } from '../pkg/policy/index.js';
import { desiredStatus, isStatusCurrent, type PolicyObject, type PolicyStatus } from './desired-status.js';
import type { EventInput } from './event-series.js';

export interface ReconcileDeps {
  /** The policy as the informer cache has it now, or undefined when it no longer exists. */
  readonly getPolicy: (ref: PolicyRef) => PolicyObject | undefined;
  readonly cache: RuleCache;
  /** The operator's trust root, which policies verify against besides what they name themselves. */
  readonly compileOptions: CompileOptions;
  readonly writeStatus: (ref: PolicyRef, status: PolicyStatus) => Promise<void>;
  /** Queues an Event about the policy; never blocks, never throws. */
  readonly recordEvent: (event: EventInput) => void;
  /**
   * Whether this replica leads. Every replica fills its own cache; only the leader writes status and Events, and a
   * new leader reconciles every policy again.
   */
  readonly isLeader: () => boolean;
  /** Told when the set of compiled policies changed, so the webhook registration can follow. */
  readonly onCacheChanged: () => void;
  /**
   * Told of the policy's Ready condition at each reconcile, on every replica, and with undefined once it is gone:
   * the policies gauge of the metrics.
   */
  readonly onReadiness?: (key: string, ready: { kind: string; status: string; reason: string } | undefined) => void;
  readonly now: () => Date;
  readonly log: Logger;
}

export function toPolicyRef(key: string): PolicyRef {
  const [kind, namespace, ...rest] = key.split('/');
  if ((kind !== 'ClusterPolicy' && kind !== 'Policy') || namespace === undefined || rest.length === 0) {
    throw new Error(`bug: malformed policy key ${JSON.stringify(key)}`);
  }
  return { kind: kind satisfies PolicyKind, namespace, name: rest.join('/') };
}

export async function reconcile(key: string, deps: ReconcileDeps): Promise<void> {
  const ref = toPolicyRef(key);
  const log = deps.log.child({ controller: ref.kind.toLowerCase(), key });
  const policy = deps.getPolicy(ref);
  if (policy === undefined) {
    deps.onReadiness?.(key, undefined);
    if (deps.cache.get(key)) {
      deps.cache.remove(key);
      deps.onCacheChanged();
      log.info('policy deleted; removed from the rule cache');
    }
    return;
  }
  const result = compile(policy, deps.compileOptions);
  const cached = deps.cache.get(key);
  if (result.ok) {
    // The revision moves with the spec and the autogen annotation, so our own status writes do not count as changes.
    if (cached?.revision !== result.value.revision) {
      deps.cache.upsert(result.value);
      deps.onCacheChanged();
      log.info('policy compiled', { rules: result.value.rules.length, resourceVersion: result.value.resourceVersion });
    }
  } else {
    if (cached) {
      deps.cache.remove(key);
      deps.onCacheChanged();
    }
    log.warn('policy is invalid', { errors: result.error.map((e) => `${e.field}: ${e.message}`) });
  }
  // Computed on every replica, so that each one's metrics tell its own view; only the leader writes it.
  const status = desiredStatus(policy, result, deps.now());
  const ready = status.conditions.find((c) => c.type === 'Ready');
  if (ready) deps.onReadiness?.(key, { kind: ref.kind, status: ready.status, reason: ready.reason });
  if (!deps.isLeader()) return;
  if (isStatusCurrent(policy, status)) return;
  // Events go with status changes, not with every resync: the status says it, the Event tells whoever watches.
  const event = toPolicyEvent(ref, policy, status);
  if (event) deps.recordEvent(event);
  try {
    await deps.writeStatus(ref, status);
  } catch (e) {
    // NotFound: deleted since we read it; the delete event brings us back. Anything else is retried with backoff.
    if ((e as { code?: unknown }).code === 404) return;
    log.debug('status write failed', errorFields(e));
    throw e;
  }
}

/** A Warning PolicyError for a policy that does not compile; a PolicySkipped for rules this operator does not run. */
function toPolicyEvent(ref: PolicyRef, policy: PolicyObject, status: PolicyStatus): EventInput | undefined {
  const ready = status.conditions.find((c) => c.type === 'Ready');
  if (!ready) return undefined;
  const meta = policy.metadata as { uid?: unknown } | undefined;
  const regarding = {
    kind: ref.kind,
    apiVersion: 'kyverno.io/v1',
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(typeof meta?.uid === 'string' ? { uid: meta.uid } : {}),
  };
  if (ready.status === 'False') {
    return {
      regarding,
      type: 'Warning',
      reason: 'PolicyError',
      action: 'Compile',
      note: `${ready.reason}: ${ready.message}`,
    };
  }
  if (ready.message !== 'Ready') {
    return { regarding, type: 'Normal', reason: 'PolicySkipped', action: 'Compile', note: ready.message };
  }
  return undefined;
}
