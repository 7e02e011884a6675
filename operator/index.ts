// The operator: watches ClusterPolicy and Policy objects, compiles each into the rule cache, writes status and Events,
// and keeps the Mutating- and ValidatingWebhookConfiguration in line with the compiled policies. Every replica fills
// its own cache (each serves admissions); with leader election only the leader writes status, Events and the webhook
// configurations.
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api,
  CoordinationV1Api,
  CustomObjectsApi,
  EventsV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import type { PolicyKind } from '../pkg/api/v1/index.js';
import { errorFields, type Logger } from '../pkg/log/index.js';
import type { CompileOptions, RuleCache } from '../pkg/policy/index.js';
import { EventRecorder, REPORTING_CONTROLLER } from './kube/event-recorder.js';
import { LeaderElector, type LeaseTiming } from './kube/leader-election.js';
import { PolicyInformer } from './kube/policy-informer.js';
import { makeStatusWriter } from './kube/status-writer.js';
import { makeValidatingWebhookRegistrar, makeWebhookRegistrar } from './kube/webhook-registration.js';
import { reconcile, toPolicyRef } from './reconcile.js';
import {
  desiredValidatingWebhookConfiguration,
  desiredWebhookConfiguration,
  VALIDATING_WEBHOOK_CONFIGURATION_NAME,
  type WebhookEndpoint,
} from './webhook-configuration.js';
import { WorkQueue } from './work-queue.js';

export { desiredStatus, isStatusCurrent, type PolicyObject, type PolicyStatus } from './desired-status.js';
export { reconcile, toPolicyRef, type ReconcileDeps } from './reconcile.js';
export { WorkQueue } from './work-queue.js';
export {
  desiredValidatingWebhookConfiguration,
  desiredWebhookConfiguration,
  MUTATE_PATH,
  MUTATING_WEBHOOK_NAME,
  VALIDATE_PATH,
  VALIDATING_WEBHOOK_CONFIGURATION_NAME,
  VALIDATING_WEBHOOK_NAME,
  WEBHOOK_CONFIGURATION_NAME,
  type WebhookEndpoint,
} from './webhook-configuration.js';

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  readonly cache: RuleCache;
  readonly compileOptions: CompileOptions;
  readonly log: Logger;
  /** How the API server reaches our webhook; undefined leaves webhook registration to the manifests. */
  readonly webhookEndpoint?: WebhookEndpoint;
  readonly excludedNamespaces: readonly string[];
  /** The namespace the webhook runs in: never sent to it, so the operator cannot lock itself out. */
  readonly operatorNamespace: string;
  readonly workers: number;
  readonly resyncPeriodMs: number;
  /** This replica's name among replicas: in Events (reportingInstance) and as the Lease holder. */
  readonly identity: string;
  /** Lease-based leader election (--leader-elect); without it this replica always leads. */
  readonly leaderElection?: { readonly namespace: string; readonly name: string; readonly timing?: LeaseTiming };
}

export interface RunningOperator {
  /** Resolves once every policy present at start-up is compiled and the webhook registration is applied. */
  readonly warm: Promise<void>;
  /**
   * Records an Event through the operator's recorder (bounded, never blocking): the webhook's PolicyViolation
   * Events. Every replica records the admissions it answered; only the leader records about policy status.
   */
  recordEvent(event: Parameters<EventRecorder['record']>[0]): void;
  stop(): Promise<void>;
}

const REGISTRATION_KEY = 'MutatingWebhookConfiguration';
const KINDS: readonly PolicyKind[] = ['ClusterPolicy', 'Policy'];

export function startOperator(options: OperatorOptions): RunningOperator {
  const { kubeConfig, cache, log } = options;
  const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
  const policies = new WorkQueue({ baseDelayMs: 250, maxDelayMs: 60_000 });
  const registration = new WorkQueue({ baseDelayMs: 250, maxDelayMs: 30_000 });
  const informers = new Map(
    KINDS.map((kind) => [
      kind,
      new PolicyInformer(kind, { kubeConfig, customObjects, log, onKey: (k) => policies.add(k) }),
    ]),
  );

  const writeStatus = makeStatusWriter(customObjects);
  const events = new EventRecorder({
    events: kubeConfig.makeApiClient(EventsV1Api),
    controller: REPORTING_CONTROLLER,
    instance: options.identity,
    log: log.child({ component: 'events' }),
    now: () => new Date(),
  });
  const everyPolicy = () => {
    for (const informer of informers.values()) for (const key of informer.keys()) policies.add(key);
  };
  const election = options.leaderElection;
  const elector = election
    ? new LeaderElector({
        coordination: kubeConfig.makeApiClient(CoordinationV1Api),
        namespace: election.namespace,
        name: election.name,
        identity: options.identity,
        log,
        ...(election.timing ? { timing: election.timing } : {}),
        // A new leader writes what its predecessor may have left unwritten: every status and the registration.
        onStartedLeading: () => {
          everyPolicy();
          registration.add(REGISTRATION_KEY);
        },
        // Nothing to undo: the writers ask isLeader() before each write. The elector logs both transitions.
        onStoppedLeading: () => undefined,
      })
    : undefined;
  const isLeader = () => elector?.isLeader() ?? true;
  const reconcileDeps = {
    getPolicy: (ref: ReturnType<typeof toPolicyRef>) => informers.get(ref.kind)!.get(ref),
    cache,
    compileOptions: options.compileOptions,
    writeStatus,
    recordEvent: (e: Parameters<EventRecorder['record']>[0]) => events.record(e),
    isLeader,
    onCacheChanged: () => registration.add(REGISTRATION_KEY),
    now: () => new Date(),
    log,
  };
  const endpoint = options.webhookEndpoint;
  const admissionApi = endpoint ? kubeConfig.makeApiClient(AdmissionregistrationV1Api) : undefined;
  const register = admissionApi ? makeWebhookRegistrar(admissionApi) : undefined;
  const registerValidating = admissionApi ? makeValidatingWebhookRegistrar(admissionApi) : undefined;
  const applyRegistration = async () => {
    if (!register || !registerValidating || !endpoint || !isLeader()) return;
    const input = {
      endpoint,
      policies: cache.policies(),
      excludedNamespaces: options.excludedNamespaces,
      operatorNamespace: options.operatorNamespace,
    };
    const config = desiredWebhookConfiguration(input);
    const validating = desiredValidatingWebhookConfiguration(input);
    // The mutating configuration first: the validating webhook's `required` looks for the annotation the mutating
    // one writes, so it must never be sent a kind the mutating webhook is not yet sent. (Narrowing needs no order:
    // a policy the cache has dropped is checked by neither handler.)
    await register(config);
    await registerValidating(VALIDATING_WEBHOOK_CONFIGURATION_NAME, validating);
    log.debug('webhook configuration applied', {
      webhooks: config.webhooks?.map((w) => w.name) ?? [],
      validatingWebhooks: validating?.webhooks?.map((w) => w.name) ?? [],
    });
  };

  const onError = (key: string, e: unknown, retryInMs: number) =>
    log.warn('reconcile failed; will retry', { key, retryInMs, ...errorFields(e) });
  const workersDone = Promise.all([
    policies.run(options.workers, (key) => reconcile(key, reconcileDeps), onError),
    registration.run(1, applyRegistration, onError),
  ]);

  events.start();
  elector?.start();
  for (const informer of informers.values()) {
    informer
      .start()
      .catch((e: unknown) => log.error('policy informer failed to start', { kind: informer.kind, ...errorFields(e) }));
  }
  const resync = setInterval(everyPolicy, options.resyncPeriodMs);
  resync.unref();

  let stopped = false;
  const warm = (async () => {
    await Promise.all([...informers.values()].map((i) => i.whenSynced()));
    // The informer hands the listed objects to onKey right after its list resolves; let that happen first.
    await nextTurn();
    registration.add(REGISTRATION_KEY);
    await Promise.all([policies.whenIdle(), registration.whenIdle()]);
    if (stopped) return;
    cache.markWarm();
    log.info('rule cache warm', { policies: cache.size });
  })();

  return {
    recordEvent: (e) => events.record(e),
    warm,
    async stop() {
      stopped = true;
      clearInterval(resync);
      await Promise.all([...informers.values()].map((i) => i.stop()));
      policies.shutDown();
      registration.shutDown();
      await workersDone;
      // Last, so that the next leader takes over at once and finds the Events of this one written.
      await elector?.stop();
      await events.stop();
    },
  };
}
