// reconcile(key): level-based. The key says which policy; everything else is read fresh from the informer cache,
// never taken from the watch event that caused the call.
import type { PolicyKind } from '../pkg/api/v1/index.js';
import { errorFields, type Logger } from '../pkg/log/index.js';
import { compile, type CompileOptions, type PolicyRef, type RuleCache } from '../pkg/policy/index.js';
import { desiredStatus, isStatusCurrent, type PolicyObject, type PolicyStatus } from './desired-status.js';

export interface ReconcileDeps {
  /** The policy as the informer cache has it now, or undefined when it no longer exists. */
  readonly getPolicy: (ref: PolicyRef) => PolicyObject | undefined;
  readonly cache: RuleCache;
  /** The operator's trust root, which policies verify against besides what they name themselves. */
  readonly compileOptions: CompileOptions;
  readonly writeStatus: (ref: PolicyRef, status: PolicyStatus) => Promise<void>;
  /** Told when the set of compiled policies changed, so the webhook registration can follow. */
  readonly onCacheChanged: () => void;
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
  const status = desiredStatus(policy, result, deps.now());
  if (isStatusCurrent(policy, status)) return;
  try {
    await deps.writeStatus(ref, status);
  } catch (e) {
    // NotFound: deleted since we read it; the delete event brings us back. Anything else is retried with backoff.
    if ((e as { code?: unknown }).code === 404) return;
    log.debug('status write failed', errorFields(e));
    throw e;
  }
}
