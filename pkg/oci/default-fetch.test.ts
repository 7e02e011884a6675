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

describe('createDefaultFetch with a body that fails', () => {
  // Without the body's 'error' listener, webhook/hostile-registries.test.ts ends in an unhandled RequestAbortedError.
  it('drops a body unread, and rejects the reading of a body cut off', async () => {
    const cut = await startScriptedServer();
    cut.handle((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
    });
    const fetch = createDefaultFetch();
    const dropped = await fetch(`http://localhost:${cut.port}/`, init());
    // Dropped unread, as a body over its size limit is: undici's stream errors with nobody reading it.
    await (dropped.body as unknown as { cancel(): Promise<void> }).cancel();
    const read = await fetch(`http://localhost:${cut.port}/`, init());
    const reading = (async () => {
      for await (const chunk of read.body!) void chunk;
    })();
    await cut.close();
    await expect(reading).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('joins a repeated header as fetch does', async () => {
    const twice = await startScriptedServer();
    twice.handle((_req, res) => {
      res.setHeader('www-authenticate', ['Bearer realm="a"', 'Basic realm="b"']);
      res.writeHead(401).end();
    });
    try {
      const res = await createDefaultFetch()(`http://localhost:${twice.port}/`, init());
      expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="a", Basic realm="b"');
      expect(res.headers.get('x-absent')).toBeNull();
    } finally {
      await twice.close();
    }
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
