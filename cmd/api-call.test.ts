import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
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
  let kubeConfig: KubeConfig;
  let answer: { status: number; body: string };

  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(answer.status).end(answer.body));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        // client-node takes a plain-HTTP server only when told not to verify TLS, which it then has none of.
        { name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
      ],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const call = (limits = { timeoutMs: 2_000, maxBytes: 1024 }) =>
    makeApiCall(kubeConfig, limits)('/api/v1/namespaces/team/configmaps/keys', new AbortController().signal);

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
});
