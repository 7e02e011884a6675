import { createServer as createHttpsServer } from 'node:https';
import type { ImageRef } from '../imageref/index.js';
import { createServingCertificates } from '../tls/index.js';
import { computeDigest } from './digest.js';
import { parseDockerConfigJson } from './docker-config.js';
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';

const EMPTY = computeDigest(Buffer.from('{}'));
const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY, size: 2 },
  layers: [],
});
const MANIFEST_DIGEST = computeDigest(Buffer.from(MANIFEST));
const PASSWORD = 's3cret-password';

let registry: ScriptedServer;
let elsewhere: ScriptedServer;

beforeAll(async () => {
  registry = await startScriptedServer();
  elsewhere = await startScriptedServer();
});

afterAll(async () => {
  await registry.close();
  await elsewhere.close();
});

function image(tag = 'v1'): ImageRef {
  return { registry: registry.host, repository: 'test/app', tag };
}

function client(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    insecureRegistries: [registry.host, elsewhere.host],
    requestTimeoutMs: 2000,
    sleep: (ms, signal) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(resolve, Math.min(ms, 50));
        signal.addEventListener('abort', () => {
          clearTimeout(t);
          reject(signal.reason);
        });
      }),
    ...options,
  });
}

function withCredentials(): RegistryClientOptions {
  const auth = Buffer.from(`tester:${PASSWORD}`).toString('base64');
  const config = parseDockerConfigJson(JSON.stringify({ auths: { [registry.host]: { auth } } }));
  if (!config.ok) throw new Error(config.error);
  return { credentials: config.value };
}

function serveManifest(body = MANIFEST, headers: Record<string, string> = {}) {
  registry.handle((req, res) => {
    if (req.url?.startsWith('/v2/test/app/manifests/')) {
      return sendJson(res, 200, body, { 'content-type': MEDIA_TYPE_OCI_MANIFEST, ...headers });
    }
    sendJson(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] });
  });
}

describe('RegistryClient', () => {
  describe('getManifest', () => {
    describe('when the registry is honest', () => {
      it('returns the manifest with its digest', async () => {
        serveManifest(MANIFEST, { 'docker-content-digest': MANIFEST_DIGEST });
        const got = await client().getManifest(image());
        expect(got.ok && got.value.digest).toBe(MANIFEST_DIGEST);
        expect(got.ok && got.value.manifest.kind).toBe('manifest');
        expect(registry.requests[0]!.headers['accept']).toContain(MEDIA_TYPE_OCI_INDEX);
      });
    });

    describe('when the content does not hash to the digest asked for', () => {
      it('fails with DIGEST_MISMATCH', async () => {
        serveManifest(MANIFEST.replace('"layers":[]', '"layers": []'));
        const got = await client().getManifest(image(), MANIFEST_DIGEST);
        expect(got.ok).toBe(false);
        if (!got.ok)
          expect(got.error).toMatchObject({ code: 'DIGEST_MISMATCH', registry: registry.host, repository: 'test/app' });
      });
    });

    describe('when Docker-Content-Digest does not match the content', () => {
      it('fails with DIGEST_MISMATCH', async () => {
        serveManifest(MANIFEST, { 'docker-content-digest': computeDigest(Buffer.from('other')) });
        const got = await client().getManifest(image());
        expect(!got.ok && got.error.code).toBe('DIGEST_MISMATCH');
      });
    });

    describe('when the manifest is larger than the limit', () => {
      it('fails with TOO_LARGE from the declared length without reading it', async () => {
        registry.handle((_req, res) => {
          res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST, 'content-length': String(5 * 1024 * 1024) });
          res.write('{');
          // Never finishes: the client must not wait for it.
        });
        const got = await client().getManifest(image());
        expect(!got.ok && got.error.code).toBe('TOO_LARGE');
      });
    });

    describe('when the body never ends', () => {
      it('stops reading at the limit and fails with TOO_LARGE', async () => {
        registry.handle((_req, res) => {
          res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const pump = () => {
            while (res.write(chunk)) {
              /* keep the socket full */
            }
            res.once('drain', pump);
          };
          res.on('close', () => res.removeAllListeners('drain'));
          pump();
        });
        const got = await client({ limits: { manifestBytes: 256 * 1024 } }).getManifest(image());
        expect(!got.ok && got.error.code).toBe('TOO_LARGE');
      });
    });

    describe('when the body is garbage', () => {
      it('fails with BAD_RESPONSE', async () => {
        serveManifest('{"schemaVersion": 2, "mediaType": ');
        const got = await client().getManifest(image());
        expect(!got.ok && got.error).toMatchObject({
          code: 'BAD_RESPONSE',
          message: expect.stringContaining('not valid JSON'),
        });
      });
    });

    describe('when the media type is not a manifest', () => {
      it('fails with BAD_RESPONSE naming the type', async () => {
        serveManifest(JSON.stringify({ schemaVersion: 2, mediaType: 'text/html' }), { 'content-type': 'text/html' });
        const got = await client().getManifest(image());
        expect(!got.ok && got.error.message).toContain('unsupported manifest media type "text/html"');
      });
    });

    describe('when the manifest is unknown', () => {
      it('fails with MANIFEST_UNKNOWN and says where', async () => {
        registry.handle((_req, res) =>
          sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }),
        );
        const got = await client().getManifest(image('nope'));
        expect(!got.ok && got.error).toMatchObject({
          code: 'MANIFEST_UNKNOWN',
          status: 404,
          message: `MANIFEST_UNKNOWN: ${registry.host}/test/app:nope: manifest unknown (HTTP 404)`,
        });
      });
    });
  });

  describe('ping', () => {
    it('answers /v2/ with the registry-wide token (no repository scope)', async () => {
      registry.handle((req, res) => {
        if (req.url?.startsWith('/token')) {
          expect(req.url).not.toContain('scope=');
          return sendJson(res, 200, { token: 't' });
        }
        if (req.headers['authorization'] !== 'Bearer t') {
          return void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry.host}/token"` }).end();
        }
        sendJson(res, 200, {});
      });
      expect((await client().ping(image())).ok).toBe(true);
      expect(registry.requests.map((r) => r.path)).toEqual(['/v2/', '/token', '/v2/']);
    });
  });

  describe('resolveDigest', () => {
    it('takes the digest from HEAD when the registry says it', async () => {
      serveManifest(MANIFEST, { 'docker-content-digest': MANIFEST_DIGEST });
      const got = await client().resolveDigest(image());
      expect(got.ok && got.value).toEqual({
        mediaType: MEDIA_TYPE_OCI_MANIFEST,
        digest: MANIFEST_DIGEST,
        size: MANIFEST.length,
      });
      expect(registry.requests.map((r) => r.method)).toEqual(['HEAD']);
    });

    it('falls back to GET and hashes the manifest when HEAD gives no digest', async () => {
      serveManifest();
      const got = await client().resolveDigest(image());
      expect(got.ok && got.value.digest).toBe(MANIFEST_DIGEST);
      expect(registry.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
    });
  });

  describe('getBlob', () => {
    it('checks sha512 digests too', async () => {
      const blob = Buffer.from('payload');
      registry.handle((_req, res) => void res.writeHead(200, { 'content-length': blob.length }).end(blob));
      const good = await client().getBlob(image(), computeDigest(blob, 'sha512'));
      expect(good.ok).toBe(true);
      const bad = await client().getBlob(image(), computeDigest(Buffer.from('other'), 'sha512'));
      expect(!bad.ok && bad.error.code).toBe('DIGEST_MISMATCH');
    });
  });

  describe('basic auth', () => {
    it('sends the credentials up front once the host asked for them', async () => {
      registry.handle((req, res) =>
        req.headers['authorization']
          ? sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST })
          : void res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end(),
      );
      const c = client(withCredentials());
      expect((await c.getManifest(image())).ok).toBe(true);
      expect((await c.getManifest({ registry: registry.host, repository: 'other/repo', tag: 'v1' })).ok).toBe(true);
      expect(registry.requests.filter((r) => !r.headers['authorization'])).toHaveLength(1);
    });
  });

  describe('with a private CA', () => {
    it('trusts an HTTPS registry whose certificate the configured bundle signs', async () => {
      const certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
      const server = createHttpsServer({ cert: certs.certPem, key: certs.keyPem }, (_req, res) =>
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      const host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      try {
        const trusted = await new RegistryClient({ caBundle: certs.caPem }).getManifest({
          registry: host,
          repository: 'a',
          tag: 'v1',
        });
        expect(trusted.ok).toBe(true);
        const untrusted = await new RegistryClient({ maxRetries: 0 }).getManifest({
          registry: host,
          repository: 'a',
          tag: 'v1',
        });
        expect(!untrusted.ok && untrusted.error.code).toBe('NETWORK');
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  describe('redirects', () => {
    it('gives up after 10 hops of a redirect loop', async () => {
      registry.handle((req, res) => void res.writeHead(307, { location: req.url ?? '/' }).end());
      const got = await client().getManifest(image());
      expect(!got.ok && got.error).toMatchObject({
        code: 'BAD_RESPONSE',
        message: expect.stringContaining('more than 10 redirects'),
      });
      expect(registry.requests).toHaveLength(11);
    });

    it('never sends credentials to another host', async () => {
      registry.handle((req, res) => {
        if (!req.headers['authorization']) {
          return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
        }
        res.writeHead(307, { location: `http://${elsewhere.host}/v2/test/app/manifests/v1` }).end();
      });
      elsewhere.handle((_req, res) => sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }));
      const got = await client(withCredentials()).getManifest(image());
      expect(got.ok).toBe(true);
      expect(registry.requests.at(-1)!.headers['authorization']).toMatch(/^Basic /);
      expect(elsewhere.requests).toHaveLength(1);
      expect(elsewhere.requests[0]!.headers['authorization']).toBeUndefined();
    });
  });

  describe('time', () => {
    it('fails with TIMEOUT when the body trickles past the request timeout', async () => {
      registry.handle((_req, res) => {
        res.writeHead(200, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
        const timer = setInterval(() => res.write(' '), 50);
        res.on('close', () => clearInterval(timer));
      });
      const started = Date.now();
      const got = await client({ requestTimeoutMs: 300 }).getManifest(image());
      expect(!got.ok && got.error.code).toBe('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('stops at the caller’s deadline', async () => {
      registry.handle(() => {
        /* never answers */
      });
      const got = await client({ requestTimeoutMs: 10_000 }).getManifest(image(), undefined, {
        signal: AbortSignal.timeout(200),
      });
      expect(!got.ok && got.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('deadline') });
    });
  });

  describe('retries', () => {
    it('retries a 429 after Retry-After and then succeeds', async () => {
      registry.handle((_req, res, hit) =>
        hit === 1
          ? void res.writeHead(429, { 'retry-after': '1' }).end()
          : sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST }),
      );
      const got = await client().getManifest(image());
      expect(got.ok).toBe(true);
      expect(registry.requests).toHaveLength(2);
    });

    it('does not wait an hour when told to', async () => {
      registry.handle((_req, res) => void res.writeHead(429, { 'retry-after': '3600' }).end());
      const got = await client().getManifest(image());
      expect(!got.ok && got.error).toMatchObject({ code: 'TOO_MANY_REQUESTS', status: 429 });
      expect(registry.requests).toHaveLength(1);
    });

    it('gives up on a lasting 500 after the retries', async () => {
      registry.handle((_req, res) => void res.writeHead(500).end());
      const got = await client({ maxRetries: 2 }).getManifest(image());
      expect(!got.ok && got.error).toMatchObject({ code: 'BAD_RESPONSE', status: 500 });
      expect(registry.requests).toHaveLength(3);
    });
  });

  describe('token auth', () => {
    it('gets a scoped token once and reuses it', async () => {
      registry.handle((req, res) => {
        if (req.url?.startsWith('/token')) {
          expect(req.url).toContain('scope=repository%3Atest%2Fapp%3Apull');
          expect(req.headers['authorization']).toBe(`Basic ${Buffer.from(`tester:${PASSWORD}`).toString('base64')}`);
          return sendJson(res, 200, { token: 'tok-123', expires_in: 300 });
        }
        if (req.headers['authorization'] !== 'Bearer tok-123') {
          return void res
            .writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry.host}/token",service="test"` })
            .end();
        }
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
      });
      const c = client(withCredentials());
      expect((await c.getManifest(image())).ok).toBe(true);
      expect((await c.getManifest(image('v2'))).ok).toBe(true);
      expect(registry.requests.filter((r) => r.path.startsWith('/token'))).toHaveLength(1);
    });

    it('exchanges an identity token with the OAuth2 form POST', async () => {
      let form = '';
      registry.handle(async (req, res) => {
        if (req.url?.startsWith('/token')) {
          for await (const chunk of req) form += String(chunk);
          expect(req.method).toBe('POST');
          return sendJson(res, 200, { access_token: 'tok-from-refresh', expires_in: 300 });
        }
        if (req.headers['authorization'] !== 'Bearer tok-from-refresh') {
          return void res
            .writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry.host}/token",service="svc"` })
            .end();
        }
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
      });
      const config = parseDockerConfigJson(
        JSON.stringify({ auths: { [registry.host]: { identitytoken: 'refresh-me' } } }),
      );
      if (!config.ok) throw new Error(config.error);
      expect((await client({ credentials: config.value }).getManifest(image())).ok).toBe(true);
      const params = new URLSearchParams(form);
      expect(Object.fromEntries(params)).toEqual({
        grant_type: 'refresh_token',
        refresh_token: 'refresh-me',
        client_id: 'imprimatur',
        service: 'svc',
        scope: 'repository:test/app:pull',
      });
    });

    it('never puts the password in an error', async () => {
      registry.handle((req, res) =>
        req.url?.startsWith('/token')
          ? void res.writeHead(401).end()
          : void res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${registry.host}/token"` }).end(),
      );
      const got = await client(withCredentials()).getManifest(image());
      expect(!got.ok && got.error.code).toBe('UNAUTHORIZED');
      expect(JSON.stringify(got)).not.toContain(PASSWORD);
      expect(JSON.stringify(got)).not.toContain(Buffer.from(`tester:${PASSWORD}`).toString('base64'));
    });
  });

  describe('concurrency', () => {
    it('coalesces identical concurrent reads into one request', async () => {
      registry.handle(async (_req, res) => {
        await new Promise((r) => setTimeout(r, 50));
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
      });
      const c = client();
      const results = await Promise.all([c.getManifest(image()), c.getManifest(image()), c.getManifest(image())]);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(registry.requests).toHaveLength(1);
    });

    it('keeps at most the configured number of requests in flight per registry', async () => {
      let inFlight = 0;
      let most = 0;
      registry.handle(async (_req, res) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight--;
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
      });
      const c = client({ concurrencyPerRegistry: 2 });
      await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((t) => c.getManifest(image(t))));
      expect(most).toBe(2);
    });
  });

  describe('listReferrers', () => {
    const index = (entries: object[]) =>
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: entries });
    const entry = (artifactType: string, n: number) => ({
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      digest: computeDigest(Buffer.from(String(n))),
      size: 10,
      artifactType,
    });

    it('uses the referrers API and filters by artifact type', async () => {
      registry.handle((_req, res) =>
        sendJson(res, 200, index([entry('application/vnd.dev.sigstore.bundle.v0.3+json', 1), entry('other', 2)]), {
          'content-type': MEDIA_TYPE_OCI_INDEX,
        }),
      );
      const got = await client().listReferrers(image(), MANIFEST_DIGEST, {
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      });
      expect(got.ok && got.value.source).toBe('api');
      expect(got.ok && got.value.descriptors).toHaveLength(1);
      expect(registry.requests[0]!.path).toBe(
        `/v2/test/app/referrers/${MANIFEST_DIGEST}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson`,
      );
    });

    it('falls back to the sha256-<hex> tag when the registry has no referrers API', async () => {
      registry.handle((req, res) => {
        if (req.url?.includes('/referrers/')) return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
        sendJson(res, 200, index([entry('x', 1)]), { 'content-type': MEDIA_TYPE_OCI_INDEX });
      });
      const got = await client().listReferrers(image(), MANIFEST_DIGEST);
      expect(got.ok && got.value).toMatchObject({ source: 'tag', descriptors: [{ artifactType: 'x' }] });
      expect(registry.requests[1]!.path).toBe(`/v2/test/app/manifests/${MANIFEST_DIGEST.replace(':', '-')}`);
    });

    it('finds none when neither exists', async () => {
      registry.handle((_req, res) => sendJson(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] }));
      const got = await client().listReferrers(image(), MANIFEST_DIGEST);
      expect(got.ok && got.value).toEqual({ source: 'tag', descriptors: [] });
    });

    it('refuses more referrers than the limit', async () => {
      registry.handle((_req, res) =>
        sendJson(res, 200, index(Array.from({ length: 5 }, (_, i) => entry('x', i))), {
          'content-type': MEDIA_TYPE_OCI_INDEX,
        }),
      );
      const got = await client({ limits: { maxEntries: 4 } }).listReferrers(image(), MANIFEST_DIGEST);
      expect(!got.ok && got.error.code).toBe('TOO_LARGE');
    });
  });

  describe('network failures', () => {
    it('fails with NETWORK when nothing listens', async () => {
      const closed = await startScriptedServer();
      await closed.close();
      const got = await client({ insecureRegistries: [closed.host] }).getManifest({
        registry: closed.host,
        repository: 'a',
        tag: 'v1',
      });
      expect(!got.ok && got.error).toMatchObject({ code: 'NETWORK', message: expect.stringContaining('ECONNREFUSED') });
    });

    it('speaks HTTPS to registries not configured as insecure', async () => {
      serveManifest();
      const got = await new RegistryClient({ requestTimeoutMs: 2000, maxRetries: 0 }).getManifest(image());
      expect(got.ok).toBe(false);
      // A plain HTTP server cannot answer a TLS handshake.
      expect(!got.ok && ['NETWORK', 'TIMEOUT']).toContain(got.ok ? '' : got.error.code);
    });
  });
});
