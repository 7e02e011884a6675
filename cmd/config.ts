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
  readonly webhookCertPath?: string;
  readonly webhookCertName: string;
  readonly webhookCertKey: string;
  readonly webhookServiceName: string;
  readonly webhookServiceNamespace: string;
  readonly healthProbeBindAddress?: { readonly host: string; readonly port: number };
  readonly excludedNamespaces: readonly string[];
  readonly workers: number;
  readonly resyncPeriodMs: number;
  readonly logLevel: LogLevel;
  /** Path of a Sigstore trusted_root.json. */
  readonly trustedRoot?: string;
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
  'log-level': { type: 'string', default: 'info', help: 'error, warn, info or debug.' },
} as const;

type FlagName = keyof typeof FLAGS;
const options = Object.fromEntries(
  Object.entries(FLAGS).map(([name, f]) => [
    name,
    'default' in f ? { type: f.type, default: f.default } : { type: f.type },
  ]),
) as { [K in FlagName]: { type: (typeof FLAGS)[K]['type']; default?: string | boolean } };

export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Result<Config, string> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    return err((e as Error).message);
  }
  const str = (name: FlagName) => values[name] as string | undefined;
  const problems: string[] = [];
  const integer = (name: FlagName, min: number, max: number): number => {
    const raw = str(name) ?? '';
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max)
      problems.push(`--${name}: invalid value ${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
    return n;
  };
  const local = values['local'] === true;
  const webhookPort = integer('webhook-port', 0, 65535);
  const workers = integer('workers', 1, 64);
  const resync = parseDuration(str('resync-period') ?? '');
  if (resync === undefined || resync < 1000)
    problems.push(
      `--resync-period: invalid value ${JSON.stringify(str('resync-period'))}: expected a duration of at least 1s, e.g. 30s, 10m, 1h`,
    );
  const logLevel = str('log-level') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`--log-level: invalid value ${JSON.stringify(logLevel)}: expected one of ${LOG_LEVELS.join(', ')}`);
  let healthProbeBindAddress: Config['healthProbeBindAddress'];
  const probe = str('health-probe-bind-address') ?? '';
  if (probe !== '0') {
    const m = /^(.*):(\d+)$/.exec(probe);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535)
      problems.push(
        `--health-probe-bind-address: invalid value ${JSON.stringify(probe)}: expected host:port, :port or 0`,
      );
    else
      healthProbeBindAddress = {
        host: m[1] === '' ? (local ? '127.0.0.1' : '0.0.0.0') : m[1]!.replace(/^\[(.*)\]$/, '$1'),
        port,
      };
  }
  const webhookCertPath = str('webhook-cert-path');
  if (!local && !webhookCertPath)
    problems.push('--webhook-cert-path: required unless --local is set (the webhook needs a serving certificate)');
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
  if (problems.length > 0) return err(problems.join('\n'));
  const kubeconfig = str('kubeconfig') ?? env['KUBECONFIG'];
  const serviceNamespace = str('webhook-service-namespace') ?? env['POD_NAMESPACE'] ?? 'imprimatur-system';
  return ok({
    local,
    ...(kubeconfig ? { kubeconfig } : {}),
    webhookHost: str('webhook-host') ?? (local ? '127.0.0.1' : '0.0.0.0'),
    webhookPort,
    ...(webhookCertPath ? { webhookCertPath } : {}),
    webhookCertName: str('webhook-cert-name')!,
    webhookCertKey: str('webhook-cert-key')!,
    webhookServiceName: str('webhook-service-name')!,
    webhookServiceNamespace: serviceNamespace,
    ...(healthProbeBindAddress ? { healthProbeBindAddress } : {}),
    excludedNamespaces: (str('excluded-namespaces') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    workers,
    resyncPeriodMs: resync ?? 0,
    logLevel,
    ...(str('trusted-root') ? { trustedRoot: str('trusted-root')! } : {}),
    ...(values['leader-elect']
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
  return Object.entries(FLAGS)
    .map(([name, f]) => {
      const dflt = 'default' in f && f.type === 'string' ? ` (default ${JSON.stringify(f.default)})` : '';
      return `  --${name}${f.type === 'string' ? '=VALUE' : ''}\n      ${f.help}${dflt}`;
    })
    .join('\n');
}
