// The transport's defences, through the client: credentials per call and what is shared between callers, each
// caller's own deadline, where a registry may send us (token realms, redirects), and which origin may ask for
// credentials. The registries are scripted hostile servers; a registry "on a public address" is a scripted server
// reached under a host name that a fake DNS resolves to a public address.
import type { ImageRef } from '../imageref/index.js';
import type { AddressKind } from './address-kind.js';
import type { FetchInit, FetchLike } from './fetch-like.js';
import { MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient, type RegistryClientOptions } from './registry-client.js';
import { MANIFEST, basicOf, basicUser, credentialsFor, fakeDns, quickSleep, routedFetch } from './testdata/fixtures.js';
import { challenge, redirect, sendJson, startScriptedServer, type ScriptedServer } from './testdata/scripted-server.js';

const PUBLIC_ADDRESS = '93.184.215.14';

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

function image(tag = 'v1', repository = 'test/app'): ImageRef {
  return { registry: registry.host, repository, tag };
}

function client(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient({
    insecureRegistries: [registry.host, elsewhere.host, 'registry.example'],
    requestTimeoutMs: 2000,
    sleep: quickSleep,
    ...options,
  });
}

function sendManifest(res: Parameters<typeof sendJson>[0]): void {
  sendJson(res, 200, MANIFEST, { 'content-type': MEDIA_TYPE_OCI_MANIFEST });
}

/**
 * A registry that answers Basic credentials with a token naming the user (tok-<user>), and serves the manifest to
 * any token; anonymous callers get tok-anonymous.
 */
function serveTokensPerUser(): void {
  registry.handle((req, res) => {
    if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: `tok-${basicUser(req) ?? 'anonymous'}` });
    if (!req.headers['authorization']?.startsWith('Bearer tok-')) {
      return challenge(res, `Bearer realm="http://${registry.host}/token",service="test"`);
    }
    sendManifest(res);
  });
}

const tokenRequests = () => registry.requests.filter((r) => r.path.startsWith('/token'));
const bearersSent = () =>
  registry.requests.filter((r) => r.path.startsWith('/v2/')).map((r) => r.headers['authorization'] ?? 'none');

describe('RegistryTransport', () => {
  describe('per-call credentials', () => {
    it('gets a token with the call’s own credentials, not the client’s', async () => {
      serveTokensPerUser();
      const c = client({ credentials: credentialsFor(registry.host, 'cli', 'p0') });
      const got = await c.getManifest(image(), undefined, {
        credentials: credentialsFor(registry.host, 'alice', 'p1'),
      });
      expect(got.ok).toBe(true);
      expect(tokenRequests().map((r) => r.headers['authorization'])).toEqual([basicOf('alice', 'p1')]);
      expect(bearersSent().at(-1)).toBe('Bearer tok-alice');
    });

    it('falls back to the client’s credentials when the call brings none', async () => {
      serveTokensPerUser();
      const c = client({ credentials: credentialsFor(registry.host, 'cli', 'p0') });
      expect((await c.getManifest(image())).ok).toBe(true);
      expect(bearersSent().at(-1)).toBe('Bearer tok-cli');
    });

    it('treats call credentials without an entry for the registry as anonymous, not as the client’s', async () => {
      serveTokensPerUser();
      const c = client({ credentials: credentialsFor(registry.host, 'cli', 'p0') });
      const got = await c.getManifest(image(), undefined, { credentials: credentialsFor('other.example', 'x', 'y') });
      expect(got.ok).toBe(true);
      expect(tokenRequests()[0]!.headers['authorization']).toBeUndefined();
      expect(bearersSent().at(-1)).toBe('Bearer tok-anonymous');
    });

    it('never hands one caller’s token to a caller with other credentials', async () => {
      serveTokensPerUser();
      const c = client();
      const alice = credentialsFor(registry.host, 'alice', 'p1');
      const bob = credentialsFor(registry.host, 'bob', 'p2');
      expect((await c.getManifest(image(), undefined, { credentials: alice })).ok).toBe(true);
      expect((await c.getManifest(image(), undefined, { credentials: bob })).ok).toBe(true);
      expect((await c.getManifest(image('v2'), undefined, { credentials: alice })).ok).toBe(true);
      expect(tokenRequests().map((r) => basicUser(r))).toEqual(['alice', 'bob']);
      expect(bearersSent().filter((b) => b !== 'none')).toEqual([
        'Bearer tok-alice',
        'Bearer tok-bob',
        'Bearer tok-alice',
      ]);
    });

    it('shares the anonymous token between anonymous callers', async () => {
      serveTokensPerUser();
      const c = client();
      expect((await c.getManifest(image())).ok).toBe(true);
      expect((await c.getManifest(image('v2'), undefined, { credentials: { lookup: () => undefined } })).ok).toBe(true);
      expect(tokenRequests()).toHaveLength(1);
    });

    it('keeps tokens apart per scope: a push token is not a pull token', async () => {
      serveTokensPerUser();
      const c = client();
      expect((await c.getManifest(image())).ok).toBe(true);
      registry.handle((req, res) => {
        if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: 'tok-push' });
        if (req.headers['authorization'] !== 'Bearer tok-push') {
          return challenge(res, `Bearer realm="http://${registry.host}/token"`);
        }
        res.writeHead(201, { 'docker-content-digest': '', 'content-length': 0 }).end();
      });
      expect((await c.pushManifest(image(), Buffer.from(MANIFEST), MEDIA_TYPE_OCI_MANIFEST)).ok).toBe(true);
      expect(registry.requests[1]!.path).toContain('pull%2Cpush');
    });

    it('sends Basic up front with the call’s credentials once the host asked for Basic', async () => {
      registry.handle((req, res) => (basicUser(req) ? sendManifest(res) : challenge(res, 'Basic realm="r"')));
      const c = client({ credentials: credentialsFor(registry.host, 'cli', 'p0') });
      const alice = credentialsFor(registry.host, 'alice', 'p1');
      const bob = credentialsFor(registry.host, 'bob', 'p2');
      expect((await c.getManifest(image(), undefined, { credentials: alice })).ok).toBe(true);
      expect((await c.getManifest(image('v1', 'other/repo'), undefined, { credentials: bob })).ok).toBe(true);
      expect(registry.requests.map((r) => r.headers['authorization'] ?? 'none')).toEqual([
        'none',
        basicOf('alice', 'p1'),
        basicOf('bob', 'p2'),
      ]);
    });
  });

  describe('coalescing', () => {
    it('never shares one caller’s answer with a caller that has other credentials', async () => {
      registry.handle(async (req, res) => {
        if (!basicUser(req)) return challenge(res, 'Basic realm="r"');
        await new Promise((r) => setTimeout(r, 50));
        sendManifest(res);
      });
      const c = client();
      const [a, b] = await Promise.all([
        c.getManifest(image(), undefined, { credentials: credentialsFor(registry.host, 'alice', 'p1') }),
        c.getManifest(image(), undefined, { credentials: credentialsFor(registry.host, 'bob', 'p2') }),
      ]);
      expect(a.ok && b.ok).toBe(true);
      expect(new Set(registry.requests.map((r) => basicUser(r)))).toEqual(new Set([undefined, 'alice', 'bob']));
    });

    it('lets a later caller wait past the first caller’s short deadline', async () => {
      registry.handle(async (_req, res) => {
        await new Promise((r) => setTimeout(r, 300));
        sendManifest(res);
      });
      const c = client();
      const [short, long] = await Promise.all([
        c.getManifest(image(), undefined, { signal: AbortSignal.timeout(50) }),
        c.getManifest(image(), undefined, { signal: AbortSignal.timeout(5000) }),
      ]);
      expect(!short.ok && short.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('deadline') });
      expect(long.ok).toBe(true);
      expect(registry.requests).toHaveLength(1);
    });

    it('stops a later caller at its own deadline though the first caller waits on', async () => {
      registry.handle(async (_req, res) => {
        await new Promise((r) => setTimeout(r, 500));
        sendManifest(res);
      });
      const c = client();
      const first = c.getManifest(image());
      const started = Date.now();
      const late = await c.getManifest(image(), undefined, { signal: AbortSignal.timeout(50) });
      expect(!late.ok && late.error.code).toBe('TIMEOUT');
      expect(Date.now() - started).toBeLessThan(400);
      expect((await first).ok).toBe(true);
      expect(registry.requests).toHaveLength(1);
    });

    it('abandons the shared request only when every caller has given up', async () => {
      let closed = 0;
      registry.handle((_req, res) => {
        res.on('close', () => closed++);
      });
      const c = client({ requestTimeoutMs: 10_000 });
      const first = c.getManifest(image(), undefined, { signal: AbortSignal.timeout(50) });
      const second = c.getManifest(image(), undefined, { signal: AbortSignal.timeout(250) });
      const a = await first;
      expect(!a.ok && a.error.code).toBe('TIMEOUT');
      await new Promise((r) => setTimeout(r, 100));
      expect(closed).toBe(0);
      const b = await second;
      expect(!b.ok && b.error.code).toBe('TIMEOUT');
      await new Promise((r) => setTimeout(r, 100));
      expect(closed).toBe(1);
      expect(registry.requests).toHaveLength(1);
    });
  });

  describe('credentials and other origins', () => {
    it('does not answer a 401 from the server a redirect led to, and learns nothing from it', async () => {
      registry.handle((_req, res) => redirect(res, `http://${elsewhere.host}/v2/test/app/manifests/v1`));
      elsewhere.handle((_req, res) => challenge(res, 'Basic realm="cdn"'));
      const c = client({ credentials: credentialsFor(registry.host, 'tester', 'secret') });
      const got = await c.getManifest(image());
      expect(!got.ok && got.error).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
      expect(registry.requests).toHaveLength(1);
      expect(elsewhere.requests.every((r) => r.headers['authorization'] === undefined)).toBe(true);

      registry.handle((_req, res) => sendManifest(res));
      expect((await c.getManifest(image('v1', 'other/repo'))).ok).toBe(true);
      expect(registry.requests[0]!.headers['authorization']).toBeUndefined();
    });

    it('does not fetch a token for a Bearer challenge from another origin', async () => {
      registry.handle((_req, res) => redirect(res, `http://${elsewhere.host}/v2/test/app/manifests/v1`));
      elsewhere.handle((req, res) =>
        req.url?.startsWith('/token')
          ? sendJson(res, 200, { token: 'stolen' })
          : challenge(res, `Bearer realm="http://${elsewhere.host}/token"`),
      );
      const got = await client({ credentials: credentialsFor(registry.host, 'tester', 'secret') }).getManifest(image());
      expect(!got.ok && got.error.code).toBe('UNAUTHORIZED');
      expect(elsewhere.requests.map((r) => r.path)).toEqual(['/v2/test/app/manifests/v1']);
    });

    it('sends a token to the registry only, never to a redirect’s target', async () => {
      registry.handle((req, res) => {
        if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: 'tok' });
        if (req.headers['authorization'] !== 'Bearer tok')
          return challenge(res, `Bearer realm="http://${registry.host}/token"`);
        redirect(res, `http://${elsewhere.host}/blob`);
      });
      elsewhere.handle((_req, res) => sendManifest(res));
      expect((await client().getManifest(image())).ok).toBe(true);
      expect(elsewhere.requests.map((r) => r.headers['authorization'])).toEqual([undefined]);
    });
  });

  describe('where a registry may send us', () => {
    /** A client whose registry is registry.example, on a public address as far as its DNS knows. */
    function publicRegistryClient(dns: Record<string, readonly string[]> = {}): RegistryClient {
      const resolveHost = fakeDns({ 'registry.example': [PUBLIC_ADDRESS], ...dns });
      return client({ resolveHost, fetch: routedFetch({ 'registry.example': registry }, resolveHost) });
    }
    const publicImage: ImageRef = { registry: 'registry.example', repository: 'test/app', tag: 'v1' };

    describe('when the registry is on a public address', () => {
      it.each([
        ['loopback', (port: number) => `http://127.0.0.1:${port}/token`],
        ['loopback', (port: number) => `http://[::ffff:127.0.0.1]:${port}/token`],
        ['loopback', (port: number) => `http://0x7f.1:${port}/token`],
        ['link-local', () => 'http://169.254.169.254/latest/meta-data/'],
        ['private', () => 'http://10.0.0.1:6379/'],
        ['unspecified', (port: number) => `http://0.0.0.0:${port}/token`],
      ])('refuses a token realm on a %s IP literal before sending anything', async (kind, realm) => {
        registry.handle((req, res) =>
          req.url?.startsWith('/token')
            ? sendJson(res, 200, { token: 'x' })
            : challenge(res, `Bearer realm="${realm(registry.port)}"`),
        );
        const got = await publicRegistryClient().getManifest(publicImage);
        expect(!got.ok && got.error).toMatchObject({
          code: 'BAD_RESPONSE',
          message: `BAD_RESPONSE: registry.example/test/app: refused the registry's token realm: it points to a ${kind} address, which only a registry on a ${kind} address may use`,
        });
        expect(tokenRequests()).toHaveLength(0);
      });

      it('refuses a token realm whose host name resolves to loopback, where it connects', async () => {
        registry.handle((req, res) =>
          req.url?.startsWith('/token')
            ? sendJson(res, 200, { token: 'internal secret' })
            : challenge(res, `Bearer realm="http://internal.example:${registry.port}/token"`),
        );
        const got = await publicRegistryClient({ 'internal.example': ['127.0.0.1'] }).getManifest(publicImage);
        // The same message as a name that does not resolve: which internal names exist is not for the Pod's creator.
        expect(!got.ok && got.error).toMatchObject({
          code: 'NETWORK',
          message: "NETWORK: registry.example/test/app: cannot reach the registry's token service",
          detail: expect.stringContaining('internal.example resolves only to loopback addresses'),
        });
        expect(tokenRequests()).toHaveLength(0);
      });

      it('refuses a redirect to a loopback address', async () => {
        registry.handle((_req, res) => redirect(res, `http://127.0.0.1:${elsewhere.port}/secret`));
        elsewhere.handle((_req, res) => sendManifest(res));
        const got = await publicRegistryClient().getManifest(publicImage);
        expect(!got.ok && got.error).toMatchObject({
          code: 'BAD_RESPONSE',
          message: expect.stringContaining(
            "refused to follow the registry's redirect: it points to a loopback address",
          ),
        });
        expect(got.ok || got.error.message).not.toContain(String(elsewhere.port));
        expect(elsewhere.requests).toHaveLength(0);
      });

      it('refuses a redirect to a host name that resolves to loopback', async () => {
        registry.handle((_req, res) => redirect(res, `http://internal.example:${elsewhere.port}/secret`));
        elsewhere.handle((_req, res) => sendManifest(res));
        const got = await publicRegistryClient({ 'internal.example': ['127.0.0.1'] }).getManifest(publicImage);
        expect(!got.ok && got.error).toMatchObject({
          code: 'NETWORK',
          message: 'NETWORK: registry.example/test/app:v1: cannot reach the server the registry redirected to',
        });
        expect(elsewhere.requests).toHaveLength(0);
      });

      it('follows the registry’s own redirects to itself', async () => {
        registry.handle((req, res) =>
          req.url?.includes('moved') ? sendManifest(res) : redirect(res, '/v2/test/app/manifests/moved'),
        );
        expect((await publicRegistryClient().getManifest(publicImage)).ok).toBe(true);
      });
    });

    describe('when the registry is on a loopback address', () => {
      it('allows a token realm on a host name that resolves to loopback', async () => {
        registry.handle((req, res) => {
          if (req.url?.startsWith('/token')) return sendJson(res, 200, { token: 'tok' });
          if (req.headers['authorization'] !== 'Bearer tok') {
            return challenge(res, `Bearer realm="http://internal.example:${registry.port}/token"`);
          }
          sendManifest(res);
        });
        const resolveHost = fakeDns({ 'internal.example': ['127.0.0.1'] });
        const got = await client({ resolveHost, fetch: routedFetch({}, resolveHost) }).getManifest(image());
        expect(got.ok).toBe(true);
      });
    });

    describe('when the registry is named by a host name on a private address', () => {
      /** A fake network: records what each request may connect to; the registry asks for a token. */
      function fakeNetwork(realm: string) {
        const seen: { url: string; allowed: readonly AddressKind[] | undefined; auth?: string }[] = [];
        const fetch: FetchLike = async (url, init: FetchInit) => {
          seen.push({
            url,
            allowed: init.allowedAddresses && [...init.allowedAddresses].sort(),
            ...(init.headers['authorization'] ? { auth: init.headers['authorization'] } : {}),
          });
          const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });
          const body = (text: string) =>
            (async function* () {
              yield Buffer.from(text);
            })();
          if (url.startsWith(realm)) return { status: 200, headers: headers({}), body: body('{"token":"tok"}') };
          if (init.headers['authorization'] === 'Bearer tok') {
            return { status: 200, headers: headers({ 'content-type': MEDIA_TYPE_OCI_MANIFEST }), body: body(MANIFEST) };
          }
          return { status: 401, headers: headers({ 'www-authenticate': `Bearer realm="${realm}"` }), body: null };
        };
        return { seen, fetch };
      }
      const internalImage: ImageRef = { registry: 'registry.internal', repository: 'app', tag: 'v1' };

      it('allows a realm on another private address, and sends its token back only to private addresses', async () => {
        const net = fakeNetwork('https://10.0.0.6/token');
        const got = await new RegistryClient({
          fetch: net.fetch,
          resolveHost: fakeDns({ 'registry.internal': ['10.0.0.5'] }),
        }).getManifest(internalImage);
        expect(got.ok).toBe(true);
        expect(net.seen).toEqual([
          { url: 'https://registry.internal/v2/app/manifests/v1', allowed: undefined },
          { url: 'https://10.0.0.6/token?scope=repository%3Aapp%3Apull', allowed: ['private', 'public'] },
          { url: 'https://registry.internal/v2/app/manifests/v1', allowed: ['private'], auth: 'Bearer tok' },
        ]);
      });

      it('passes the policy along for a realm named by host name, to be checked where it connects', async () => {
        const net = fakeNetwork('https://auth.internal/token');
        await new RegistryClient({
          fetch: net.fetch,
          resolveHost: fakeDns({ 'registry.internal': ['10.0.0.5'] }),
        }).getManifest(internalImage);
        expect(net.seen[1]).toMatchObject({
          url: expect.stringMatching(/^https:\/\/auth\.internal\//),
          allowed: ['private', 'public'],
        });
      });

      it('refuses a private realm when the registry’s name resolves to public addresses too', async () => {
        const net = fakeNetwork('https://10.0.0.6/token');
        const got = await new RegistryClient({
          fetch: net.fetch,
          resolveHost: fakeDns({ 'registry.internal': ['10.0.0.5', PUBLIC_ADDRESS] }),
        }).getManifest(internalImage);
        expect(!got.ok && got.error.message).toContain('refused the registry');
        expect(net.seen).toHaveLength(1);
      });

      it('holds a public registry’s realm to public addresses', async () => {
        const net = fakeNetwork('https://auth.example/token');
        const got = await new RegistryClient({
          fetch: net.fetch,
          resolveHost: fakeDns({ 'registry.internal': [PUBLIC_ADDRESS] }),
        }).getManifest(internalImage);
        expect(got.ok).toBe(true);
        expect(net.seen.map((s) => s.allowed)).toEqual([undefined, ['public'], undefined]);
      });
    });
  });
});
