// The operator: watches ClusterPolicy and Policy objects, compiles each into the rule cache, writes status and Events,
// and keeps the Mutating- and ValidatingWebhookConfiguration in line with the compiled policies. Every replica fills
// its own cache (each serves admissions); with leader election only the leader writes status, Events and the webhook
// configurations.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdmissionApi, CoordinationApi, CustomObjectsApi, EventsApi, type KubeClient } from '../pkg/kube/index.js';
import type { PolicyKind } from '../pkg/api/v1/index.js';
import { errorFields, type Logger } from '../pkg/log/index.js';
import type { CompileOptions, RuleCache } from '../pkg/policy/index.js';
import { planRelease } from './clean-stop/decide-release.js';
import { releaseWebhookConfigurations, type ReleaseOutcome } from './clean-stop/release-webhook-configurations.js';
import { EventRecorder, REPORTING_CONTROLLER } from './kube/event-recorder.js';
import { ServingCertificateController, type ServingMaterial } from './kube/serving-certificate-controller.js';
import { DEFAULT_LEASE_TIMING, LeaderElector, type LeaseTiming } from './kube/leader-election.js';
import { PolicyInformer } from './kube/policy-informer.js';
import { makeStatusWriter } from './kube/status-writer.js';
import { makeValidatingWebhookRegistrar, makeWebhookRegistrar } from './kube/webhook-registration.js';
import { toCertificateSecretApi } from './kube/certificate-secret-api.js';
import { reconcile, toPolicyRef } from './reconcile.js';
import {
  desiredValidatingWebhookConfiguration,
  desiredWebhookConfiguration,
  VALIDATING_WEBHOOK_CONFIGURATION_NAME,
  type WebhookEndpoint,
  type WebhookTarget,
} from './webhook-configuration.js';
import type { CertificateLifetimes } from './next-certificate-secret.js';
import { WorkQueue } from './work-queue.js';
import { observeReconciles, type OperatorMetrics } from './operator-metrics.js';

export { desiredStatus, isStatusCurrent, type PolicyObject, type PolicyStatus } from './desired-status.js';
export { reconcile, toPolicyRef, type ReconcileDeps } from './reconcile.js';
export { WorkQueue } from './work-queue.js';
export { observeReconciles, type OperatorMetrics, type PolicyReadiness } from './operator-metrics.js';
export type { ReleaseOutcome } from './clean-stop/release-webhook-configurations.js';
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
  type WebhookTarget,
} from './webhook-configuration.js';
export { planServingCertificate, readCertificateSecret, type CertificatePlan } from './serving-certificate-plan.js';
export { settleTime, type ServingMaterial } from './kube/serving-certificate-controller.js';

export interface OperatorOptions {
  /** The API server, reached with the operator's credentials. */
  readonly kube: KubeClient;
  readonly cache: RuleCache;
  readonly compileOptions: CompileOptions;
  readonly log: Logger;
  /** How the API server reaches our webhook; undefined leaves webhook registration to the manifests. */
  readonly webhookEndpoint?: WebhookTarget;
  /** The webhook's serving certificate: given (and the CAs it is trusted by), or kept by the operator in a Secret. */
  readonly servingCertificate: ServingCertificateSource;
  readonly excludedNamespaces: readonly string[];
  /** The namespace the webhook runs in: never sent to it, so the operator cannot lock itself out. */
  readonly operatorNamespace: string;
  readonly workers: number;
  readonly resyncPeriodMs: number;
  /** This replica's name among replicas: in Events (reportingInstance) and as the Lease holder. */
  readonly identity: string;
  /** Lease-based leader election (--leader-elect); without it this replica always leads. */
  readonly leaderElection?: { readonly namespace: string; readonly name: string; readonly timing?: LeaseTiming };
  /** Reconciles, work queues, leadership and policy readiness, for the process's Prometheus metrics. */
  readonly metrics?: OperatorMetrics;
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
  /**
   * After stop(), before the webhook server closes: in local mode, the last replica removes the webhook
   * configurations that still point at it; a leader first waits for another replica to take over; in the cluster
   * they stay (clean-stop/decide-release.ts). Never throws.
   */
  releaseWebhookConfigurations(): Promise<ReleaseOutcome>;
  /** A given serving certificate's CAs changed (its files were renewed): the webhook configurations take them. */
  caBundleChanged(): void;
}

/** Where the serving certificate comes from. */
export type ServingCertificateSource =
  /** Given: the CAs it is trusted by, read at every registration (call caBundleChanged() when they change). */
  | { readonly $case: 'given'; readonly caBundle: () => string }
  | ({
      readonly $case: 'secret';
      readonly namespace: string;
      readonly name: string;
      /** Every host name and address the API server may call the webhook by. */
      readonly hosts: readonly string[];
      /** Called on every replica whenever what it should serve changes; the first call gives what to serve first. */
      readonly onChange: (material: ServingMaterial) => void;
    } & CertificateLifetimes);

const REGISTRATION_KEY = 'MutatingWebhookConfiguration';
/** Names in the metrics: the work queues, and the controllers (a policy kind, lower-cased, as its log lines say). */
const POLICY_QUEUE = 'policies';
const REGISTRATION_CONTROLLER = 'webhook-registration';
/** --leader-election-id's default. */
const DEFAULT_LEASE_NAME = 'imprimatur-operator';
const controllerOfKey = (key: string) => toPolicyRef(key).kind.toLowerCase();
const KINDS: readonly PolicyKind[] = ['ClusterPolicy', 'Policy'];

export function startOperator(options: OperatorOptions): RunningOperator {
  const { kube, cache, log } = options;
  const customObjects = new CustomObjectsApi(kube);
  const { metrics } = options;
  const policies = new WorkQueue({
    baseDelayMs: 250,
    maxDelayMs: 60_000,
    ...(metrics ? { onAdded: () => metrics.observeQueueAdd(POLICY_QUEUE) } : {}),
  });
  const registration = new WorkQueue({
    baseDelayMs: 250,
    maxDelayMs: 30_000,
    ...(metrics ? { onAdded: () => metrics.observeQueueAdd(REGISTRATION_CONTROLLER) } : {}),
  });
  const informers = new Map(
    KINDS.map((kind) => [
      kind,
      new PolicyInformer(kind, { watch: kube, customObjects, log, onKey: (k) => policies.add(k) }),
    ]),
  );

  const writeStatus = makeStatusWriter(customObjects);
  const events = new EventRecorder({
    events: new EventsApi(kube),
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
        coordination: new CoordinationApi(kube),
        namespace: election.namespace,
        name: election.name,
        identity: options.identity,
        log,
        ...(election.timing ? { timing: election.timing } : {}),
        // A new leader writes what its predecessor may have left unwritten: every status and the registration.
        onStartedLeading: () => {
          everyPolicy();
          registration.add(REGISTRATION_KEY);
          certificates?.check();
        },
        // Nothing to undo: the writers ask isLeader() before each write. The elector logs both transitions.
        onStoppedLeading: () => undefined,
      })
    : undefined;
  const isLeader = () => elector?.isLeader() ?? true;
  if (metrics) {
    metrics.watchQueue(POLICY_QUEUE, () => policies.length);
    metrics.watchQueue(REGISTRATION_CONTROLLER, () => registration.length);
    // Without --leader-elect this replica always leads; it reports so under the Lease name it would use.
    metrics.watchLeader(election?.name ?? DEFAULT_LEASE_NAME, isLeader);
    for (const kind of KINDS) metrics.declareController(kind.toLowerCase());
    metrics.declareController(REGISTRATION_CONTROLLER);
  }
  const reconcileDeps = {
    getPolicy: (ref: ReturnType<typeof toPolicyRef>) => informers.get(ref.kind)!.get(ref),
    cache,
    compileOptions: options.compileOptions,
    writeStatus,
    recordEvent: (e: Parameters<EventRecorder['record']>[0]) => events.record(e),
    isLeader,
    onCacheChanged: () => registration.add(REGISTRATION_KEY),
    ...(metrics ? { onReadiness: metrics.setPolicyReadiness.bind(metrics) } : {}),
    now: () => new Date(),
    log,
  };
  const certificateSource = options.servingCertificate;
  const certificates =
    certificateSource.$case === 'secret'
      ? new ServingCertificateController({
          ...certificateSource,
          secrets: toCertificateSecretApi(kube),
          isLeader,
          now: () => new Date(),
          log: log.child({ component: 'serving-certificate' }),
          onChange: (material) => {
            // The webhook serves it first; then the webhook configurations take its caBundle (when it changed).
            certificateSource.onChange(material);
            registration.add(REGISTRATION_KEY);
          },
        })
      : undefined;
  const caBundle = () =>
    certificateSource.$case === 'given' ? certificateSource.caBundle() : certificates?.current()?.caBundlePem;
  const endpoint = options.webhookEndpoint;
  const admissionApi = endpoint ? new AdmissionApi(kube) : undefined;
  const register = admissionApi ? makeWebhookRegistrar(admissionApi) : undefined;
  const registerValidating = admissionApi ? makeValidatingWebhookRegistrar(admissionApi) : undefined;
  const applyRegistration = async () => {
    const bundle = caBundle();
    // No certificate yet (the leader has not written the Secret): the webhook could not answer, so nothing is
    // registered; the certificate's arrival asks again.
    if (!register || !registerValidating || !endpoint || !isLeader() || bundle === undefined) return;
    const input = {
      endpoint: { ...endpoint, caBundle: bundle } satisfies WebhookEndpoint,
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
    certificates?.noteRegistered(bundle);
    log.debug('webhook configuration applied', {
      webhooks: config.webhooks?.map((w) => w.name) ?? [],
      validatingWebhooks: validating?.webhooks?.map((w) => w.name) ?? [],
    });
  };

  const observed = (controllerOf: (key: string) => string, handler: (key: string) => Promise<void>) =>
    metrics ? observeReconciles(controllerOf, handler, metrics, () => performance.now()) : handler;
  const onError = (key: string, e: unknown, retryInMs: number) =>
    log.warn('reconcile failed; will retry', { key, retryInMs, ...errorFields(e) });
  const workersDone = Promise.all([
    policies.run(
      options.workers,
      observed(controllerOfKey, (key) => reconcile(key, reconcileDeps)),
      onError,
    ),
    registration.run(
      1,
      observed(() => REGISTRATION_CONTROLLER, applyRegistration),
      onError,
    ),
  ]);

  events.start();
  elector?.start();
  const certificatesStarted = certificates
    ?.start()
    .catch((e: unknown) => log.error('serving certificate watch failed to start', errorFields(e)));
  for (const informer of informers.values()) {
    informer
      .start()
      .catch((e: unknown) => log.error('policy informer failed to start', { kind: informer.kind, ...errorFields(e) }));
  }
  const resync = setInterval(everyPolicy, options.resyncPeriodMs);
  resync.unref();

  let stopped = false;
  /** Whether this replica led when it stopped, read just before it gave up the lease. */
  let ledAtStop = false;
  const warm = (async () => {
    await Promise.all([...informers.values()].map((i) => i.whenSynced()));
    // The informer hands the listed objects to onKey right after its list resolves; let that happen first.
    await nextTurn();
    // Not warm (so not ready) before there is a certificate to serve.
    await certificates?.whenServing();
    registration.add(REGISTRATION_KEY);
    await Promise.all([policies.whenIdle(), registration.whenIdle()]);
    if (stopped) return;
    cache.markWarm();
    log.info('rule cache warm', { policies: cache.size });
  })();

  return {
    recordEvent: (e) => events.record(e),
    warm,
    caBundleChanged: () => registration.add(REGISTRATION_KEY),
    releaseWebhookConfigurations: () =>
      releaseWebhookConfigurations(
        planRelease({
          endpoint,
          retryPeriodMs: election ? (election.timing ?? DEFAULT_LEASE_TIMING).retryPeriodMs : undefined,
          wasLeader: ledAtStop,
        }),
        {
          admission: admissionApi ?? new AdmissionApi(kube),
          ...(election
            ? {
                lease: {
                  coordination: new CoordinationApi(kube),
                  namespace: election.namespace,
                  name: election.name,
                },
              }
            : {}),
          identity: options.identity,
          url: endpoint?.$case === 'url' ? endpoint.url : '',
          log: log.child({ component: 'webhook-release' }),
          sleep: (ms) => sleep(ms),
          now: Date.now,
        },
      ),
    async stop() {
      stopped = true;
      clearInterval(resync);
      await Promise.all([...informers.values()].map((i) => i.stop()));
      policies.shutDown();
      registration.shutDown();
      await workersDone;
      await certificatesStarted;
      await certificates?.stop();
      // Last, so that the next leader takes over at once and finds the Events of this one written.
      ledAtStop = isLeader();
      await elector?.stop();
      await events.stop();
    },
  };
}
