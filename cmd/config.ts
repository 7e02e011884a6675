// The operator's configuration: flags with kubebuilder's names, parsed into a typed Config. Pure: argv and the
// environment come in as arguments; only cmd/main.ts passes the real ones.
import { parseArgs } from 'node:util';
import { LOG_LEVELS, type LogLevel } from '../pkg/log/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';

export interface Config {
  /** Run outside the cluster against a local API server: bind loopback, make our own CA, register a URL. */
  readonly local: boolean;
  readonly kubeconfig?: string;
  readonly webhookHost: string;
  readonly webhookPort: number;
  /**
   * With --local: the URL registered for the webhook, for an API server on another machine that can reach this one
   * there; https://127.0.0.1:<port> when absent.
   */
  readonly webhookUrl?: URL;
  readonly webhookCertPath?: string;
  readonly webhookCertName: string;
  readonly webhookCertKey: string;
  /**
   * The operator keeps its own CA and serving certificate in this Secret of webhookServiceNamespace, and rotates
   * them: without --webhook-cert-path in a cluster, and with --local when --webhook-cert-secret is given.
   */
  readonly webhookCertSecret?: {
    readonly name: string;
    readonly caValidityMs: number;
    readonly certValidityMs: number;
  };
  readonly webhookServiceName: string;
  readonly webhookServiceNamespace: string;
  readonly healthProbeBindAddress?: BindAddress;
  /** Where the plain-HTTP /metrics is served; absent (the default, 0) serves none. */
  readonly metricsBindAddress?: BindAddress;
  readonly excludedNamespaces: readonly string[];
  readonly workers: number;
  readonly resyncPeriodMs: number;
  /**
   * How long stopping may take, from the first SIGTERM or SIGINT to exit (controller-runtime's
   * GracefulShutdownTimeout): in-flight admissions, the webhook configurations' hand-over or removal, the rest.
   */
  readonly gracefulShutdownTimeoutMs: number;
  readonly logLevel: LogLevel;
  /** Path of a Sigstore trusted_root.json. */
  readonly trustedRoot?: string;
  /** The webhook's cache of passing verifications (Kyverno's image verify cache). */
  readonly imageVerifyCache: { readonly enabled: boolean; readonly ttlMs: number; readonly maxEntries: number };
  /** Secrets in the operator's namespace whose registry credentials every verification may use. */
  readonly imagePullSecrets: readonly string[];
  /** Every registry is read without certificate checks, and over plain HTTP when it does not speak HTTPS. */
  readonly allowInsecureRegistry: boolean;
  readonly leaderElection?: {
    readonly namespace: string;
    readonly name: string;
    readonly timing: {
      readonly leaseDurationMs: number;
      readonly renewDeadlineMs: number;
      readonly retryPeriodMs: number;
    };
  };
}

/** A host and port to listen on, from a host:port flag. */
export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

/** The Secret the operator keeps its serving certificate in, before kustomize's name prefix is added to nothing. */
const DEFAULT_CERT_SECRET = 'imprimatur-webhook-tls';

/** The shortest certificate lifetime taken: rotation steps need a few seconds each. */
const MIN_CERT_VALIDITY_MS = 10_000;

export const FLAGS = {
  local: {
    type: 'boolean',
    default: false,
    help: 'Run outside the cluster: webhook on 127.0.0.1 with a generated CA, registered by URL.',
  },
  kubeconfig: { type: 'string', help: 'Path to a kubeconfig; defaults to $KUBECONFIG, then the in-cluster config.' },
  'webhook-host': {
    type: 'string',
    help: 'Address the webhook binds to (default 127.0.0.1 with --local, else 0.0.0.0).',
  },
  'webhook-port': { type: 'string', default: '9443', help: 'Port of the HTTPS webhook server; 0 picks a free port.' },
  'webhook-url': {
    type: 'string',
    help:
      'With --local: the https URL the API server calls the webhook at (an address of this machine it can reach; ' +
      'bind it with --webhook-host). Default https://127.0.0.1:<port>.',
  },
  'webhook-cert-path': {
    type: 'string',
    help: 'Directory with the webhook serving certificate (and ca.crt); required without --local.',
  },
  'webhook-cert-name': {
    type: 'string',
    default: 'tls.crt',
    help: 'File name of the serving certificate in --webhook-cert-path.',
  },
  'webhook-cert-key': {
    type: 'string',
    default: 'tls.key',
    help: 'File name of the serving key in --webhook-cert-path.',
  },
  'webhook-cert-secret': {
    type: 'string',
    help:
      'Secret in the webhook service namespace where the operator keeps its own CA and serving certificate, renewing ' +
      'each at two thirds of its lifetime; used when --webhook-cert-path is not given (default ' +
      `${DEFAULT_CERT_SECRET}; with --local, only when given).`,
  },
  'webhook-cert-validity': {
    type: 'string',
    default: '2160h',
    help: "Lifetime of the serving certificates the operator makes (at most its CA's), e.g. 720h.",
  },
  'webhook-ca-validity': {
    type: 'string',
    default: '8760h',
    help: 'Lifetime of the CA the operator makes to sign its serving certificates, e.g. 8760h.',
  },
  'webhook-service-name': {
    type: 'string',
    default: 'imprimatur-webhook-service',
    help: 'Service that fronts the webhook in the cluster.',
  },
  'webhook-service-namespace': {
    type: 'string',
    help: 'Namespace of that Service; defaults to $POD_NAMESPACE, then imprimatur-system.',
  },
  'health-probe-bind-address': {
    type: 'string',
    default: ':8081',
    help: 'host:port of the plain-HTTP /healthz and /readyz; 0 disables.',
  },
  // Kubebuilder v4's default: no metrics unless asked for; config/manager asks for :8080.
  'metrics-bind-address': {
    type: 'string',
    default: '0',
    help: 'host:port of the plain-HTTP Prometheus /metrics, e.g. :8080; 0 disables.',
  },
  'excluded-namespaces': {
    type: 'string',
    default: 'kube-system',
    help: 'Comma-separated namespaces the webhook never sees.',
  },
  workers: { type: 'string', default: '2', help: 'Concurrent policy reconciles.' },
  'resync-period': {
    type: 'string',
    default: '10m',
    help: 'How often every policy is reconciled again, e.g. 30s, 10m, 1h.',
  },
  'trusted-root': {
    type: 'string',
    help: 'Sigstore trusted_root.json (Rekor, CT log, Fulcio and TSA keys) that policies verify against; never fetched online.',
  },
  'leader-elect': {
    type: 'boolean',
    default: false,
    help: 'Elect a leader among replicas (a coordination.k8s.io Lease); only the leader writes status, Events and the webhook configuration.',
  },
  'leader-election-id': { type: 'string', default: 'imprimatur-operator', help: 'Name of the leader-election Lease.' },
  'leader-election-namespace': {
    type: 'string',
    help: 'Namespace of the Lease; defaults to the webhook service namespace.',
  },
  'leader-elect-lease-duration': {
    type: 'string',
    default: '15s',
    help: 'How long followers wait after the last renewal before taking over.',
  },
  'leader-elect-renew-deadline': {
    type: 'string',
    default: '10s',
    help: 'How long the leader keeps leading without a successful renewal.',
  },
  'leader-elect-retry-period': { type: 'string', default: '2s', help: 'How often to renew or try to acquire.' },
  'graceful-shutdown-timeout': {
    type: 'string',
    default: '15s',
    help:
      'How long stopping may take after SIGTERM or SIGINT (in-flight admissions included) before the process exits ' +
      'with status 1, naming what had not finished; keep it below the pod’s terminationGracePeriodSeconds.',
  },
  'log-level': { type: 'string', default: 'info', help: 'error, warn, info or debug.' },
  // Kyverno's names for Kyverno's settings, so that its users' arguments carry over.
  imageVerifyCacheEnabled: {
    type: 'boolean',
    default: true,
    help: 'Reuse passing verifications (each pinned to the digest verified); =false verifies every admission.',
  },
  imageVerifyCacheTTLDuration: {
    type: 'string',
    default: '1h',
    aliases: ['image-verify-cache-ttl'],
    help: 'How long a passing verification is reused, e.g. 30s, 60m, 1h; 0 means the default.',
  },
  imageVerifyCacheMaxSize: {
    type: 'string',
    default: '1000',
    aliases: ['image-verify-cache-max-entries'],
    help: 'How many passing verifications are kept, the least recently used dropped first; 0 means the default.',
  },
  imagePullSecrets: {
    type: 'string',
    help: "Comma-separated Secrets in the operator's namespace whose registry credentials verifications may use.",
  },
  allowInsecureRegistry: {
    type: 'boolean',
    default: false,
    help: "Read every registry without checking its certificate, and over plain HTTP when it does not speak HTTPS (as a policy entry's imageRegistryCredentials.allowInsecureRegistry does for its images). For testing only.",
  },
} as const;

type FlagName = keyof typeof FLAGS;
type Flag = (typeof FLAGS)[FlagName];

/** Every name a flag answers to, its own and its aliases. */
const BY_NAME = new Map<string, FlagName>(
  (Object.entries(FLAGS) as [FlagName, Flag][]).flatMap(([name, f]) =>
    [name, ...('aliases' in f ? f.aliases : [])].map((n) => [n, name] as const),
  ),
);
// Defaults are applied after parsing, from FLAGS: parseArgs cannot tell which of a flag's names came last.
const options = Object.fromEntries([...BY_NAME].map(([n, name]) => [n, { type: FLAGS[name].type }]));

/** Go's strconv.ParseBool, which takes the value of a boolean flag written --name=value (as in Kyverno's manifests). */
const BOOLEAN_VALUES = new Map<string, boolean>([
  ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((v) => [v, true] as const),
  ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v) => [v, false] as const),
]);

/** Most passing verifications the cache may keep: each holds memory for as long as it lives. */
const MAX_CACHE_ENTRIES = 1_000_000;

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Result<Config, string> {
  const problems: string[] = [];
  // parseArgs takes no value for a boolean flag: --name=false becomes --name, its value kept by position.
  const booleanValues = new Map<number, boolean>();
  const args = argv.map((arg, index) => {
    const m = /^(--([^=]+))=(.*)$/s.exec(arg);
    const name = m && BY_NAME.get(m[2]!);
    if (!m || !name || FLAGS[name].type !== 'boolean') return arg;
    const value = BOOLEAN_VALUES.get(m[3]!);
    if (value === undefined)
      problems.push(`${m[1]}: invalid value ${JSON.stringify(m[3])}: expected true or false (or 1, 0, t, f)`);
    else booleanValues.set(index, value);
    return m[1]!;
  });
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    ({ tokens } = parseArgs({ args, options, strict: true, allowPositionals: false, tokens: true }));
  } catch (e) {
    return err([...problems, (e as Error).message].join('\n'));
  }
  // The last of a flag's occurrences wins, whichever of its names it was given by; messages use that name.
  const given = new Map<FlagName, { readonly value: string | boolean; readonly as: string }>();
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    given.set(BY_NAME.get(t.name)!, { value: t.value ?? booleanValues.get(t.index) ?? true, as: t.rawName });
  }
  const value = (name: FlagName) =>
    given.get(name)?.value ?? ('default' in FLAGS[name] ? FLAGS[name].default : undefined);
  const flag = (name: FlagName) => given.get(name)?.as ?? `--${name}`;
  const str = (name: FlagName) => value(name) as string | undefined;
  const integer = (name: FlagName, min: number, max: number): number => {
    const raw = str(name) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      problems.push(`${flag(name)}: invalid value ${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
    return n;
  };
  const local = value('local') === true;
  const webhookPort = integer('webhook-port', 0, 65535);
  const workers = integer('workers', 1, 64);
  const resync = parseDuration(str('resync-period') ?? '');
  if (resync === undefined || resync < 1000)
    problems.push(
      `--resync-period: invalid value ${JSON.stringify(str('resync-period'))}: expected a duration of at least 1s, e.g. 30s, 10m, 1h`,
    );
  const gracefulShutdownTimeoutMs = parseDuration(str('graceful-shutdown-timeout') ?? '');
  if (gracefulShutdownTimeoutMs === undefined || gracefulShutdownTimeoutMs < 1000)
    problems.push(
      `--graceful-shutdown-timeout: invalid value ${JSON.stringify(str('graceful-shutdown-timeout'))}: expected a duration of at least 1s, e.g. 15s`,
    );
  const logLevel = str('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`--log-level: invalid value ${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  const healthProbeBindAddress = parseBindAddress(
    str('health-probe-bind-address') ?? '',
    flag('health-probe-bind-address'),
    local,
    problems,
  );
  const metricsBindAddress = parseBindAddress(
    str('metrics-bind-address') ?? '',
    flag('metrics-bind-address'),
    local,
    problems,
  );
  const webhookUrl = parseWebhookUrl(str('webhook-url'), flag('webhook-url'), local, problems);
  const webhookCertPath = str('webhook-cert-path');
  const webhookCertSecret = parseCertSecret(
    {
      path: webhookCertPath,
      secret: given.get('webhook-cert-secret') && {
        value: str('webhook-cert-secret')!,
        flag: flag('webhook-cert-secret'),
      },
      certValidity: { value: str('webhook-cert-validity')!, flag: flag('webhook-cert-validity') },
      caValidity: { value: str('webhook-ca-validity')!, flag: flag('webhook-ca-validity') },
    },
    local,
    problems,
  );
  const leaseDurationMs = parseDuration(str('leader-elect-lease-duration') ?? '');
  const renewDeadlineMs = parseDuration(str('leader-elect-renew-deadline') ?? '');
  const retryPeriodMs = parseDuration(str('leader-elect-retry-period') ?? '');
  for (const [name, value] of [
    ['leader-elect-lease-duration', leaseDurationMs],
    ['leader-elect-renew-deadline', renewDeadlineMs],
    ['leader-elect-retry-period', retryPeriodMs],
  ] as const) {
    if (value === undefined || value < 1000)
      problems.push(
        `--${name}: invalid value ${JSON.stringify(str(name))}: expected a duration of at least 1s, e.g. 15s`,
      );
  }
  if (leaseDurationMs !== undefined && renewDeadlineMs !== undefined && retryPeriodMs !== undefined) {
    if (renewDeadlineMs >= leaseDurationMs)
      problems.push('--leader-elect-renew-deadline: must be shorter than --leader-elect-lease-duration');
    if (retryPeriodMs >= renewDeadlineMs)
      problems.push('--leader-elect-retry-period: must be shorter than --leader-elect-renew-deadline');
  }
  const cacheMaxSize = integer('imageVerifyCacheMaxSize', 0, MAX_CACHE_ENTRIES);
  const imageVerifyCache = {
    enabled: value('imageVerifyCacheEnabled') === true,
    ttlMs: cacheTtl(str('imageVerifyCacheTTLDuration')!, flag('imageVerifyCacheTTLDuration'), problems),
    // 0 means the default, as in Kyverno: --imageVerifyCacheEnabled=false is what turns the cache off.
    maxEntries: cacheMaxSize === 0 ? Number(FLAGS.imageVerifyCacheMaxSize.default) : cacheMaxSize,
  };
  const imagePullSecrets = secretNames(str('imagePullSecrets') ?? '', flag('imagePullSecrets'), problems);
  if (problems.length > 0) return err(problems.join('\n'));
  const kubeconfig = str('kubeconfig') ?? env['KUBECONFIG'];
  const serviceNamespace = str('webhook-service-namespace') ?? env['POD_NAMESPACE'] ?? 'imprimatur-system';
  return ok({
    local,
    ...(kubeconfig ? { kubeconfig } : {}),
    webhookHost: str('webhook-host') ?? (local ? '127.0.0.1' : '0.0.0.0'),
    webhookPort,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(webhookCertPath ? { webhookCertPath } : {}),
    ...(webhookCertSecret ? { webhookCertSecret } : {}),
    webhookCertName: str('webhook-cert-name')!,
    webhookCertKey: str('webhook-cert-key')!,
    webhookServiceName: str('webhook-service-name')!,
    webhookServiceNamespace: serviceNamespace,
    ...(healthProbeBindAddress ? { healthProbeBindAddress } : {}),
    ...(metricsBindAddress ? { metricsBindAddress } : {}),
    excludedNamespaces: (str('excluded-namespaces') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    workers,
    resyncPeriodMs: resync ?? 0,
    gracefulShutdownTimeoutMs: gracefulShutdownTimeoutMs ?? 0,
    logLevel,
    ...(str('trusted-root') ? { trustedRoot: str('trusted-root')! } : {}),
    imageVerifyCache,
    imagePullSecrets,
    allowInsecureRegistry: value('allowInsecureRegistry') === true,
    ...(value('leader-elect')
      ? {
          leaderElection: {
            namespace: str('leader-election-namespace') ?? serviceNamespace,
            name: str('leader-election-id')!,
            timing: {
              leaseDurationMs: leaseDurationMs!,
              renewDeadlineMs: renewDeadlineMs!,
              retryPeriodMs: retryPeriodMs!,
            },
          },
        }
      : {}),
  });
}

/**
 * A kubebuilder bind-address flag: host:port, :port (every address in a cluster, loopback with --local, so a local
 * run exposes nothing to the network) or 0 for off (undefined).
 */
function parseBindAddress(raw: string, flag: string, local: boolean, problems: string[]): BindAddress | undefined {
  if (raw === '0') return undefined;
  const m = /^(.*):(\d+)$/.exec(raw);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    problems.push(`${flag}: invalid value ${JSON.stringify(raw)}: expected host:port, :port or 0`);
    return undefined;
  }
  return { host: m[1] === '' ? (local ? '127.0.0.1' : '0.0.0.0') : m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The cache's time to live in ms; 0 (with or without a unit) means the default, as in Kyverno. */
function cacheTtl(raw: string, flag: string, problems: string[]): number {
  const ms = raw === '0' ? 0 : parseDuration(raw);
  if (ms === undefined || ms > Number.MAX_SAFE_INTEGER) {
    problems.push(`${flag}: invalid value ${JSON.stringify(raw)}: expected a duration such as 30s, 60m or 1h`);
    return 0;
  }
  return ms === 0 ? parseDuration(FLAGS.imageVerifyCacheTTLDuration.default)! : ms;
}

/** Kubernetes' IsDNS1123Subdomain, which a Secret's name must pass. */
const DNS_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

/** A comma-separated list of Secret names, each checked; blanks around and between commas are ignored. */
function secretNames(raw: string, flag: string, problems: string[]): string[] {
  const names = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  for (const name of names) {
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
      problems.push(
        `${flag}: invalid value ${JSON.stringify(raw)}: ${JSON.stringify(name)} is not a Secret name ` +
          `(lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`,
      );
  }
  return names;
}

/** Go-style durations as kubebuilder flags take them: 90s, 10m, 1h30m. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * unit[m[2] as keyof typeof unit];
    matched = re.lastIndex;
  }
  return text !== '' && matched === text.length ? total : undefined;
}

export function flagHelp(): string {
  return (Object.entries(FLAGS) as [FlagName, Flag][])
    .map(([name, f]) => {
      const dflt =
        'default' in f && (f.type === 'string' || f.default === true) ? ` (default ${JSON.stringify(f.default)})` : '';
      const names = [name, ...('aliases' in f ? f.aliases : [])]
        .map((n) => `--${n}${f.type === 'string' ? '=VALUE' : ''}`)
        .join(', ');
      return `  ${names}\n      ${f.help}${dflt}`;
    })
    .join('\n');
}

/** --webhook-url: an https URL with a host and no credentials, and only with --local (in a cluster, the Service is). */
function parseWebhookUrl(raw: string | undefined, flag: string, local: boolean, problems: string[]): URL | undefined {
  if (raw === undefined) return undefined;
  if (!local) {
    problems.push(`${flag}: only with --local (in a cluster the API server calls the webhook through its Service)`);
    return undefined;
  }
  const url = URL.parse(raw);
  // No path: the webhook's own paths (/mutate/fail, ...) are added to it.
  const bare = url?.pathname === '/' && url.search === '' && url.hash === '';
  if (!url || url.protocol !== 'https:' || url.hostname === '' || url.username !== '' || url.password !== '' || !bare) {
    problems.push(
      `${flag}: invalid value ${JSON.stringify(raw)}: expected an https URL without a path, such as https://10.0.0.5:9443`,
    );
    return undefined;
  }
  return url;
}

type FlagValue = { readonly value: string; readonly flag: string };

/**
 * Where the serving certificate comes from: files (--webhook-cert-path), or a Secret the operator keeps; undefined
 * for files, and for --local without --webhook-cert-secret (a CA made in memory for the process's lifetime).
 */
function parseCertSecret(
  given: { path?: string; secret?: FlagValue | undefined; certValidity: FlagValue; caValidity: FlagValue },
  local: boolean,
  problems: string[],
): Config['webhookCertSecret'] {
  if (given.path !== undefined && given.secret) {
    problems.push(
      `${given.secret.flag}: not with --webhook-cert-path (the certificate is either in files or in a Secret the operator keeps)`,
    );
    return undefined;
  }
  if (given.path !== undefined || (local && !given.secret)) return undefined;
  const name = given.secret?.value ?? DEFAULT_CERT_SECRET;
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    problems.push(`${given.secret!.flag}: invalid value ${JSON.stringify(name)}: not a Secret name`);
  const lifetime = ({ value, flag }: FlagValue) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms < MIN_CERT_VALIDITY_MS)
      problems.push(`${flag}: invalid value ${JSON.stringify(value)}: expected a duration of at least 10s, e.g. 720h`);
    return ms ?? 0;
  };
  const certValidityMs = lifetime(given.certValidity);
  const caValidityMs = lifetime(given.caValidity);
  if (certValidityMs > caValidityMs)
    problems.push(
      `${given.certValidity.flag}: ${given.certValidity.value} is longer than ${given.caValidity.flag} ` +
        `(${given.caValidity.value}); a certificate cannot outlive the CA that signed it`,
    );
  return { name, caValidityMs, certValidityMs };
}
