import { RegistryClient } from './registry-client.js';
import { startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';
import { isLoopbackHost } from './transport.js';

let registry: ScriptedServer;

beforeAll(async () => {
  registry = await startScriptedServer();
});

afterAll(() => registry.close());

describe('plainHttpForLoopback', () => {
  const ref = () => ({ registry: registry.host, repository: 'team/app', tag: 'v1' });

  describe('when the client is told to', () => {
    it('speaks plain HTTP to a registry on 127.0.0.1 it was not told is insecure', async () => {
      registry.handle((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
      const pinged = await new RegistryClient({ plainHttpForLoopback: true, maxRetries: 0 }).ping(ref());
      expect(pinged.ok).toBe(true);
      expect(registry.requests).toHaveLength(1);
    });
  });

  describe('when it is not', () => {
    it('speaks HTTPS, which a plain HTTP server does not answer', async () => {
      registry.handle((_req, res) => void res.writeHead(200).end('{}'));
      const pinged = await new RegistryClient({ maxRetries: 0, requestTimeoutMs: 2000 }).ping(ref());
      expect(pinged.ok).toBe(false);
    });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['127.0.0.1:5000', true],
    ['127.1.2.3', true],
    ['localhost:5000', true],
    ['[::1]:5000', true],
    ['10.0.0.1:5000', false],
    ['registry.example:5000', false],
    ['localhost.example.com', false],
    ['[::ffff:127.0.0.1]:5000', true],
  ])('says %s is loopback: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
