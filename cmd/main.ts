// The composition root: reads the configuration, builds the logger, the rule cache, the webhook and the
// operator, and joins them. The operator writes the rule cache; the webhook reads it; they meet only here.
import { randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer as createHttpServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api, Watch } from '@kubernetes/client-node';
import { createLogger, errorFields, type Logger } from '../pkg/log/index.js';
import { RuleCache } from '../pkg/policy/index.js';
import { describeTrustRoot, type TrustRoot } from '../pkg/trust/index.js';
import { createServingCertificates } from '../pkg/tls/index.js';
import { startOperator, type RunningOperator, type WebhookEndpoint } from '../operator/index.js';
import {
  NamespaceLabels,
  PullSecretStore,
  RoleBindings,
  serveHealth,
  startWebhook,
  toUserRoles,
  type PassCache,
  type TlsMaterial,
} from '../webhook/index.js';
import { VerificationCache } from '../pkg/cache/index.js';
import { RegistryClient } from '../pkg/oci/index.js';
import { parseConfig, type Config } from './config.js';
import { checkLocalWebhookReachable } from './local-webhook.js';
import { loadTrustedRoot } from './trusted-root.js';

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
  process.on('unhandledRejection', (e) => log.error('unhandled rejection (bug)', errorFields(e)));
  try {
    return await serve(config, trustRoot.value, log);
  } catch (e) {
    log.error('start-up failed', errorFields(e));
    return 1;
  }
}

async function serve(config: Config, trustRoot: TrustRoot, log: Logger): Promise<number> {
  const kubeConfig = new KubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  const server = kubeConfig.getCurrentCluster()?.server;
  log.info('starting', {
    server,
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

  const { tls, caPem } = await loadTls(config);
  // Set once the operator runs; the webhook, started first, records its Events through it.
  const running: { operator?: RunningOperator } = {};
  // Verification results cached for a policy version that was replaced or deleted can never be hit again (the
  // key holds the resourceVersion); they are dropped at once rather than left to age out.
  const passes: PassCache = new VerificationCache({
    ...(config.imageVerifyCache.enabled ? config.imageVerifyCache : { maxEntries: 0 }),
    now: Date.now,
  });
  const cache = new RuleCache({ onRetired: (retired) => passes.invalidatePolicy(retired.uid) });
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
  });
  // Pull Secrets (--imagePullSecrets, each Pod's own, each rule's) from an informer, so a rotated one is used at once.
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const pullSecrets = new PullSecretStore({
    listSecrets: (request) => core.listSecretForAllNamespaces(request),
    watch: new Watch(kubeConfig),
    log: log.child({ component: 'pull-secrets' }),
  });
  await pullSecrets.start();
  // Namespaces' labels, for namespaceSelector in match, exclude and validationFailureActionOverrides.
  const namespaces = new NamespaceLabels({
    listNamespaces: (request) => core.listNamespace(request),
    watch: new Watch(kubeConfig),
    log: log.child({ component: 'namespaces' }),
  });
  await namespaces.start();
  // Who is bound to which roles, for the roles and clusterRoles of match and exclude.
  const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const roleBindings = new RoleBindings({
    listRoleBindings: (request) => rbac.listRoleBindingForAllNamespaces(request),
    listClusterRoleBindings: (request) => rbac.listClusterRoleBinding(request),
    watch: new Watch(kubeConfig),
    log: log.child({ component: 'role-bindings' }),
  });
  await roleBindings.start();
  const webhook = await startWebhook({
    cache,
    tls,
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
    },
    // The operator starts after the webhook; until then there is no recorder, and nothing to record.
    recordEvent: (event) => running.operator?.recordEvent(event),
  });
  const endpoint: WebhookEndpoint = config.local
    ? { $case: 'url', url: config.webhookUrl?.href ?? `https://127.0.0.1:${webhook.port}`, caBundle: caPem }
    : {
        $case: 'service',
        namespace: config.webhookServiceNamespace,
        name: config.webhookServiceName,
        port: 443,
        caBundle: caPem,
      };
  const probes = config.healthProbeBindAddress
    ? await startProbes(config.healthProbeBindAddress, cache, log)
    : undefined;
  const operator = startOperator({
    kubeConfig,
    cache,
    compileOptions: { trustRoot },
    // Unique per process, as client-go's leader election wants: a restarted pod is a new candidate.
    identity: `${process.env['POD_NAME'] ?? hostname()}_${randomUUID()}`,
    ...(config.leaderElection ? { leaderElection: config.leaderElection } : {}),
    log: log.child({ component: 'operator' }),
    webhookEndpoint: endpoint,
    excludedNamespaces: config.excludedNamespaces,
    operatorNamespace: config.webhookServiceNamespace,
    workers: config.workers,
    resyncPeriodMs: config.resyncPeriodMs,
  });
  running.operator = operator;
  operator.warm.catch((e: unknown) => log.error('warm-up failed', errorFields(e)));

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('shutting down', { signal });
  await operator.stop();
  await webhook.close();
  await pullSecrets.stop();
  await namespaces.stop();
  await roleBindings.stop();
  await new Promise<void>((resolve) => (probes ? probes.close(() => resolve()) : resolve()));
  return 0;
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

async function loadTls(config: Config): Promise<{ tls: TlsMaterial; caPem: string }> {
  if (config.local && !config.webhookCertPath) {
    const certs = await createServingCertificates({
      // The host the API server is told to call is in the certificate, whatever --webhook-url names.
      hosts: [
        '127.0.0.1',
        'localhost',
        ...(config.webhookUrl ? [config.webhookUrl.hostname.replace(/^\[(.*)\]$/, '$1')] : []),
      ],
      validityDays: 365,
      now: new Date(),
    });
    return { tls: { certPem: certs.certPem, keyPem: certs.keyPem }, caPem: certs.caPem };
  }
  const dir = config.webhookCertPath!;
  const certPem = readFileSync(join(dir, config.webhookCertName), 'utf8');
  const keyPem = readFileSync(join(dir, config.webhookCertKey), 'utf8');
  const caFile = join(dir, 'ca.crt');
  return { tls: { certPem, keyPem }, caPem: existsSync(caFile) ? readFileSync(caFile, 'utf8') : certPem };
}

async function startProbes(address: { host: string; port: number }, cache: RuleCache, log: Logger): Promise<Server> {
  const server = createHttpServer((req, res) => {
    if (!serveHealth(req, res, { isReady: () => cache.isWarm })) {
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
