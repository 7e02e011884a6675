// Insecure calls (Kyverno's allowInsecureRegistry) against real sockets: an HTTPS registry whose certificate nobody
// trusts, a plain HTTP one the client was not told about, and what such calls must never share with calls that
// check certificates (answers in flight, tokens).
import { createServingCertificates, type ServingCertificates } from '../tls/index.js';
import type { ImageRef } from '../imageref/index.js';
import { createDefaultFetch } from './default-fetch.js';
import type { FetchLike } from './fetch-like.js';
import { MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { MANIFEST, basicOf, credentialsFor, quickSleep } from './testdata/fixtures.js';
import { challenge, redirect, sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';
import { INSECURE_SCHEME_TTL_MS } from './transport.js';

let certificates: ServingCertificates;
/** HTTPS, with a certificate from a CA the client does not know (unless a test gives it as caBundle). */
let tls: ScriptedServer;
let plain: ScriptedServer;
let elsewhere: ScriptedServer;

beforeAll(async () => {
  certificates = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  tls = await startScriptedServer({ tls: { cert: certificates.certPem, key: certificates.keyPem } });
  plain = await startScriptedServer();
  elsewhere = await startScriptedServer();
});

afterAll(async () => {
  await tls.close();
  await plain.close();
  await elsewhere.close();
});

const image = (server: ScriptedServer): ImageRef => ({ registry: server.host, repository: 'team/app', tag: 'v1' });

function sendManifest(res: Parameters<typeof sendJson>[0]): void {
  sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
}

/** The real default fetch, recording each URL it is asked for and whether certificates were to be checked. */
function recordingFetch(options: Parameters<typeof createDefaultFetch>[0] = {}): { fetch: FetchLike; sent: string[] } {
  const real = createDefaultFetch(options);
  const sent: string[] = [];
  return {
    sent,
    fetch: (url, init) => {
      sent.push(`${init.insecureTls ? 'unverified ' : ''}${url}`);
      return real(url, init);
    },
  };
}

function client(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({ requestTimeoutMs: 2000, maxRetries: 0, sleep: quickSleep, ...options });
}

describe('an HTTPS registry whose certificate is not trusted', () => {
  beforeEach(() => tls.handle((_req, res) => sendManifest(res)));

  it('is refused to a call that is not insecure, for its certificate, and read over HTTPS by one that is', async () => {
    const { fetch, sent } = recordingFetch();
    const c = client({ fetch });
    const refused = await c.getManifest(image(tls));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.code).toBe('NETWORK');
    expect(!refused.ok && refused.error.detail).toMatch(/certificate/i);
    expect(tls.requests).toHaveLength(0);
    sent.length = 0;
    expect((await c.getManifest(image(tls), undefined, { insecure: true })).ok).toBe(true);
    expect(sent).toEqual([`unverified https://${tls.host}/v2/team/app/manifests/v1`]);
  });

  it('is read by every call of a client that allows insecure registries', async () => {
    const c = client({ allowInsecureRegistry: true });
    expect((await c.resolveDigest(image(tls))).ok).toBe(true);
    expect((await c.getManifest(image(tls))).ok).toBe(true);
  });

  it('is read over HTTPS on loopback, where the client otherwise speaks plain HTTP', async () => {
    const { fetch, sent } = recordingFetch();
    const c = client({ plainHttpForLoopback: true, fetch });
    expect((await c.getManifest(image(tls))).ok).toBe(false);
    expect(sent).toEqual([`http://${tls.host}/v2/team/app/manifests/v1`]);
    sent.length = 0;
    expect((await c.getManifest(image(tls), undefined, { insecure: true })).ok).toBe(true);
    expect(sent).toEqual([`unverified https://${tls.host}/v2/team/app/manifests/v1`]);
  });
});

describe('a plain HTTP registry the client was not told about', () => {
  beforeEach(() => plain.handle((_req, res) => sendManifest(res)));

  it('is not reached by a call that is not insecure, and reached by one that is, once HTTPS fails', async () => {
    const { fetch, sent } = recordingFetch();
    const c = client({ fetch });
    expect((await c.getManifest(image(plain))).ok).toBe(false);
    expect(plain.requests).toHaveLength(0);
    sent.length = 0;
    const got = await c.getManifest(image(plain), undefined, { insecure: true });
    expect(got.ok).toBe(true);
    expect(sent).toEqual([
      `unverified https://${plain.host}/v2/team/app/manifests/v1`,
      `unverified http://${plain.host}/v2/team/app/manifests/v1`,
    ]);
    expect(plain.requests).toHaveLength(1);
  });

  it('counts the failed HTTPS attempt as a request sent for the caller', async () => {
    let requests = 0;
    const got = await client().getManifest(image(plain), undefined, { insecure: true, onRequest: () => requests++ });
    expect(got.ok).toBe(true);
    expect(requests).toBe(2);
  });

  it('is spoken to over plain HTTP at once by later insecure calls, until the scheme is forgotten', async () => {
    let clock = 1_000_000;
    const { fetch, sent } = recordingFetch();
    const c = client({ fetch, now: () => clock });
    const get = () => c.getManifest(image(plain), undefined, { insecure: true });
    expect((await get()).ok).toBe(true);
    sent.length = 0;
    clock += INSECURE_SCHEME_TTL_MS - 1;
    expect((await get()).ok).toBe(true);
    expect(sent).toEqual([`unverified http://${plain.host}/v2/team/app/manifests/v1`]);
    sent.length = 0;
    clock += 2;
    expect((await get()).ok).toBe(true);
    expect(sent.map((u) => u.split('://')[0])).toEqual(['unverified https', 'unverified http']);
  });

  it('remembers the scheme from an answer that is an error, such as a missing tag', async () => {
    const { fetch, sent } = recordingFetch();
    const c = client({ fetch });
    plain.handle((_req, res) => sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
    expect((await c.getManifest(image(plain), 'sha256-abc.sig', { insecure: true })).ok).toBe(false);
    plain.handle((_req, res) => sendManifest(res));
    sent.length = 0;
    expect((await c.getManifest(image(plain), undefined, { insecure: true })).ok).toBe(true);
    expect(sent).toEqual([`unverified http://${plain.host}/v2/team/app/manifests/v1`]);
  });

  it('sends the credentials to the registry only, not to where it redirects', async () => {
    plain.handle((req, res) => {
      if (req.headers['authorization'] !== basicOf('alice', 'p1')) return challenge(res, 'Basic realm="registry"');
      redirect(res, `http://${elsewhere.host}/manifest`);
    });
    elsewhere.handle((_req, res) => sendManifest(res));
    const got = await client().getManifest(image(plain), undefined, {
      insecure: true,
      credentials: credentialsFor(plain.host, 'alice', 'p1'),
    });
    expect(got.ok).toBe(true);
    expect(plain.requests.map((r) => r.headers['authorization'])).toEqual([undefined, basicOf('alice', 'p1')]);
    expect(elsewhere.requests.map((r) => r.headers['authorization'])).toEqual([undefined]);
  });
});

describe('a registry that neither scheme reaches', () => {
  it('fails with NETWORK, the detail telling what each scheme met, the message neither', async () => {
    const gone = await startScriptedServer();
    await gone.close();
    const got = await client().getManifest(image(gone), undefined, { insecure: true });
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.error.code).toBe('NETWORK');
    expect(got.error.message).toBe(`NETWORK: ${gone.host}/team/app:v1: cannot reach the registry`);
    expect(got.error.detail).toMatch(/^over https: .*ECONNREFUSED.*; over http: .*ECONNREFUSED/);
  });
});

describe('what an insecure call obtains', () => {
  it('is not an answer for a concurrent identical call that checks certificates, nor the other way round', async () => {
    tls.handle(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 50));
      sendManifest(res);
    });
    const c = client();
    const [secure, insecure] = await Promise.all([
      c.getManifest(image(tls)),
      c.getManifest(image(tls), undefined, { insecure: true }),
    ]);
    expect([secure.ok, insecure.ok]).toEqual([false, true]);
    const [insecure2, secure2] = await Promise.all([
      c.getManifest(image(tls), undefined, { insecure: true }),
      c.getManifest(image(tls)),
    ]);
    expect([insecure2.ok, secure2.ok]).toEqual([true, false]);
  });

  it('is not a token for calls that check certificates, which get their own', async () => {
    let issued = 0;
    tls.handle((req, res) => {
      if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: `tok-${++issued}` });
      if (!req.headers['authorization']?.startsWith('Bearer tok-')) {
        return challenge(res, `Bearer realm="https://${tls.host}/token",service="test"`);
      }
      sendManifest(res);
    });
    // The CA is trusted, so that calls that check certificates reach the registry too.
    const c = client({ caBundle: certificates.caPem });
    const bearers = () => tls.requests.filter((r) => r.path.startsWith('/v2/')).map((r) => r.headers['authorization']);
    expect((await c.getManifest(image(tls), undefined, { insecure: true })).ok).toBe(true);
    expect((await c.getManifest(image(tls))).ok).toBe(true);
    expect((await c.getManifest(image(tls), undefined, { insecure: true })).ok).toBe(true);
    expect((await c.getManifest(image(tls))).ok).toBe(true);
    expect(issued).toBe(2);
    expect(bearers()).toEqual([undefined, 'Bearer tok-1', undefined, 'Bearer tok-2', 'Bearer tok-1', 'Bearer tok-2']);
  });
});

describe('a plain HTTP token realm', () => {
  beforeEach(() => {
    plain.handle((_req, res) => sendJson(res, 200, { token: 'tok' }));
    tls.handle((req, res) => {
      if (req.headers['authorization'] !== 'Bearer tok') {
        return challenge(res, `Bearer realm="http://${plain.host}/token",service="test"`);
      }
      sendManifest(res);
    });
  });

  it('is refused to a call that checks certificates, even of a registry it trusts, and used by an insecure one', async () => {
    const c = client({ caBundle: certificates.caPem });
    const refused = await c.getManifest(image(tls));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error.message).toContain('the token realm is not HTTPS');
    expect(plain.requests).toHaveLength(0);
    expect((await c.getManifest(image(tls), undefined, { insecure: true })).ok).toBe(true);
    expect(plain.requests).toHaveLength(1);
  });
});
