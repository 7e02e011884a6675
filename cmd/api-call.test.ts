import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeClient } from '../pkg/kube/index.js';
import { checkApiCallPath, makeApiCall } from './api-call.js';

describe('which API paths a policy may call', () => {
  it.each([
    ['/api/v1/namespaces/team/configmaps/keys', undefined],
    ['/apis/apps/v1/namespaces/team/deployments?limit=1', undefined],
    ['/api/v1/namespaces/team/secrets/cosign', 'reads Secrets'],
    ['/api/v1/secrets', 'reads Secrets'],
    ['/api/v1/namespaces/team/%73ecrets/cosign', 'reads Secrets'],
    ['/api/v1/namespaces/team/SECRETS', 'reads Secrets'],
    ['/api/v1/namespaces/team/configmaps/../secrets', 'dot segments'],
    ['api/v1/namespaces', 'not an absolute path'],
  ])('%s: %s', (path, refusal) => {
    const found = checkApiCallPath(path);
    if (refusal === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(refusal);
  });
});

describe('an API call', () => {
  let server: Server;
  let kube: KubeClient;
  let answer: { status: number; body: string };

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(answer.status).end(answer.body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kube = new KubeClient({
      server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      insecureSkipTlsVerify: false,
      credentials: { kind: 'none' },
      source: 'test',
    });
  });

  afterAll(async () => {
    await kube.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const call = (limits = { timeoutMs: 2_000, maxBytes: 1024 }) =>
    makeApiCall(kube, limits)('/api/v1/namespaces/team/configmaps/keys', new AbortController().signal);

  it('gives the JSON answered', async () => {
    answer = { status: 200, body: '{"data":{"k":"v"}}' };
    expect(await call()).toEqual({ ok: true, value: { data: { k: 'v' } } });
  });

  it('gives the API server’s message on an error status', async () => {
    answer = { status: 404, body: '{"kind":"Status","message":"configmaps \\"keys\\" not found"}' };
    expect(await call()).toEqual({ ok: false, error: 'HTTP 404: configmaps "keys" not found' });
  });

  it('refuses an answer larger than the limit, and one that is not JSON', async () => {
    answer = { status: 200, body: JSON.stringify({ big: 'x'.repeat(2048) }) };
    expect(await call()).toEqual({ ok: false, error: 'the answer is larger than 1024 bytes' });
    answer = { status: 200, body: '<html>' };
    expect(await call()).toEqual({ ok: false, error: 'the answer is not JSON' });
  });

  it('gives up at its time limit', async () => {
    answer = { status: 200, body: '{}' };
    const slow = createServer(() => undefined);
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const client = new KubeClient({
      server: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
      insecureSkipTlsVerify: false,
      credentials: { kind: 'none' },
      source: 'test',
    });
    try {
      const result = await makeApiCall(client, { timeoutMs: 200, maxBytes: 1024 })(
        '/api/v1/namespaces',
        new AbortController().signal,
      );
      expect(result).toEqual({ ok: false, error: 'no answer within 200 ms' });
    } finally {
      await client.destroy();
      slow.closeAllConnections();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });
});
