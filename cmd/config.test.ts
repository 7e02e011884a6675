import { DEFAULT_CACHE_MAX_ENTRIES, DEFAULT_CACHE_TTL_MS } from '../pkg/cache/index.js';
import { flagHelp, parseConfig, parseDuration } from './config.js';

describe('parseConfig', () => {
  describe('with --local and nothing else', () => {
    it('binds loopback and takes KUBECONFIG from the environment', () => {
      const parsed = parseConfig(['--local'], { KUBECONFIG: '/k' });
      expect(parsed).toEqual({
        ok: true,
        value: expect.objectContaining({
          local: true,
          kubeconfig: '/k',
          webhookHost: '127.0.0.1',
          webhookPort: 9443,
          healthProbeBindAddress: { host: '127.0.0.1', port: 8081 },
          excludedNamespaces: ['kube-system'],
          resyncPeriodMs: 600_000,
          logLevel: 'info',
        }),
      });
    });
  });

  describe('with --metrics-bind-address', () => {
    it('serves no metrics by default, as kubebuilder v4', () => {
      const parsed = parseConfig(['--local'], {});
      expect(parsed.ok && parsed.value.metricsBindAddress).toBeUndefined();
      expect(parseConfig(['--local', '--metrics-bind-address=0'], {})).toMatchObject({ ok: true });
    });

    it('binds a host-less address to loopback with --local, to every address in the cluster', () => {
      const local = parseConfig(['--local', '--metrics-bind-address=:8080'], {});
      expect(local.ok && local.value.metricsBindAddress).toEqual({ host: '127.0.0.1', port: 8080 });
      const cluster = parseConfig(['--webhook-cert-path=/c', '--metrics-bind-address=:8080'], {});
      expect(cluster.ok && cluster.value.metricsBindAddress).toEqual({ host: '0.0.0.0', port: 8080 });
    });

    it('takes a host, IPv6 in brackets', () => {
      const parsed = parseConfig(['--local', '--metrics-bind-address=[::1]:9090'], {});
      expect(parsed.ok && parsed.value.metricsBindAddress).toEqual({ host: '::1', port: 9090 });
    });

    it('refuses a port alone, naming the flag', () => {
      expect(parseConfig(['--local', '--metrics-bind-address=8080'], {})).toEqual({
        ok: false,
        error: expect.stringContaining('--metrics-bind-address: invalid value "8080": expected host:port, :port or 0'),
      });
    });
  });

  describe('with --webhook-url', () => {
    it('takes an https URL with --local', () => {
      const parsed = parseConfig(['--local', '--webhook-url=https://10.0.0.9:9443'], {});
      expect(parsed.ok && parsed.value.webhookUrl?.href).toBe('https://10.0.0.9:9443/');
    });

    it.each([
      ['http://10.0.0.9:9443', 'expected an https URL'],
      ['10.0.0.9:9443', 'expected an https URL'],
      ['https://user:secret@10.0.0.9', 'expected an https URL'],
      ['https://10.0.0.9:9443/hooks', 'without a path'],
    ])('refuses %s, naming the flag', (url, message) => {
      expect(parseConfig(['--local', `--webhook-url=${url}`], {})).toEqual({
        ok: false,
        error: expect.stringContaining(`--webhook-url: invalid value`),
      });
      expect(parseConfig(['--local', `--webhook-url=${url}`], {})).toEqual({
        ok: false,
        error: expect.stringContaining(message),
      });
    });

    it('refuses it without --local', () => {
      expect(parseConfig(['--webhook-cert-path=/c', '--webhook-url=https://10.0.0.9'], {})).toEqual({
        ok: false,
        error: expect.stringContaining('--webhook-url: only with --local'),
      });
    });
  });

  describe('in the cluster', () => {
    it('takes the namespace from POD_NAMESPACE', () => {
      const parsed = parseConfig(['--webhook-cert-path=/certs'], { POD_NAMESPACE: 'sec' });
      expect(parsed.ok && parsed.value).toMatchObject({ webhookHost: '0.0.0.0', webhookServiceNamespace: 'sec' });
    });
  });

  describe('the serving certificate', () => {
    it('is kept by the operator in a Secret, by default in a cluster: 90 days, its CA a year', () => {
      const parsed = parseConfig([], {});
      expect(parsed.ok && parsed.value.webhookCertSecret).toEqual({
        name: 'imprimatur-webhook-tls',
        certValidityMs: 90 * 86_400_000,
        caValidityMs: 365 * 86_400_000,
      });
    });

    it('comes from files with --webhook-cert-path, and is made in memory with --local', () => {
      for (const args of [['--webhook-cert-path=/certs'], ['--local']]) {
        const parsed = parseConfig(args, {});
        expect(parsed.ok && 'webhookCertSecret' in parsed.value).toBe(false);
      }
    });

    it('is kept in a Secret with --local when --webhook-cert-secret is given, with the lifetimes given', () => {
      const parsed = parseConfig(
        ['--local', '--webhook-cert-secret=e2e-tls', '--webhook-cert-validity=20s', '--webhook-ca-validity=1m'],
        {},
      );
      expect(parsed.ok && parsed.value.webhookCertSecret).toEqual({
        name: 'e2e-tls',
        certValidityMs: 20_000,
        caValidityMs: 60_000,
      });
    });

    it.each([
      [['--webhook-cert-path=/c', '--webhook-cert-secret=x'], '--webhook-cert-secret: not with --webhook-cert-path'],
      [['--webhook-cert-secret=Not_A_Name'], '--webhook-cert-secret: invalid value "Not_A_Name": not a Secret name'],
      [
        ['--webhook-cert-validity=5s'],
        '--webhook-cert-validity: invalid value "5s": expected a duration of at least 10s',
      ],
      [['--webhook-ca-validity=soon'], '--webhook-ca-validity: invalid value "soon"'],
      [
        ['--webhook-cert-validity=2h', '--webhook-ca-validity=1h'],
        '--webhook-cert-validity: 2h is longer than --webhook-ca-validity (1h)',
      ],
    ])('refuses %j, naming the flag', (args, message) => {
      expect(parseConfig(args, {})).toEqual({ ok: false, error: expect.stringContaining(message) });
    });
  });

  describe('with --leader-elect', () => {
    it('elects on a Lease in the service namespace with client-go’s timing', () => {
      const parsed = parseConfig(['--local', '--leader-elect'], { POD_NAMESPACE: 'imprimatur-system' });
      expect(parsed.ok && parsed.value.leaderElection).toEqual({
        namespace: 'imprimatur-system',
        name: 'imprimatur-operator',
        timing: { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      });
    });

    it('is off by default', () => {
      const parsed = parseConfig(['--local'], {});
      expect(parsed.ok && parsed.value.leaderElection).toBeUndefined();
    });
  });

  describe('with --graceful-shutdown-timeout', () => {
    const timeoutOf = (...argv: string[]) => {
      const parsed = parseConfig(['--local', ...argv], {});
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.gracefulShutdownTimeoutMs;
    };

    it('allows 15 s by default, inside the manifests’ terminationGracePeriodSeconds', () =>
      expect(timeoutOf()).toBe(15_000));

    it.each([
      [['--graceful-shutdown-timeout=30s'], 30_000],
      [['--graceful-shutdown-timeout', '1m30s'], 90_000],
      [['--graceful-shutdown-timeout=1500ms'], 1_500],
    ])('takes %j as a Go duration: %d ms', (argv, ms) => expect(timeoutOf(...argv)).toBe(ms));

    it.each(['0s', '500ms', '10', 'soon', '-5s'])('refuses %s, naming the flag', (value) => {
      const parsed = parseConfig(['--local', `--graceful-shutdown-timeout=${value}`], {});
      expect(!parsed.ok && parsed.error).toContain(
        `--graceful-shutdown-timeout: invalid value ${JSON.stringify(value)}: expected a duration of at least 1s`,
      );
    });
  });

  describe('with --trusted-root', () => {
    it('keeps the path for main to read', () => {
      const parsed = parseConfig(['--local', '--trusted-root=/etc/sigstore/trusted_root.json'], {});
      expect(parsed.ok && parsed.value.trustedRoot).toBe('/etc/sigstore/trusted_root.json');
    });
  });

  describe('the image verify cache', () => {
    const cacheOf = (...argv: string[]) => {
      const parsed = parseConfig(['--local', ...argv], {});
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.imageVerifyCache;
    };

    it('is on by default, with the cache’s own defaults (Kyverno’s: 1h, 1000)', () => {
      expect(cacheOf()).toEqual({ enabled: true, ttlMs: DEFAULT_CACHE_TTL_MS, maxEntries: DEFAULT_CACHE_MAX_ENTRIES });
      expect(cacheOf()).toEqual({ enabled: true, ttlMs: 3_600_000, maxEntries: 1000 });
    });

    it.each([
      [['--imageVerifyCacheEnabled=false'], false],
      [['--imageVerifyCacheEnabled=0'], false],
      [['--imageVerifyCacheEnabled=F'], false],
      [['--imageVerifyCacheEnabled=true'], true],
      [['--imageVerifyCacheEnabled'], true],
      [['--imageVerifyCacheEnabled=false', '--imageVerifyCacheEnabled'], true],
      [['--imageVerifyCacheEnabled', '--imageVerifyCacheEnabled=false'], false],
    ])('is switched by %j to %s', (argv, enabled) => expect(cacheOf(...argv).enabled).toBe(enabled));

    it.each([
      [['--imageVerifyCacheTTLDuration=60m'], 3_600_000],
      [['--imageVerifyCacheTTLDuration=30s'], 30_000],
      [['--imageVerifyCacheTTLDuration=1h30m'], 5_400_000],
      [['--imageVerifyCacheTTLDuration', '2h'], 7_200_000],
      [['--imageVerifyCacheTTLDuration=0'], 3_600_000],
      [['--imageVerifyCacheTTLDuration=0s'], 3_600_000],
      [['--image-verify-cache-ttl=5m'], 300_000],
      [['--image-verify-cache-ttl', '5m'], 300_000],
      [['--imageVerifyCacheTTLDuration=1m', '--image-verify-cache-ttl=2m'], 120_000],
      [['--image-verify-cache-ttl=2m', '--imageVerifyCacheTTLDuration=1m'], 60_000],
    ])('keeps passes for %j: %d ms', (argv, ttlMs) => expect(cacheOf(...argv).ttlMs).toBe(ttlMs));

    it.each([
      [['--imageVerifyCacheMaxSize=250'], 250],
      [['--imageVerifyCacheMaxSize=0'], 1000],
      [['--image-verify-cache-max-entries=50'], 50],
      [['--image-verify-cache-max-entries=50', '--imageVerifyCacheMaxSize=60'], 60],
      [['--imageVerifyCacheMaxSize=1000000'], 1_000_000],
    ])('keeps for %j at most %d passes', (argv, maxEntries) => expect(cacheOf(...argv).maxEntries).toBe(maxEntries));

    it('lists the aliases beside the flag and the default of a flag that is on', () => {
      const help = flagHelp();
      expect(help).toContain('--imageVerifyCacheTTLDuration=VALUE, --image-verify-cache-ttl=VALUE');
      expect(help).toContain('--imageVerifyCacheMaxSize=VALUE, --image-verify-cache-max-entries=VALUE');
      expect(help).toMatch(/--imageVerifyCacheEnabled\n.*\(default true\)/);
    });
  });

  describe('with --imagePullSecrets', () => {
    const secretsOf = (...argv: string[]) => {
      const parsed = parseConfig(['--local', ...argv], {});
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.imagePullSecrets;
    };

    it('names no Secret by default', () => expect(secretsOf()).toEqual([]));

    it('takes comma-separated names, ignoring blanks and repeats', () => {
      expect(secretsOf('--imagePullSecrets=regcred,ghcr.pull')).toEqual(['regcred', 'ghcr.pull']);
      expect(secretsOf('--imagePullSecrets', ' regcred , other,,regcred,')).toEqual(['regcred', 'other']);
    });
  });

  describe('with --allowInsecureRegistry', () => {
    const allowed = (...argv: string[]) => {
      const parsed = parseConfig(['--local', ...argv], {});
      if (!parsed.ok) throw new Error(parsed.error);
      return parsed.value.allowInsecureRegistry;
    };

    it.each([
      [[], false],
      [['--allowInsecureRegistry'], true],
      [['--allowInsecureRegistry=true'], true],
      [['--allowInsecureRegistry=false'], false],
    ])('reads %j as %s', (argv, expected) => expect(allowed(...argv)).toBe(expected));

    it('refuses a value that is not a boolean', () => {
      const parsed = parseConfig(['--local', '--allowInsecureRegistry=yes'], {});
      expect(!parsed.ok && parsed.error).toContain('--allowInsecureRegistry: invalid value "yes"');
    });
  });

  describe('boolean flags', () => {
    it('take a value after "=" as Go’s flags do', () => {
      const parsed = parseConfig(['--local=true', '--leader-elect=1'], {});
      expect(parsed.ok && parsed.value).toMatchObject({ local: true, leaderElection: expect.anything() });
    });
  });

  describe('with bad values', () => {
    it.each([
      [['--local', '--webhook-port=70000'], '--webhook-port: invalid value "70000"'],
      [['--local', '--workers=0'], '--workers: invalid value "0"'],
      [['--local', '--resync-period=soon'], '--resync-period: invalid value "soon"'],
      [['--local', '--log-level=loud'], '--log-level: invalid value "loud"'],
      [['--local', '--health-probe-bind-address=8081'], '--health-probe-bind-address: invalid value "8081"'],
      [['--local', '--no-such-flag'], "Unknown option '--no-such-flag'"],
      [['--local', '--leader-elect-lease-duration=0s'], '--leader-elect-lease-duration: invalid value "0s"'],
      [
        ['--local', '--leader-elect-renew-deadline=20s'],
        '--leader-elect-renew-deadline: must be shorter than --leader-elect-lease-duration',
      ],
      [
        ['--local', '--leader-elect-retry-period=10s'],
        '--leader-elect-retry-period: must be shorter than --leader-elect-renew-deadline',
      ],
      [['--local', '--imageVerifyCacheEnabled=maybe'], '--imageVerifyCacheEnabled: invalid value "maybe"'],
      [['--local', '--imageVerifyCacheEnabled='], '--imageVerifyCacheEnabled: invalid value ""'],
      [['--local', '--imageVerifyCacheTTLDuration=soon'], '--imageVerifyCacheTTLDuration: invalid value "soon"'],
      [['--local', '--imageVerifyCacheTTLDuration=-1h'], '--imageVerifyCacheTTLDuration: invalid value "-1h"'],
      [['--local', '--imageVerifyCacheTTLDuration=60'], '--imageVerifyCacheTTLDuration: invalid value "60"'],
      [['--local', '--image-verify-cache-ttl=1d'], '--image-verify-cache-ttl: invalid value "1d"'],
      [['--local', `--imageVerifyCacheTTLDuration=${'9'.repeat(20)}h`], '--imageVerifyCacheTTLDuration: invalid value'],
      [['--local', '--imageVerifyCacheMaxSize=-1'], '--imageVerifyCacheMaxSize: invalid value "-1"'],
      [['--local', '--imageVerifyCacheMaxSize=1.5'], '--imageVerifyCacheMaxSize: invalid value "1.5"'],
      [['--local', '--imageVerifyCacheMaxSize=lots'], '--imageVerifyCacheMaxSize: invalid value "lots"'],
      [['--local', '--imageVerifyCacheMaxSize=1000001'], '--imageVerifyCacheMaxSize: invalid value "1000001"'],
      [['--local', '--image-verify-cache-max-entries=x'], '--image-verify-cache-max-entries: invalid value "x"'],
      [
        ['--local', '--imagePullSecrets=regcred,Reg_Cred'],
        '--imagePullSecrets: invalid value "regcred,Reg_Cred": "Reg_Cred" is not a Secret name',
      ],
      [['--local', '--imagePullSecrets=-cred'], '--imagePullSecrets: invalid value "-cred": "-cred" is not'],
      [['--local', '--imagePullSecrets=ns/cred'], '"ns/cred" is not a Secret name'],
      [['--local', `--imagePullSecrets=${'a'.repeat(254)}`], `"${'a'.repeat(254)}" is not a Secret name`],
    ])('%j names the flag', (argv, message) => {
      const parsed = parseConfig(argv, {});
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toContain(message);
    });

    it('reports a bad boolean value with the other problems', () => {
      const parsed = parseConfig(['--local', '--imageVerifyCacheEnabled=maybe', '--no-such-flag'], {});
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.error).toContain('--imageVerifyCacheEnabled: invalid value "maybe"');
        expect(parsed.error).toContain("Unknown option '--no-such-flag'");
      }
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
  ])('reads %s', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 'm', '5d', '1h x'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());
});
