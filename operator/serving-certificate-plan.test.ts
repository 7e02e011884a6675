import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueServingCertificate, readCertificates } from '../pkg/tls/index.js';
import { nextCertificateSecret } from './next-certificate-secret.js';
import {
  planServingCertificate,
  readCertificateSecret,
  renewalTime,
  type PlanInput,
  type ServingCertificateState,
} from './serving-certificate-plan.js';

const T0 = new Date('2026-12-01T00:00:00Z');
const SECOND = 1000;
const HOSTS = ['127.0.0.1', 'imprimatur-webhook-service.imprimatur-system.svc'];
const LIFETIMES = { caValidityMs: 60 * SECOND, certValidityMs: 30 * SECOND };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const at = (ms: number) => new Date(T0.getTime() + ms);

function input(now: Date, trusted: Record<string, Date> = {}, settleMs = 5 * SECOND): PlanInput {
  return { now, hosts: HOSTS, trustedSince: (f) => trusted[f], settleMs };
}

/** The Secret the leader writes first, at T0. */
async function created(): Promise<Record<string, string>> {
  return (await nextCertificateSecret({ $case: 'create', reason: 'test' }, undefined, {
    ...LIFETIMES,
    now: T0,
    hosts: HOSTS,
  }))!;
}

describe('reading the Secret', () => {
  it('reads what the leader writes, with no problem', async () => {
    const state = readCertificateSecret(await created());
    expect(state.problems).toEqual([]);
    expect(state.bundle).toHaveLength(1);
    expect(state.signer?.facts.fingerprint).toBe(state.bundle[0]!.fingerprint);
    expect(state.leaf?.facts.notAfter.getTime()).toBe(T0.getTime() + LIFETIMES.certValidityMs);
  });

  it('names the key of each part that is missing or broken', async () => {
    const data = await created();
    expect(readCertificateSecret({ ...data, 'ca.crt': b64('not a certificate') }).problems).toEqual([
      'ca.crt: no PEM CERTIFICATE block',
    ]);
    const noKey = Object.fromEntries(Object.entries(data).filter(([k]) => k !== 'tls.key'));
    expect(readCertificateSecret(noKey).problems).toEqual(['tls.key: missing']);
    const other = await created();
    expect(readCertificateSecret({ ...data, 'tls.key': other['tls.key']! }).problems).toEqual([
      'tls.key: is not the key of tls.crt',
    ]);
    expect(readCertificateSecret({ ...data, 'ca.key': other['ca.key']! }).problems).toEqual([
      'ca.key: is the key of no CA certificate in ca.crt',
    ]);
    expect(readCertificateSecret(undefined).problems).toEqual([
      'ca.crt: missing',
      'ca.key: missing',
      'tls.crt: missing',
    ]);
  });

  it('takes no serving certificate as a CA', async () => {
    const data = await created();
    const state = readCertificateSecret({ ...data, 'ca.crt': data['tls.crt']! });
    expect(state.bundle).toEqual([]);
    expect(state.problems).toContain('ca.crt: holds a non-CA certificate');
  });
});

describe('planning the next step', () => {
  it('creates everything when there is no Secret', () => {
    expect(planServingCertificate(undefined, input(T0))).toEqual({
      $case: 'create',
      reason: 'the Secret does not exist',
    });
  });

  it('creates everything, saying why, when the CA cannot be read', async () => {
    const state = readCertificateSecret({ ...(await created()), 'ca.crt': b64('garbage') });
    expect(planServingCertificate(state, input(T0))).toEqual({
      $case: 'create',
      reason: expect.stringContaining('ca.crt: no PEM CERTIFICATE block'),
    });
  });

  it('keeps a fresh certificate until the first renewal is due', async () => {
    const state = readCertificateSecret(await created());
    const plan = planServingCertificate(state, input(at(SECOND)));
    expect(plan).toEqual({ $case: 'keep', recheckAt: renewalTime(state.leaf!.facts) });
  });

  it('renews the serving certificate at two thirds of its lifetime', async () => {
    const state = readCertificateSecret(await created());
    const due = renewalTime(state.leaf!.facts);
    expect(planServingCertificate(state, input(new Date(due.getTime() - 1))).$case).toBe('keep');
    expect(planServingCertificate(state, input(due))).toEqual({
      $case: 'issue',
      reason: 'the serving certificate is past two thirds of its lifetime',
    });
  });

  it('issues a new serving certificate when one host is not in it', async () => {
    const state = readCertificateSecret(await created());
    expect(planServingCertificate(state, { ...input(T0), hosts: [...HOSTS, 'localhost'] })).toEqual({
      $case: 'issue',
      reason: 'the serving certificate does not name localhost',
    });
  });

  it('rotates the CA at two thirds of its lifetime, keeping the serving certificate for now', async () => {
    // A serving certificate as long-lived as its CA, so that the CA's renewal comes first.
    const data = (await nextCertificateSecret({ $case: 'create', reason: 'test' }, undefined, {
      caValidityMs: 60 * SECOND,
      certValidityMs: 60 * SECOND,
      now: T0,
      hosts: HOSTS,
    }))!;
    const state = readCertificateSecret(data);
    const plan = planServingCertificate(state, input(renewalTime(state.signer!.facts)));
    expect(plan.$case).toBe('rotateCa');
    const next = readCertificateSecret(
      (await nextCertificateSecret(plan, state, {
        ...LIFETIMES,
        now: renewalTime(state.signer!.facts),
        hosts: HOSTS,
      }))!,
    );
    expect(next.bundle.map((c) => c.fingerprint)).toEqual([
      state.signer!.facts.fingerprint,
      next.signer!.facts.fingerprint,
    ]);
    expect(next.leaf!.facts.fingerprint).toBe(state.leaf!.facts.fingerprint);
  });

  describe('after the CA was rotated', () => {
    let rotated: ServingCertificateState;
    const when = at(41 * SECOND);

    beforeAll(async () => {
      const data = (await nextCertificateSecret({ $case: 'create', reason: 'test' }, undefined, {
        caValidityMs: 60 * SECOND,
        certValidityMs: 60 * SECOND,
        now: T0,
        hosts: HOSTS,
      }))!;
      const state = readCertificateSecret(data);
      rotated = readCertificateSecret(
        (await nextCertificateSecret({ $case: 'rotateCa', reason: 'test' }, state, {
          ...LIFETIMES,
          now: when,
          hosts: HOSTS,
        }))!,
      );
    });

    it('waits while the webhook configurations do not carry the new CA', () => {
      expect(planServingCertificate(rotated, input(when))).toEqual({
        $case: 'keep',
        recheckAt: new Date(rotated.leaf!.facts.notAfter.getTime() - 5 * SECOND),
        waiting: 'for the webhook configurations to trust the new CA',
      });
    });

    it('waits for the settle time once they carry it, then issues from the new CA', () => {
      const trusted = { [rotated.signer!.facts.fingerprint]: when };
      expect(planServingCertificate(rotated, input(at(43 * SECOND), trusted))).toMatchObject({
        $case: 'keep',
        recheckAt: at(46 * SECOND),
      });
      expect(planServingCertificate(rotated, input(at(46 * SECOND), trusted))).toEqual({
        $case: 'issue',
        reason: 'the webhook configurations trust the new CA',
      });
    });

    it('issues anyway when the served certificate is about to expire', () => {
      const lastChance = new Date(rotated.leaf!.facts.notAfter.getTime() - 5 * SECOND);
      expect(planServingCertificate(rotated, input(lastChance))).toEqual({
        $case: 'issue',
        reason: 'the serving certificate is about to expire',
      });
    });
  });

  it('drops a CA from the bundle once it has expired, and not before', async () => {
    const old = await createCertificateAuthority({ now: T0, validityMs: 10 * SECOND });
    const current = await createCertificateAuthority({ now: T0, validityMs: 600 * SECOND });
    const leaf = await issueServingCertificate({ ca: current, hosts: HOSTS, now: T0, validityMs: 300 * SECOND });
    const state = readCertificateSecret({
      'ca.crt': b64(old.certPem + current.certPem),
      'ca.key': b64(current.keyPem),
      'tls.crt': b64(leaf.certPem),
      'tls.key': b64(leaf.keyPem),
    });
    expect(planServingCertificate(state, input(at(9 * SECOND)))).toEqual({ $case: 'keep', recheckAt: at(10 * SECOND) });
    const plan = planServingCertificate(state, input(at(10 * SECOND)));
    expect(plan).toMatchObject({ $case: 'prune', drop: [{ fingerprint: state.bundle[0]!.fingerprint }] });
    const next = readCertificateSecret(
      (await nextCertificateSecret(plan, state, { ...LIFETIMES, now: at(10 * SECOND), hosts: HOSTS }))!,
    );
    expect(next.bundle.map((c) => c.fingerprint)).toEqual([state.bundle[1]!.fingerprint]);
  });
});

describe('rotating for ten CA lifetimes, one second at a time', () => {
  // The leader's loop: the registration applies each new caBundle one second after the Secret changes, the API
  // server sees an applied caBundle two seconds later (its informer), and the replicas serve each new serving
  // certificate at once. At every second, what is served must be trusted by the caBundle the API server has, and
  // unexpired.
  async function rotate(settleMs: number): Promise<{ steps: string[]; untrusted: number[]; expired: number[] }> {
    let data: Record<string, string> | undefined;
    const registrations: { pem: string; at: number }[] = [];
    const trusted: Record<string, Date> = {};
    const steps: string[] = [];
    const untrusted: number[] = [];
    const expired: number[] = [];
    for (let t = 0; t <= 10 * LIFETIMES.caValidityMs; t += SECOND) {
      const now = at(t);
      const state = data ? readCertificateSecret(data) : undefined;
      const bundle = state?.bundle.map((c) => c.pem).join('');
      const last = registrations.at(-1);
      if (bundle && last?.pem !== bundle && (!last || t - last.at >= SECOND)) {
        registrations.push({ pem: bundle, at: t });
        for (const ca of state!.bundle) trusted[ca.fingerprint] ??= now;
      }
      const plan = planServingCertificate(state, input(now, trusted, settleMs));
      if (plan.$case !== 'keep') {
        steps.push(plan.$case);
        data = await nextCertificateSecret(plan, state, { ...LIFETIMES, now, hosts: HOSTS });
      }
      const served = readCertificateSecret(data).leaf!.facts;
      const seen = registrations.filter((r) => r.at <= t - 2 * SECOND).at(-1);
      if (!seen) continue;
      const cas = readCertificates(seen.pem);
      if (!cas.ok) throw new Error(cas.error);
      const leaf = new X509Certificate(served.pem);
      if (!cas.value.some((ca) => leaf.checkIssued(ca.x509) && leaf.verify(ca.x509.publicKey))) untrusted.push(t);
      if (t >= served.notAfter.getTime() - T0.getTime()) expired.push(t);
    }
    return { steps, untrusted, expired };
  }

  it('never serves a certificate the API server’s caBundle does not trust, nor an expired one', async () => {
    const { steps, untrusted, expired } = await rotate(5 * SECOND);
    expect({ untrusted, expired }).toEqual({ untrusted: [], expired: [] });
    expect(steps.filter((s) => s === 'create')).toHaveLength(1);
    expect(steps.filter((s) => s === 'rotateCa').length).toBeGreaterThanOrEqual(9);
    expect(steps.filter((s) => s === 'prune').length).toBeGreaterThanOrEqual(8);
  });

  it('would serve untrusted certificates without the settle time', async () => {
    expect((await rotate(0)).untrusted.length).toBeGreaterThan(0);
  });
});
