import { parseConfig, parseDuration } from './config.js';

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

  describe('in the cluster', () => {
    it('needs a certificate path and takes the namespace from POD_NAMESPACE', () => {
      expect(parseConfig([], {})).toEqual({
        ok: false,
        error: expect.stringContaining('--webhook-cert-path: required'),
      });
      const parsed = parseConfig(['--webhook-cert-path=/certs'], { POD_NAMESPACE: 'sec' });
      expect(parsed.ok && parsed.value).toMatchObject({ webhookHost: '0.0.0.0', webhookServiceNamespace: 'sec' });
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

  describe('with --trusted-root', () => {
    it('keeps the path for main to read', () => {
      const parsed = parseConfig(['--local', '--trusted-root=/etc/sigstore/trusted_root.json'], {});
      expect(parsed.ok && parsed.value.trustedRoot).toBe('/etc/sigstore/trusted_root.json');
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
    ])('%j names the flag', (argv, message) => {
      const parsed = parseConfig(argv, {});
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toContain(message);
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
