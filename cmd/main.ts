// The composition root: reads the configuration, builds the logger, the rule cache, the webhook and the
// operator, and joins them. The operator writes the rule cache; the webhook reads it; they meet only here.
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer as createHttpServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { Writable } from 'node:stream';
import {
  CoreApi,
  KubeClient,
  loadInClusterConfig,
  loadKubeConfigFile,
  RbacApi,
  type KubeTarget,
} from '../pkg/kube/index.js';
import { createLogger, errorFields, flushLogger, type Logger } from '../pkg/log/index.js';
import { RuleCache } from '../pkg/policy/index.js';
import { describeTrustRoot, type TrustRoot } from '../pkg/trust/index.js';
import { createServingCertificates } from '../pkg/tls/index.js';
import { ok, type Result } from '../pkg/result/index.js';
import {
  startOperator,
  type RunningOperator,
  type ServingCertificateSource,
  type WebhookTarget,
} from '../operator/index.js';
import {
  ConfigMapStore,
  KeySecretStore,
  warmUpAdmission,
  WARM_UP_ROUNDS,
  NamespaceLabels,
  PullSecretStore,
  RoleBindings,
  serveHealth,
  startWebhook,
  toUserRoles,
  type PassCache,
} from '../webhook/index.js';
import { VerificationCache } from '../pkg/cache/index.js';
import { RegistryClient } from '../pkg/oci/index.js';
import { Metrics } from '../pkg/metrics/index.js';
import { parseConfig, type Config } from './config.js';
import { awaitStopSignal, describeTimeout, runStopSteps, toExitCode } from './graceful-stop.js';
import { checkLocalWebhookReachable } from './local-webhook.js';
import { collectGarbage } from './collect-garbage.js';
import { loadTrustedRoot } from './trusted-root.js';
import {
  readCertificateFiles,
  watchCertificateFiles,
  type CertificateFiles,
  type CertificateFileNames,
} from './certificate-files.js';
import { startMetricsServer } from './metrics-server.js';
import { makeApiCall } from './api-call.js';

/** How often certificate files (--webhook-cert-path) are read for a renewal; cert-manager renews days ahead. */
const CERTIFICATE_FILES_POLL_MS = 10_000;

/** Runs the operator and webhook until SIGTERM or SIGINT. Returns the process exit code. */
export async function runManager(argv: readonly string[]): Promise<number> {
  const parsed = parseConfig(argv, process.env);
  if (!parsed.ok) {
    process.stderr.write(`imprimatur run: ${parsed.error}\nRun 'imprimatur run --help' for the flags.\n`);
    return 2;
  }
  const config = parsed.value;
  const trustRoot = loadTrustedRoot(config.trustedRoot);
  if (!trustRoot.ok) {
    process.stderr.write(`imprimatur run: ${trustRoot.error}\n`);
    return 2;
  }
  const log = createLogger({ level: config.logLevel });
  // The logger writes its lines once per turn of the event loop; process.exit() does not wait for the next turn.
  process.once('exit', () => flushLogger(log));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection (bug)', errorFields(e)));
  try {
    return await serve(config, trustRoot.value, log);
  } catch (e) {
    log.error('start-up failed', errorFields(e));
    return 1;
  }
}

async function serve(config: Config, trustRoot: TrustRoot, log: Logger): Promise<number> {
  const target: Result<KubeTarget, string> = config.kubeconfig
    ? loadKubeConfigFile(config.kubeconfig)
    : loadInClusterConfig();
  if (!target.ok) {
    log.error('the API server cannot be reached', { error: target.error });
    return 2;
  }
  const server = target.value.server;
  const kube = new KubeClient(target.value, { userAgent: 'imprimatur' });
  log.info('starting', {
    server,
    kubeconfig: config.kubeconfig ? `${config.kubeconfig} (${target.value.source})` : target.value.source,
    local: config.local,
    trustedRoot: config.trustedRoot ? `${config.trustedRoot}: ${describeTrustRoot(trustRoot)}` : 'none',
  });
  if (config.local) {
    // Before anything is registered: a local webhook that the API server cannot call blocks every admission.
    const problem = checkLocalWebhookReachable({
      server,
      addresses: await resolveServerHost(server),
      ...(config.webhookUrl ? { webhookUrl: config.webhookUrl } : {}),
    });
    if (problem) {
      log.error(problem);
      return 2;
    }
  }

  // Given (files, or made in memory for a local run), or kept by the operator in a Secret and set on the running
  // server whenever it changes.
  const loaded = config.webhookCertSecret ? undefined : await loadTls(config);
  if (loaded && !loaded.ok) {
    log.error('the serving certificate cannot be used', { error: loaded.error });
    return 2;
  }
  let given = loaded?.value;
  // Set once the operator runs; the webhook, started first, records its Events through it.
  const running: { operator?: RunningOperator } = {};
  // Verification results cached for a policy version that was replaced or deleted can never be hit again (the
  // key holds the resourceVersion); they are dropped at once rather than left to age out.
  const passes: PassCache = new VerificationCache({
    ...(config.imageVerifyCache.enabled ? config.imageVerifyCache : { maxEntries: 0 }),
    now: Date.now,
  });
  const cache = new RuleCache({ onRetired: (retired) => passes.invalidatePolicy(retired.uid) });
  // One registry for the process, handed to each part as plain observers; none at all without --metrics-bind-address.
  const metrics = config.metricsBindAddress ? new Metrics() : undefined;
  metrics?.watchVerificationCache(() => passes.stats());
  if (config.allowInsecureRegistry) {
    log.warn(
      '--allowInsecureRegistry: registries are read without certificate checks, and over plain HTTP when they do not speak HTTPS',
    );
  }
  // Registries on loopback speak plain HTTP, as go-containerregistry (so Kyverno and cosign) has it.
  const registry = new RegistryClient({
    plainHttpForLoopback: true,
    allowInsecureRegistry: config.allowInsecureRegistry,
    userAgent: 'imprimatur-webhook',
    ...(metrics ? { observeRequest: metrics.observeRegistryRequest.bind(metrics) } : {}),
  });
  // Pull Secrets (--imagePullSecrets, each Pod's own, each rule's) from an informer, so a rotated one is used at once.
  const core = new CoreApi(kube);
  const pullSecrets = new PullSecretStore({
    listSecrets: (request) => core.listSecretForAllNamespaces(request),
    watch: kube,
    log: log.child({ component: 'pull-secrets' }),
  });
  await pullSecrets.start();
  // Namespaces' labels, for namespaceSelector in match, exclude and validationFailureActionOverrides.
  const namespaces = new NamespaceLabels({
    listNamespaces: (request) => core.listNamespace(request),
    watch: kube,
    log: log.child({ component: 'namespaces' }),
  });
  await namespaces.start();
  // Who is bound to which roles, for the roles and clusterRoles of match and exclude.
  const rbac = new RbacApi(kube);
  const roleBindings = new RoleBindings({
    listRoleBindings: (request) => rbac.listRoleBindingForAllNamespaces(request),
    listClusterRoleBindings: (request) => rbac.listClusterRoleBinding(request),
    watch: kube,
    log: log.child({ component: 'role-bindings' }),
  });
  await roleBindings.start();
  // What rules' context entries and k8s:// keys read: ConfigMaps, and the cosign.pub of Opaque Secrets.
  const configMaps = new ConfigMapStore({
    listConfigMaps: (request) => core.listConfigMapForAllNamespaces(request),
    watch: kube,
    log: log.child({ component: 'config-maps' }),
  });
  await configMaps.start();
  const keySecrets = new KeySecretStore({
    listSecrets: (request) => core.listSecretForAllNamespaces(request),
    watch: kube,
    log: log.child({ component: 'key-secrets' }),
  });
  await keySecrets.start();
  // Not ready from the first signal on, so that no new admission is routed here (a Service drops the pod).
  const lifecycle = { stopping: false, warmedUp: false };
  const isReady = () => cache.isWarm && lifecycle.warmedUp && !lifecycle.stopping;
  const webhook = await startWebhook({
    cache,
    ...(given ? { tls: { certPem: given.certPem, keyPem: given.keyPem } } : {}),
    host: config.webhookHost,
    port: config.webhookPort,
    log,
    verification: {
      registry,
      cache: passes,
      namespaceLabels: namespaces.labels,
      userRoles: (userInfo) => (roleBindings.isSynced ? toUserRoles(userInfo, roleBindings) : undefined),
      pullSecrets: {
        lookup: pullSecrets.lookup,
        operatorNamespace: config.webhookServiceNamespace,
        operatorPullSecrets: config.imagePullSecrets,
      },
      ruleContext: {
        configMap: configMaps.lookup,
        secretPublicKey: keySecrets.publicKey,
        apiCall: makeApiCall(kube),
      },
    },
    // The operator starts after the webhook; until then there is no recorder, and nothing to record.
    recordEvent: (event) => running.operator?.recordEvent(event),
    ...(metrics ? { metrics } : {}),
    isReady,
    // In-flight admissions may run for the stop's bound less a fifth, left to the steps before and after.
    closeGraceMs: Math.floor(config.gracefulShutdownTimeoutMs * 0.8),
  });
  const endpoint: WebhookTarget = config.local
    ? { $case: 'url', url: config.webhookUrl?.href ?? `https://127.0.0.1:${webhook.port}` }
    : { $case: 'service', namespace: config.webhookServiceNamespace, name: config.webhookServiceName, port: 443 };
  const secret = config.webhookCertSecret;
  const servingCertificate: ServingCertificateSource = secret
    ? {
        $case: 'secret',
        namespace: config.webhookServiceNamespace,
        name: secret.name,
        hosts: webhookHosts(config),
        caValidityMs: secret.caValidityMs,
        certValidityMs: secret.certValidityMs,
        onChange: (material) => {
          const set = webhook.setTls(material);
          if (!set.ok) log.error('serving certificate not taken; still serving the previous one', { error: set.error });
        },
      }
    : { $case: 'given', caBundle: () => given!.caPem };
  const probes = config.healthProbeBindAddress
    ? await startProbes(config.healthProbeBindAddress, isReady, log)
    : undefined;
  if (metrics) metrics.collectProcessMetrics();
  const metricsServer =
    metrics && config.metricsBindAddress
      ? await startMetricsServer(config.metricsBindAddress, metrics, log)
      : undefined;
  const operator = startOperator({
    kube,
    cache,
    compileOptions: { trustRoot },
    // Unique per process, as client-go's leader election wants: a restarted pod is a new candidate.
    identity: `${process.env['POD_NAME'] ?? hostname()}_${randomUUID()}`,
    ...(config.leaderElection ? { leaderElection: config.leaderElection } : {}),
    log: log.child({ component: 'operator' }),
    webhookEndpoint: endpoint,
    servingCertificate,
    excludedNamespaces: config.excludedNamespaces,
    operatorNamespace: config.webhookServiceNamespace,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
    ...(metrics ? { metrics } : {}),
  });
  running.operator = operator;
  // Files that cert-manager renews are read again when they change: served at once, and their CA registered.
  const fileNames = certificateFileNames(config);
  const filesWatch =
    fileNames && given
      ? watchCertificateFiles(fileNames, given, {
          readFile: readFileIfExists,
          intervalMs: CERTIFICATE_FILES_POLL_MS,
          log,
          onChange: (files) => {
            const set = webhook.setTls(files);
            if (!set.ok) {
              log.error('serving certificate not taken; still serving the previous one', { error: set.error });
              return;
            }
            given = files;
            operator.caBundleChanged();
          },
        })
      : undefined;
  operator.warm.catch((e: unknown) => log.error('warm-up failed', errorFields(e)));
  // The admission path itself, run on synthetic reviews before /readyz says ready (webhook/warm-up.ts).
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const warmedUp = warmUpAdmission(
    log.child({ component: 'warm-up' }),
    WARM_UP_ROUNDS,
    createLogger({ level: config.logLevel, stream: discard }),
  );
  // Once both warm-ups are done, start-up's garbage is collected before /readyz says ready (collect-garbage.ts).
  void Promise.allSettled([warmedUp, operator.warm]).then(() => {
    if (lifecycle.stopping) return;
    const collected = collectGarbage({
      gc: globalThis.gc,
      heapUsed: () => process.memoryUsage().heapUsed,
      now: () => performance.now(),
    });
    if (collected) log.info('heap collected before ready', { ...collected });
    else log.warn('start-up garbage not collected before ready: Node.js was started without --expose-gc');
    lifecycle.warmedUp = true;
  });

  const signal = await awaitStopSignal(process, ['SIGTERM', 'SIGINT'], (again) => {
    log.warn('second signal: exiting at once, without finishing the stop', { signal: again });
    process.exit(1);
  });
  lifecycle.stopping = true;
  filesWatch?.stop();
  const timeoutMs = config.gracefulShutdownTimeoutMs;
  log.info('shutting down', { signal, timeoutMs });
  // The webhook keeps serving until its configurations no longer point here (local mode), then lets the admissions
  // in flight finish; the operator stops first, so that nothing re-applies a configuration removed on the way.
  const outcome = await runStopSteps(
    [
      { name: 'operator (policy workers, informers, Events, leader lease)', run: () => operator.stop() },
      { name: 'webhook configurations (hand-over or removal)', run: () => operator.releaseWebhookConfigurations() },
      { name: 'webhook server (admissions in flight)', run: () => webhook.close() },
      {
        name: 'informers (pull Secrets, namespaces, role bindings)',
        run: () =>
          Promise.all([
            pullSecrets.stop(),
            namespaces.stop(),
            roleBindings.stop(),
            configMaps.stop(),
            keySecrets.stop(),
          ]),
      },
      // Last of the API server's users: its connections close once nothing is in flight.
      { name: 'API server connections', run: () => kube.close() },
      {
        name: 'health probes server',
        run: () => new Promise<void>((resolve) => (probes ? probes.close(() => resolve()) : resolve())),
      },
      {
        name: 'metrics server',
        run: () => new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve())),
      },
    ],
    { timeoutMs, onStep: (step) => log.debug('stopping', { step }) },
  );
  for (const { step, error } of outcome.failed) log.error('stop step failed', { step, ...errorFields(error) });
  if (outcome.$case === 'timed-out') {
    log.error(describeTimeout(outcome, timeoutMs), { timeoutMs, unfinished: [outcome.running, ...outcome.notBegun] });
  } else log.info('stopped');
  return toExitCode(outcome);
}

/** The addresses the API server's host name resolves to; none when it does not resolve (or is an address). */
async function resolveServerHost(server: string | undefined): Promise<string[]> {
  const host = server === undefined ? undefined : URL.parse(server)?.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host || isIP(host) !== 0) return [];
  try {
    return (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/**
 * Every name the API server may call the webhook by. Local: loopback, and the host --webhook-url names. In a cluster:
 * the Service's DNS names, short and long, as the API server's service resolver and clients form them.
 */
function webhookHosts(config: Config): string[] {
  if (config.local)
    return [
      '127.0.0.1',
      'localhost',
      ...(config.webhookUrl ? [config.webhookUrl.hostname.replace(/^\[(.*)\]$/, '$1')] : []),
    ];
  const service = `${config.webhookServiceName}.${config.webhookServiceNamespace}`;
  return [`${service}.svc`, `${service}.svc.cluster.local`, service, config.webhookServiceName];
}

async function loadTls(config: Config): Promise<Result<CertificateFiles, string>> {
  if (config.local && !config.webhookCertPath) {
    const certs = await createServingCertificates({
      // The host the API server is told to call is in the certificate, whatever --webhook-url names.
      hosts: webhookHosts(config),
      validityDays: 365,
      now: new Date(),
    });
    return ok({ certPem: certs.certPem, keyPem: certs.keyPem, caPem: certs.caPem });
  }
  return readCertificateFiles(certificateFileNames(config)!, { readFile: readFileIfExists });
}

function certificateFileNames(config: Config): CertificateFileNames | undefined {
  return config.webhookCertPath
    ? { dir: config.webhookCertPath, certName: config.webhookCertName, keyName: config.webhookCertKey }
    : undefined;
}

function readFileIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

async function startProbes(
  address: { host: string; port: number },
  isReady: () => boolean,
  log: Logger,
): Promise<Server> {
  const server = createHttpServer((req, res) => {
    if (!serveHealth(req, res, { isReady })) {
      res.writeHead(404).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => resolve());
  });
  log.info('health probes listening', address);
  return server;
}
