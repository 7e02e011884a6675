import { createServingCertificates } from '../tls/index.js';
import { createDefaultFetch } from './default-fetch.js';
import { fakeDns } from './testdata/fixtures.js';
import { sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';

let server: ScriptedServer;

beforeAll(async () => {
  server = await startScriptedServer();
  server.handle((_req, res) => sendJson(res, 200, { ok: true }));
});

afterAll(() => server.close());

const init = (allowed?: string[]) => ({
  method: 'GET',
  headers: {},
  redirect: 'manual' as const,
  signal: AbortSignal.timeout(2000),
  ...(allowed ? { allowedAddresses: new Set(allowed) as never } : {}),
});

describe('createDefaultFetch', () => {
  it('fetches without restriction when no policy is given', async () => {
    const res = await createDefaultFetch()(`http://localhost:${server.port}/`, init());
    expect(res.status).toBe(200);
  });

  it('refuses, where the socket connects, a host name that resolves only to refused kinds', async () => {
    const fetch = createDefaultFetch({ resolveHost: fakeDns({ 'internal.example': ['127.0.0.1'] }) });
    const before = server.requests.length;
    const error = await fetch(`http://internal.example:${server.port}/`, init(['public'])).catch((e: unknown) => e);
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ERR_ADDRESS_REFUSED');
    expect(server.requests).toHaveLength(before);
  });

  it('connects to an allowed address of a name that resolves to several kinds', async () => {
    // The private address would be tried first and hang; the filter leaves only the loopback one.
    const fetch = createDefaultFetch({ resolveHost: fakeDns({ 'mixed.example': ['10.255.255.1', '127.0.0.1'] }) });
    const res = await fetch(`http://mixed.example:${server.port}/`, init(['public', 'loopback']));
    expect(res.status).toBe(200);
  });

  it('uses the system resolver for restricted requests by default', async () => {
    const error = await createDefaultFetch()(`http://localhost:${server.port}/`, init(['public'])).catch(
      (e: unknown) => e,
    );
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ERR_ADDRESS_REFUSED');
  });
});

describe('createDefaultFetch with insecureTls', () => {
  let tls: ScriptedServer;

  beforeAll(async () => {
    const certificates = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
    tls = await startScriptedServer({ tls: { cert: certificates.certPem, key: certificates.keyPem } });
    tls.handle((_req, res) => sendJson(res, 200, { ok: true }));
  });

  afterAll(() => tls.close());

  it('skips the certificate check, on connections that requests checking it never reuse', async () => {
    const fetch = createDefaultFetch();
    const url = `https://127.0.0.1:${tls.port}/`;
    expect((await fetch(url, { ...init(['loopback']), insecureTls: true })).status).toBe(200);
    // The same address policy, and so the same pool but for the flag: the check is made all the same.
    const error = await fetch(url, init(['loopback'])).catch((e: unknown) => e);
    expect((error as { cause?: { code?: string } }).cause?.code).toMatch(/CERT|SIGNATURE/);
    const unrestricted = await fetch(url, init()).catch((e: unknown) => e);
    expect((unrestricted as { cause?: { code?: string } }).cause?.code).toMatch(/CERT|SIGNATURE/);
    expect(tls.requests).toHaveLength(1);
  });
});
