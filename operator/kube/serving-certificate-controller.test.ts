import type { V1Secret } from '@kubernetes/client-node';
import { createSilentLogger } from '../../pkg/log/index.js';
import { readCertificate } from '../../pkg/tls/index.js';
import {
  ServingCertificateController,
  settleTime,
  type CertificateSecretApi,
  type ServingMaterial,
} from './serving-certificate-controller.js';

const NAMESPACE = 'imprimatur-system';
const NAME = 'imprimatur-webhook-tls';
const HOSTS = ['imprimatur-webhook-service.imprimatur-system.svc'];

type WatchCallback = (phase: string, obj: V1Secret) => void;

/** One Secret in an API server of its own: list, watch, create and replace with resourceVersion checks. */
function makeFakeApi() {
  let secret: V1Secret | undefined;
  let version = 0;
  const writes: { verb: 'create' | 'replace'; body: V1Secret }[] = [];
  const callbacks: WatchCallback[] = [];
  const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
  const store = (body: V1Secret, phase: 'ADDED' | 'MODIFIED') => {
    secret = { ...body, metadata: { ...body.metadata, resourceVersion: String(++version) } };
    for (const callback of callbacks) callback(phase, secret);
  };
  const api: CertificateSecretApi & { failNextReplace?: boolean } = {
    listSecrets: () =>
      Promise.resolve({ items: secret ? [secret] : [], metadata: { resourceVersion: String(version) } }),
    createSecret: (_namespace, body) => {
      writes.push({ verb: 'create', body });
      if (secret) return Promise.reject(conflict());
      store(body, 'ADDED');
      return Promise.resolve(secret);
    },
    replaceSecret: (_namespace, _name, body) => {
      writes.push({ verb: 'replace', body });
      if (!secret || body.metadata?.resourceVersion !== secret.metadata?.resourceVersion)
        return Promise.reject(conflict());
      store(body, 'MODIFIED');
      return Promise.resolve(secret);
    },
    watch: {
      watch: (_path: string, _query: unknown, callback: WatchCallback) => {
        callbacks.push(callback);
        return Promise.resolve(new AbortController());
      },
    } as unknown as CertificateSecretApi['watch'],
  };
  return {
    api,
    writes,
    current: () => secret,
    /** Someone else writes the Secret (another leader, or a person). */
    put: (data: Record<string, string>) =>
      store({ metadata: { name: NAME, namespace: NAMESPACE }, data }, secret ? 'MODIFIED' : 'ADDED'),
  };
}

const controllers: ServingCertificateController[] = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop()));
});

function start(
  fake: ReturnType<typeof makeFakeApi>,
  options: { leader: boolean; now?: () => Date; certValidityMs?: number },
) {
  const changes: ServingMaterial[] = [];
  const controller = new ServingCertificateController({
    namespace: NAMESPACE,
    name: NAME,
    hosts: HOSTS,
    caValidityMs: 3_600_000,
    certValidityMs: options.certValidityMs ?? 600_000,
    secrets: fake.api,
    isLeader: () => options.leader,
    now: options.now ?? (() => new Date()),
    log: createSilentLogger(),
    onChange: (m) => changes.push(m),
  });
  controllers.push(controller);
  return { controller, changes, started: controller.start() };
}

/** Time enough for a step that should not happen to have happened (a write takes a few ms). */
const settle = () => new Promise((r) => setTimeout(r, 100));

/** Waits until `check` holds, for at most 5 s. */
async function until(check: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5_000; !check();) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the serving certificate controller', () => {
  it('makes no request and writes nothing until started', async () => {
    const fake = makeFakeApi();
    const controller = new ServingCertificateController({
      namespace: NAMESPACE,
      name: NAME,
      hosts: HOSTS,
      caValidityMs: 3_600_000,
      certValidityMs: 600_000,
      secrets: fake.api,
      isLeader: () => true,
      now: () => new Date(),
      log: createSilentLogger(),
      onChange: () => undefined,
    });
    controllers.push(controller);
    await settle();
    expect(fake.writes).toEqual([]);
    expect(controller.current()).toBeUndefined();
  });

  describe('as the leader, with no Secret', () => {
    it('creates one, and serves what it holds', async () => {
      const fake = makeFakeApi();
      const { controller, changes, started } = start(fake, { leader: true });
      await started;
      const serving = await controller.whenServing();
      expect(fake.writes.map((w) => w.verb)).toEqual(['create']);
      const written = fake.current()!;
      expect(written.type).toBe('kubernetes.io/tls');
      expect(Buffer.from(written.data!['tls.crt']!, 'base64').toString().trim()).toBe(serving.certPem.trim());
      expect(changes).toEqual([serving]);
      const leaf = readCertificate(serving.certPem);
      expect(leaf.ok && leaf.value.x509.checkHost(HOSTS[0]!)).toBe(HOSTS[0]);
    });
  });

  describe('as a follower', () => {
    it('writes nothing, and serves what the leader writes once it is there', async () => {
      const leaderApi = makeFakeApi();
      const { controller: leader, started } = start(leaderApi, { leader: true });
      await started;
      await leader.whenServing();

      const fake = makeFakeApi();
      const { controller, changes, started: followerStarted } = start(fake, { leader: false });
      await followerStarted;
      await settle();
      expect(controller.current()).toBeUndefined();
      fake.put(leaderApi.current()!.data!);
      expect(await controller.whenServing()).toEqual(leader.current());
      expect(fake.writes).toEqual([]);
      expect(changes).toHaveLength(1);
    });
  });

  it('keeps serving its last good certificate when the Secret is broken, until the leader has written a new one', async () => {
    const fake = makeFakeApi();
    const follower = start(fake, { leader: false });
    await follower.started;
    const source = makeFakeApi();
    const leader = start(source, { leader: true });
    await leader.started;
    await leader.controller.whenServing();
    fake.put(source.current()!.data!);
    const good = await follower.controller.whenServing();
    fake.put({ ...source.current()!.data!, 'tls.crt': Buffer.from('garbage').toString('base64') });
    await settle();
    expect(follower.controller.current()).toEqual(good);
    expect(fake.writes).toEqual([]);
  });

  it('starts again from a new CA when, as leader, it finds the Secret broken', async () => {
    const fake = makeFakeApi();
    fake.put({ 'ca.crt': Buffer.from('garbage').toString('base64') });
    const { controller, started } = start(fake, { leader: true });
    await started;
    const serving = await controller.whenServing();
    expect(fake.writes.map((w) => w.verb)).toEqual(['replace']);
    expect(serving.caBundlePem).toContain('BEGIN CERTIFICATE');
  });

  it('plans again from what is there when its write conflicts, rather than failing', async () => {
    const fake = makeFakeApi();
    const source = makeFakeApi();
    const other = start(source, { leader: true });
    await other.started;
    await other.controller.whenServing();
    // Created under it between its read and its write: its create conflicts.
    const realCreate = fake.api.createSecret;
    fake.api.createSecret = (namespace, body) => {
      fake.put(source.current()!.data!);
      return realCreate(namespace, body);
    };
    const { controller, started } = start(fake, { leader: true });
    await started;
    expect(await controller.whenServing()).toEqual(other.controller.current());
    await settle();
    expect(fake.writes.map((w) => w.verb)).toEqual(['create']);
  });

  it('serves a certificate from a rotated CA only after the webhook configurations have carried it for the settle time', async () => {
    let now = new Date('2026-12-01T00:00:00Z');
    const fake = makeFakeApi();
    // A serving certificate as long-lived as its CA, so that the CA's rotation comes first.
    const { controller, started } = start(fake, { leader: true, now: () => now, certValidityMs: 3_600_000 });
    await started;
    const first = await controller.whenServing();
    controller.noteRegistered(first.caBundlePem);
    // Past two thirds of the CA's hour: the new CA joins the bundle; the certificate served stays.
    now = new Date(now.getTime() + 41 * 60_000);
    controller.check();
    await until(() => controller.current()!.caBundlePem !== first.caBundlePem);
    const rotated = controller.current()!;
    expect(rotated.certPem).toBe(first.certPem);
    expect(rotated.caBundlePem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    // Not yet registered: still the old certificate however often it plans.
    controller.check();
    await settle();
    expect(controller.current()!.certPem).toBe(first.certPem);
    controller.noteRegistered(rotated.caBundlePem);
    now = new Date(now.getTime() + settleTime(3_600_000) - 1);
    controller.check();
    await settle();
    expect(controller.current()!.certPem).toBe(first.certPem);
    now = new Date(now.getTime() + 1);
    controller.check();
    await until(() => controller.current()!.certPem !== first.certPem);
    expect(fake.writes.map((w) => w.verb)).toEqual(['create', 'replace', 'replace']);
  });
});
