import { createServer as createHttpsServer } from 'node:https';
import type { ImageRef } from '../imageref/index.js';
import { createServingCertificates } from '../tls/index.js';
import { computeDigest } from './digest.js';
import { parseDockerConfigJson } from './docker-config.js';
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { entry as referrer, index as referrersIndex } from './testdata/fixtures.js';
import { challenge, redirect, sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';

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
      expect(got.ok && got.value).toMatchObject({ source: 'tag', descriptors: [], truncated: false });
    });

    it('takes a page with more entries than maxEntries: the per-manifest limit does not apply to referrers', async () => {
      registry.handle((_req, res) =>
        sendJson(res, 200, index(Array.from({ length: 5 }, (_, i) => entry('x', i))), {
          'content-type': MEDIA_TYPE_OCI_INDEX,
        }),
      );
      const got = await client({ limits: { maxEntries: 4 } }).listReferrers(image(), MANIFEST_DIGEST);
      expect(got.ok && got.value).toMatchObject({ source: 'api', truncated: false });
      expect(got.ok && got.value.descriptors).toHaveLength(5);
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
      // The errno would tell a Pod's creator which ports are open: it goes to the detail, for logs only.
      expect(!got.ok && got.error).toMatchObject({
        code: 'NETWORK',
        message: `NETWORK: ${closed.host}/a:v1: cannot reach the registry`,
        detail: expect.stringContaining('ECONNREFUSED'),
      });
    });

    it('speaks HTTPS to registries not configured as insecure', async () => {
      serveManifest();
      const got = await new RegistryClient({ requestTimeoutMs: 2000, maxRetries: 0 }).getManifest(image());
      expect(got.ok).toBe(false);
      // A plain HTTP server cannot answer a TLS handshake.
      expect(!got.ok && ['NETWORK', 'TIMEOUT']).toContain(got.ok ? '' : got.error.code);
    });
  });
  describe('pagination', () => {
    describe('listTags', () => {
      it('stops at a next link that points at the page itself', async () => {
        registry.handle((req, res) => sendJson(res, 200, { tags: ['v1'] }, { link: `<${req.url}>; rel="next"` }));
        const got = await client().listTags(image());
        expect(got.ok && got.value).toEqual(['v1']);
        expect(registry.requests).toHaveLength(1);
      });

      it('stops at a next link already followed, a loop between pages', async () => {
        registry.handle((req, res) => {
          const second = req.url?.includes('last=a') ?? false;
          const next = second ? '/v2/test/app/tags/list' : '/v2/test/app/tags/list?last=a';
          sendJson(res, 200, { tags: [second ? 'b' : 'a'] }, { link: `<${next}>; rel="next"` });
        });
        const got = await client().listTags(image());
        expect(got.ok && got.value).toEqual(['a', 'b']);
        expect(registry.requests).toHaveLength(2);
      });

      it('stops at an empty page, whatever its next link says', async () => {
        registry.handle((_req, res, hit) =>
          sendJson(
            res,
            200,
            { tags: hit === 1 ? ['a'] : [] },
            { link: `</v2/test/app/tags/list?last=${hit}>; rel="next"` },
          ),
        );
        const got = await client().listTags(image());
        expect(got.ok && got.value).toEqual(['a']);
        expect(registry.requests).toHaveLength(2);
      });
    });

    describe('listReferrers', () => {
      const INDEX_TYPE = { 'content-type': MEDIA_TYPE_OCI_INDEX };
      const first = `/v2/test/app/referrers/${MANIFEST_DIGEST}`;

      it('follows the next links of the referrers API and reports the bytes read', async () => {
        const page1 = referrersIndex([referrer('x', 1), referrer('y', 2)]);
        const page2 = referrersIndex([referrer('x', 3)]);
        registry.handle((req, res) =>
          req.url?.includes('last=')
            ? sendJson(res, 200, page2, INDEX_TYPE)
            : sendJson(res, 200, page1, { ...INDEX_TYPE, link: `<${first}?n=2&last=2>; rel="next"` }),
        );
        const got = await client().listReferrers(image(), MANIFEST_DIGEST);
        expect(got.ok && got.value).toMatchObject({
          source: 'api',
          truncated: false,
          bytesRead: page1.length + page2.length,
        });
        expect(got.ok && got.value.descriptors.map((d) => d.digest)).toEqual(
          [1, 2, 3].map((n) => computeDigest(Buffer.from(String(n)))),
        );
      });

      it('applies the artifactType filter to every page', async () => {
        registry.handle((req, res) =>
          req.url?.includes('last=')
            ? sendJson(res, 200, referrersIndex([referrer('x', 3), referrer('y', 4)]), INDEX_TYPE)
            : sendJson(res, 200, referrersIndex([referrer('y', 1), referrer('x', 2)]), {
                ...INDEX_TYPE,
                link: `<${first}?last=2>; rel="next"`,
              }),
        );
        const got = await client().listReferrers(image(), MANIFEST_DIGEST, { artifactType: 'x' });
        expect(got.ok && got.value.descriptors.map((d) => d.artifactType)).toEqual(['x', 'x']);
      });

      it('stops at maxReferrers across pages and says the list is cut short', async () => {
        registry.handle((_req, res, hit) =>
          sendJson(res, 200, referrersIndex([referrer('x', 2 * hit), referrer('x', 2 * hit + 1)]), {
            ...INDEX_TYPE,
            link: `<${first}?last=${hit}>; rel="next"`,
          }),
        );
        const got = await client({ limits: { maxReferrers: 3 } }).listReferrers(image(), MANIFEST_DIGEST);
        expect(got.ok && got.value).toMatchObject({ source: 'api', truncated: true });
        expect(got.ok && got.value.descriptors).toHaveLength(3);
        expect(registry.requests).toHaveLength(2);
      });

      it('stops at a next link that points at the page itself', async () => {
        registry.handle((req, res) =>
          sendJson(res, 200, referrersIndex([referrer('x', 1)]), { ...INDEX_TYPE, link: `<${req.url}>; rel="next"` }),
        );
        const got = await client().listReferrers(image(), MANIFEST_DIGEST);
        expect(got.ok && got.value).toMatchObject({ truncated: false, descriptors: [{ artifactType: 'x' }] });
        expect(registry.requests).toHaveLength(1);
      });

      it('stops at an empty page and at a next link already followed', async () => {
        registry.handle((req, res) => {
          if (req.url?.includes('last=2'))
            return sendJson(res, 200, referrersIndex([]), { ...INDEX_TYPE, link: `<${first}?last=3>; rel="next"` });
          if (req.url?.includes('last=1'))
            return sendJson(res, 200, referrersIndex([referrer('x', 2)]), {
              ...INDEX_TYPE,
              link: `<${first}?last=2>; rel="next"`,
            });
          sendJson(res, 200, referrersIndex([referrer('x', 1)]), {
            ...INDEX_TYPE,
            link: `<${first}?last=1>; rel="next"`,
          });
        });
        const got = await client().listReferrers(image(), MANIFEST_DIGEST);
        expect(got.ok && got.value.descriptors).toHaveLength(2);
        expect(registry.requests).toHaveLength(3);

        registry.handle((req, res) =>
          sendJson(res, 200, referrersIndex([referrer('x', req.url?.includes('last=') ? 2 : 1)]), {
            ...INDEX_TYPE,
            link: `<${req.url?.includes('last=') ? first : `${first}?last=1`}>; rel="next"`,
          }),
        );
        const looped = await client().listReferrers(image(), MANIFEST_DIGEST);
        expect(looped.ok && looped.value.descriptors).toHaveLength(2);
        expect(registry.requests).toHaveLength(2);
      });

      it('ends the list at a later page beyond the byte budget, keeping what was read', async () => {
        const page1 = referrersIndex([referrer('x', 1)]);
        registry.handle((req, res) =>
          req.url?.includes('last=')
            ? sendJson(
                res,
                200,
                referrersIndex(Array.from({ length: 50 }, (_, i) => referrer('x', i + 10))),
                INDEX_TYPE,
              )
            : sendJson(res, 200, page1, { ...INDEX_TYPE, link: `<${first}?last=1>; rel="next"` }),
        );
        const maxBytes = page1.length + 100;
        const got = await client().listReferrers(image(), MANIFEST_DIGEST, { maxBytes });
        expect(got.ok && got.value).toMatchObject({ truncated: true, descriptors: [{ artifactType: 'x' }] });
        expect(got.ok && got.value.bytesRead).toBeLessThanOrEqual(maxBytes);
      });

      it('keeps the first maxReferrers entries of a tag-schema index', async () => {
        registry.handle((req, res) => {
          if (req.url?.includes('/referrers/')) return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
          sendJson(res, 200, referrersIndex(Array.from({ length: 5 }, (_, i) => referrer('x', i))), INDEX_TYPE);
        });
        const got = await client({ limits: { maxReferrers: 3 } }).listReferrers(image(), MANIFEST_DIGEST);
        expect(got.ok && got.value).toMatchObject({ source: 'tag', truncated: true });
        expect(got.ok && got.value.descriptors).toHaveLength(3);
      });
    });
  });

  describe('per-call byte budget', () => {
    it('getManifest reads no more than maxBytes', async () => {
      serveManifest();
      const over = await client().getManifest(image(), undefined, { maxBytes: MANIFEST.length - 1 });
      expect(!over.ok && over.error.code).toBe('TOO_LARGE');
      const exact = await client().getManifest(image(), undefined, { maxBytes: MANIFEST.length });
      expect(exact.ok && exact.value.bytes.byteLength).toBe(MANIFEST.length);
    });

    it('never reads more than the client’s own limit, whatever maxBytes says', async () => {
      serveManifest();
      const got = await client({ limits: { manifestBytes: 16 } }).getManifest(image(), undefined, {
        maxBytes: 1 << 30,
      });
      expect(!got.ok && got.error.code).toBe('TOO_LARGE');
      const blob = Buffer.from('payload');
      registry.handle((_req, res) => void res.writeHead(200, { 'content-length': blob.length }).end(blob));
      const big = await client({ limits: { blobBytes: 3 } }).getBlob(image(), computeDigest(blob), { maxBytes: 100 });
      expect(!big.ok && big.error.code).toBe('TOO_LARGE');
    });

    it('bounds the GET resolveDigest falls back to', async () => {
      serveManifest();
      const got = await client().resolveDigest(image(), { maxBytes: 10 });
      expect(!got.ok && got.error.code).toBe('TOO_LARGE');
    });

    it('bounds the first page of referrers', async () => {
      registry.handle((_req, res) =>
        sendJson(res, 200, referrersIndex([referrer('x', 1)]), { 'content-type': MEDIA_TYPE_OCI_INDEX }),
      );
      const got = await client().listReferrers(image(), MANIFEST_DIGEST, { maxBytes: 10 });
      expect(!got.ok && got.error.code).toBe('TOO_LARGE');
    });

    it('reads nothing on a budget that is not a number', async () => {
      serveManifest();
      const got = await client().getManifest(image(), undefined, { maxBytes: Number.NaN });
      expect(!got.ok && got.error.code).toBe('TOO_LARGE');
    });
  });

  describe('request counting', () => {
    it('reports every HTTP request sent for the call: the 401, the token fetch, a redirect and a retry', async () => {
      registry.handle((req, res, hit) => {
        if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: 't' });
        if (req.headers['authorization'] !== 'Bearer t')
          return challenge(res, `Bearer realm="http://${registry.host}/token"`);
        if (!req.url?.includes('moved')) return redirect(res, '/v2/test/app/manifests/moved');
        if (hit === 4) return void res.writeHead(503, { 'retry-after': '0' }).end();
        sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
      });
      let sent = 0;
      const got = await client().getManifest(image(), undefined, { onRequest: () => sent++ });
      expect(got.ok).toBe(true);
      expect(registry.requests.map((r) => r.path)).toEqual([
        '/v2/test/app/manifests/v1',
        '/token?scope=repository%3Atest%2Fapp%3Apull',
        '/v2/test/app/manifests/v1',
        '/v2/test/app/manifests/moved',
        '/v2/test/app/manifests/v1',
        '/v2/test/app/manifests/moved',
      ]);
      expect(sent).toBe(6);
    });

    it('ignores a counter that throws', async () => {
      serveManifest();
      const got = await client().getManifest(image(), undefined, {
        onRequest: () => {
          throw new Error('counter broke');
        },
      });
      expect(got.ok).toBe(true);
    });
  });

  describe('hostile answers', () => {
    it('answers a manifest of 100,000 nested arrays with BAD_RESPONSE, not an exception', async () => {
      serveManifest(`{"schemaVersion":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
      const got = await client().getManifest(image());
      expect(!got.ok && got.error).toMatchObject({
        code: 'BAD_RESPONSE',
        message: expect.stringContaining('schemaVersion an array'),
      });
    });

    it('answers a token endpoint that sends null with BAD_RESPONSE, not an exception', async () => {
      registry.handle((req, res) =>
        req.url?.startsWith('/token')
          ? sendJson(res, 200, 'null')
          : challenge(res, `Bearer realm="http://${registry.host}/token"`),
      );
      const got = await client().getManifest(image());
      expect(!got.ok && got.error).toMatchObject({
        code: 'BAD_RESPONSE',
        message: expect.stringContaining('not an object'),
      });
    });

    it('turns any other exception into BAD_RESPONSE, with the exception in the detail only', async () => {
      const got = await client({
        fetch: async () => ({
          status: 200,
          headers: {
            get() {
              throw new TypeError('headers exploded');
            },
          },
          body: null,
        }),
      }).getManifest(image());
      expect(!got.ok && got.error).toMatchObject({
        code: 'BAD_RESPONSE',
        message: `BAD_RESPONSE: ${registry.host}/test/app:v1: unexpected error reading the registry's answer`,
        detail: 'TypeError: headers exploded',
      });
    });
  });

  describe('registry text in messages', () => {
    // eslint-disable-next-line no-control-regex -- control characters are what it finds
    const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

    it('strips control characters and bidi overrides from the registry’s error message', async () => {
      registry.handle((_req, res) =>
        sendJson(res, 404, {
          errors: [
            { code: 'MANIFEST_UNKNOWN', message: 'gone\u001b[31m\r\nFAKE LOG LINE \u202eeulav\u2066 \u0085end' },
          ],
        }),
      );
      const got = await client().getManifest(image());
      expect(!got.ok && got.error.message).toContain('gone');
      expect(!got.ok && got.error.message).not.toMatch(UNSAFE);
    });

    it('strips them from a media type it quotes, and cuts it short', async () => {
      serveManifest(JSON.stringify({ schemaVersion: 2, mediaType: `text/\u202eeulav\u0007${'x'.repeat(10_000)}` }), {
        'content-type': 'text/html',
      });
      const got = await client().getManifest(image());
      expect(!got.ok && got.error.message).toContain('unsupported manifest media type "text/ eulav');
      expect(!got.ok && got.error.message).not.toMatch(UNSAFE);
      expect(!got.ok && got.error.message.length).toBeLessThan(300);
    });
  });
});
