import type { ImageRef } from '../imageref/index.js';
import { MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient } from './registry-client.js';
import type { ObservedRequest } from './request-observer.js';
import { challenge, sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: `sha256:${'4'.repeat(64)}`, size: 2 },
  layers: [],
});

let registry: ScriptedServer;

beforeAll(async () => {
  registry = await startScriptedServer();
});

afterAll(() => registry.close());

function image(): ImageRef {
  return { registry: registry.host, repository: 'test/app', tag: 'v1' };
}

function observedClient(seen: ObservedRequest[], options: { maxRetries?: number } = {}): RegistryClient {
  let clock = 1000;
  return new RegistryClient({
    insecureRegistries: [registry.host],
    requestTimeoutMs: 2000,
    maxRetries: options.maxRetries ?? 0,
    // Each reading of the clock is 5 ms after the last: every request takes 5 ms.
    now: () => (clock += 5),
    observeRequest: (r) => seen.push(r),
  });
}

describe('the registry client’s request observer', () => {
  it('is told of every request: the challenge, the token fetch and the retry, each with its host, method and status', async () => {
    registry.handle((req, res) => {
      if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: 'abc' });
      if (req.headers['authorization'] !== 'Bearer abc')
        return challenge(res, `Bearer realm="http://${registry.host}/token",service="test"`);
      sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
    });
    const seen: ObservedRequest[] = [];
    const got = await observedClient(seen).getManifest(image());
    expect(got.ok).toBe(true);
    expect(seen).toEqual([
      { host: registry.host, method: 'GET', status: 401, durationMs: 5 },
      { host: registry.host, method: 'GET', status: 200, durationMs: 5 },
      { host: registry.host, method: 'GET', status: 200, durationMs: 5 },
    ]);
  });

  it('is told of a request that got no answer, without a status', async () => {
    const gone = await startScriptedServer();
    const host = gone.host;
    await gone.close();
    const seen: ObservedRequest[] = [];
    const client = new RegistryClient({
      insecureRegistries: [host],
      maxRetries: 0,
      observeRequest: (r) => seen.push(r),
    });
    const got = await client.getManifest({ registry: host, repository: 'test/app', tag: 'v1' });
    expect(!got.ok && got.error.code).toBe('NETWORK');
    expect(seen).toEqual([{ host, method: 'GET', durationMs: expect.any(Number) }]);
  });

  it('never fails a request by throwing', async () => {
    registry.handle((_req, res) => sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }));
    const client = new RegistryClient({
      insecureRegistries: [registry.host],
      observeRequest: () => {
        throw new Error('counter broken');
      },
    });
    const got = await client.getManifest(image());
    expect(got.ok).toBe(true);
  });
});
