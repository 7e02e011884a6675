// What a stopping replica does with the webhook configurations it registered, the I/O half: carries out the plan
// of decide-release.ts. Run after the operator's workers have stopped (nothing of ours applies them again) and
// before the webhook server closes (nothing is refused while a configuration still points here). Every delete is
// made on the version just read (preconditions.resourceVersion), so a configuration that another replica
// re-registered in between is never deleted: the API server answers 409, and it stays.
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import type { AdmissionApi, CoordinationApi } from '../../pkg/kube/index.js';
import type { Logger } from '../../pkg/log/index.js';
import { apiErrorFields, toApiError } from '../kube/api-error.js';
import { VALIDATING_WEBHOOK_CONFIGURATION_NAME, WEBHOOK_CONFIGURATION_NAME } from '../webhook-configuration.js';
import {
  decideRemoval,
  findSuccessor,
  HAND_OVER_MARGIN_MS,
  pointsAt,
  type ReadConfiguration,
  type ReleasePlan,
} from './decide-release.js';

export type WebhookConfigurationApi = Pick<
  AdmissionApi,
  | 'readMutatingWebhookConfiguration'
  | 'readValidatingWebhookConfiguration'
  | 'deleteMutatingWebhookConfiguration'
  | 'deleteValidatingWebhookConfiguration'
>;

export interface ReleaseDeps {
  readonly admission: WebhookConfigurationApi;
  /** The lease this replica led on: a successor shows by taking it. Needed for the 'hand-over' plan. */
  readonly lease?: {
    readonly coordination: Pick<CoordinationApi, 'readNamespacedLease'>;
    readonly namespace: string;
    readonly name: string;
  };
  /** This replica's identity, as the lease names its holder. */
  readonly identity: string;
  /** Our base URL, as registered (https://127.0.0.1:<port>): the webhooks' URLs are their paths under it. */
  readonly url: string;
  readonly log: Logger;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
}

/** What became of one configuration. */
export type RemovalOutcome =
  | 'deleted'
  /** Not there, or gone before our delete arrived. */
  | 'absent'
  /** Another replica's: some webhook in it sends elsewhere. */
  | 'points-elsewhere'
  /** Written again between our read and our delete (409): another replica's now. */
  | 'changed'
  /** The read or the delete failed (the API server's words are in the log). */
  | 'failed';

export type ReleaseOutcome =
  | { readonly $case: 'kept'; readonly reason: 'in-cluster' | 'follower' }
  /** Another replica took the lease; `repointed` once neither configuration sends to us any more. */
  | { readonly $case: 'handed-over'; readonly successor: string; readonly repointed: boolean }
  /** We were the last: each configuration's fate, by name. */
  | { readonly $case: 'removal'; readonly outcomes: Readonly<Record<string, RemovalOutcome>> };

/** How often the lease and the configurations are read while we wait on another replica. */
export const POLL_MS = 250;

/**
 * After a configuration stops pointing at us: the API server's webhook informer has to see the change before it
 * stops sending us admissions, so the server stays open that much longer.
 */
export const API_SERVER_NOTICE_MS = 1_000;

interface ConfigurationKind {
  readonly kind: string;
  readonly name: string;
  read(api: WebhookConfigurationApi): Promise<V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>;
  delete(api: WebhookConfigurationApi, resourceVersion: string): Promise<unknown>;
}

/**
 * The validating configuration first: its `required` check looks for what the mutating webhook recorded, so for a
 * moment with only the mutating one gone, every Pod it matches would be denied as unverified.
 */
const CONFIGURATIONS: readonly ConfigurationKind[] = [
  {
    kind: 'ValidatingWebhookConfiguration',
    name: VALIDATING_WEBHOOK_CONFIGURATION_NAME,
    read: (api) => api.readValidatingWebhookConfiguration({ name: VALIDATING_WEBHOOK_CONFIGURATION_NAME }),
    delete: (api, resourceVersion) =>
      api.deleteValidatingWebhookConfiguration({
        name: VALIDATING_WEBHOOK_CONFIGURATION_NAME,
        body: { preconditions: { resourceVersion } },
      }),
  },
  {
    kind: 'MutatingWebhookConfiguration',
    name: WEBHOOK_CONFIGURATION_NAME,
    read: (api) => api.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME }),
    delete: (api, resourceVersion) =>
      api.deleteMutatingWebhookConfiguration({
        name: WEBHOOK_CONFIGURATION_NAME,
        body: { preconditions: { resourceVersion } },
      }),
  },
];

/** Carries out `plan`. Never throws: what went wrong is in the outcome and the log. */
export async function releaseWebhookConfigurations(plan: ReleasePlan, deps: ReleaseDeps): Promise<ReleaseOutcome> {
  const { log } = deps;
  switch (plan.action) {
    case 'keep':
      log.info('leaving the webhook configurations in place', {
        reason:
          plan.reason === 'in-cluster'
            ? 'registered by Service: the other replicas, or the next rollout, serve behind it'
            : 'a follower: they point at the leader',
      });
      return { $case: 'kept', reason: plan.reason };
    case 'remove':
      return { $case: 'removal', outcomes: await removeOurs(deps) };
    case 'hand-over': {
      const successor = await awaitSuccessor(plan.withinMs, deps);
      if (successor === undefined) {
        log.info('no other replica took the lease; removing the webhook configurations', {
          waitedMs: plan.withinMs,
        });
        return { $case: 'removal', outcomes: await removeOurs(deps) };
      }
      const repointed = await awaitRepointed(HAND_OVER_MARGIN_MS, deps);
      if (repointed) {
        log.info('handed the webhook configurations over to the new leader', { successor });
        await deps.sleep(API_SERVER_NOTICE_MS);
      } else {
        log.warn('the new leader has not yet re-pointed the webhook configurations; leaving them to it', {
          successor,
        });
      }
      return { $case: 'handed-over', successor, repointed };
    }
  }
}

/** Deletes each configuration that still points only at us, on the version read. */
async function removeOurs(deps: ReleaseDeps): Promise<Record<string, RemovalOutcome>> {
  const outcomes: Record<string, RemovalOutcome> = {};
  for (const configuration of CONFIGURATIONS) outcomes[configuration.name] = await removeOne(configuration, deps);
  deps.log.info('webhook configurations released', { outcomes });
  if (Object.values(outcomes).includes('deleted')) await deps.sleep(API_SERVER_NOTICE_MS);
  return outcomes;
}

async function removeOne(configuration: ConfigurationKind, deps: ReleaseDeps): Promise<RemovalOutcome> {
  const { kind, name } = configuration;
  // Left in place, it holds up what its failurePolicy: Fail webhooks match until a replica serves it again.
  const advice = `if no replica serves it, remove it: kubectl delete ${kind.toLowerCase()} ${name}`;
  const read = await readConfiguration(configuration, deps);
  if (read === 'failed') {
    deps.log.warn(`could not check ${kind} ${name}; ${advice}`);
    return 'failed';
  }
  const decision = decideRemoval(read, deps.url);
  if (decision.action === 'absent') return 'absent';
  if (decision.action === 'keep') return decision.reason;
  try {
    await configuration.delete(deps.admission, decision.resourceVersion);
    return 'deleted';
  } catch (e) {
    const code = toApiError(e).code;
    if (code === 404) return 'absent';
    if (code === 409) return 'changed';
    deps.log.warn(`could not delete ${kind} ${name}; ${advice}`, apiErrorFields(e));
    return 'failed';
  }
}

/** The configuration as it is now; undefined when there is none. */
async function readConfiguration(
  configuration: ConfigurationKind,
  deps: ReleaseDeps,
): Promise<ReadConfiguration | undefined | 'failed'> {
  try {
    const got = await configuration.read(deps.admission);
    return { resourceVersion: got.metadata?.resourceVersion, webhooks: got.webhooks };
  } catch (e) {
    if (toApiError(e).code === 404) return undefined;
    deps.log.warn(`could not read ${configuration.kind} ${configuration.name}`, apiErrorFields(e));
    return 'failed';
  }
}

/** Polls the lease until another replica holds it (its identity) or `withinMs` has passed (undefined). */
async function awaitSuccessor(withinMs: number, deps: ReleaseDeps): Promise<string | undefined> {
  const { lease } = deps;
  if (!lease) return undefined;
  const deadline = deps.now() + withinMs;
  for (;;) {
    try {
      const got = await lease.coordination.readNamespacedLease({ name: lease.name, namespace: lease.namespace });
      const successor = findSuccessor(got.spec?.holderIdentity, deps.identity);
      if (successor !== undefined) return successor;
    } catch (e) {
      // Gone (404) is as good as free; anything else is asked again until the deadline.
      if (toApiError(e).code !== 404) deps.log.debug('could not read the lease', apiErrorFields(e));
    }
    if (deps.now() >= deadline) return undefined;
    await deps.sleep(POLL_MS);
  }
}

/** Polls both configurations until neither sends admissions to us, or `withinMs` has passed. */
async function awaitRepointed(withinMs: number, deps: ReleaseDeps): Promise<boolean> {
  const deadline = deps.now() + withinMs;
  for (;;) {
    let ours = false;
    for (const configuration of CONFIGURATIONS) {
      const read = await readConfiguration(configuration, deps);
      // One we cannot read may still point here: wait, as for one that does.
      if (read === 'failed' || pointsAt(read, deps.url)) ours = true;
    }
    if (!ours) return true;
    if (deps.now() >= deadline) return false;
    await deps.sleep(POLL_MS);
  }
}
