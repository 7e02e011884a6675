import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import {
  createCertificateAuthority,
  createServingCertificates,
  issueServingCertificate,
  type ServingCertificates,
} from '../tls/index.js';
import type { KubeTarget } from './kube-config.js';
import { CONTENT_TYPE, KubeClient, KubeStatusError, type KubeClientOptions } from './kube-client.js';
import type { CredentialDeps } from './kube-credentials.js';

interface Recorded {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly clientCertificate?: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, recorded: Recorded) => void;

/** A server whose answer each test sets; it records every request, with its whole body. */
async function startServer(server: Server) {
  const state = { handler: ((_req, res) => res.end('{}')) as Handler, requests: [] as Recorded[] };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const socket = req.socket as Partial<TLSSocket>;
      const peer = socket.getPeerCertificate?.();
      const recorded: Recorded = {
        method: req.method!,
        url: new URL(req.url!, 'http://server'),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        ...(peer && peer.fingerprint256 ? { clientCertificate: peer.fingerprint256 } : {}),
      };
      state.requests.push(recorded);
      state.handler(req, res, recorded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { state, port, close };
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

const status = (code: number, message: string, reason = 'Failure') => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message,
  reason,
  code,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A token file whose contents the test changes, behind CredentialDeps. */
function tokenFileDeps(initial: string) {
  const state = { token: initial, reads: 0 };
  const deps: CredentialDeps = {
    readFile: async () => {
      state.reads++;
      return state.token;
    },
    runExec: async () => {
      throw new Error('no exec in this test');
    },
    now: () => 0,
  };
  return { state, deps };
}

const clients: KubeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

function client(target: Partial<KubeTarget> & { server: string }, options: KubeClientOptions = {}): KubeClient {
  const c = new KubeClient(
    { insecureSkipTlsVerify: false, credentials: { kind: 'none' }, source: 'test', ...target },
    { userAgent: 'imprimatur-test', ...options },
  );
  clients.push(c);
  return c;
}

/** What a watch delivered, and a promise of its one done(). */
function watchRecorder() {
  const events: { phase: string; object: unknown; event: unknown }[] = [];
  const doneCalls: unknown[] = [];
  let resolveEnded!: (e: unknown) => void;
  const ended = new Promise<unknown>((resolve) => (resolveEnded = resolve));
  return {
    events,
    doneCalls,
    ended,
    callback: (phase: string, object: unknown, event: unknown) => events.push({ phase, object, event }),
    done: (e: unknown) => {
      doneCalls.push(e);
      resolveEnded(e);
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

const pod = (name: string, resourceVersion: string) => ({
  kind: 'Pod',
  metadata: { name, namespace: 'team', resourceVersion },
});
const line = (type: string, object: unknown) => `${JSON.stringify({ type, object })}\n`;

describe('KubeClient over plain http', () => {
  let server: Awaited<ReturnType<typeof startServer>>;
  let base: string;

  beforeAll(async () => {
    server = await startServer(createHttpServer());
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.state.requests.length = 0;
    server.state.handler = (_req, res) => json(res, 200, { kind: 'Thing' });
  });

  const requests = () => server.state.requests;

  describe('json()', () => {
    it('GETs the path with the query, accepting JSON, with the user agent and bearer token', async () => {
      const kube = client({ server: base, credentials: { kind: 'token', token: 'tok-1' } });
      const answer = await kube.json<{ kind: string }>({
        method: 'GET',
        path: '/api/v1/namespaces/team/secrets',
        query: { limit: 500, continue: 'abc', labelSelector: 'a=b,c in (d)', fieldSelector: undefined, force: true },
      });
      expect(answer).toEqual({ kind: 'Thing' });
      expect(requests()).toHaveLength(1);
      const [req] = requests();
      expect(req!.method).toBe('GET');
      expect(req!.url.pathname).toBe('/api/v1/namespaces/team/secrets');
      expect(Object.fromEntries(req!.url.searchParams)).toEqual({
        limit: '500',
        continue: 'abc',
        labelSelector: 'a=b,c in (d)',
        force: 'true',
      });
      expect(req!.headers['accept']).toBe('application/json');
      expect(req!.headers['user-agent']).toBe('imprimatur-test');
      expect(req!.headers['authorization']).toBe('Bearer tok-1');
      expect(req!.headers['content-type']).toBeUndefined();
      expect(req!.body).toBe('');
    });

    it('sends a basic auth header, and none for no credentials', async () => {
      await client({ server: base, credentials: { kind: 'basic', username: 'u', password: 'p' } }).json({
        method: 'GET',
        path: '/version',
      });
      await client({ server: base }).json({ method: 'GET', path: '/version' });
      expect(requests()[0]!.headers['authorization']).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
      expect(requests()[1]!.headers['authorization']).toBeUndefined();
    });

    it('keeps a path prefix of the server', async () => {
      await client({ server: `${base}/k8s/clusters/c-1` }).json({ method: 'GET', path: '/api/v1/namespaces' });
      expect(requests()[0]!.url.pathname).toBe('/k8s/clusters/c-1/api/v1/namespaces');
    });

    it('POSTs a body as JSON', async () => {
      server.state.handler = (_req, res, r) => json(res, 201, { created: JSON.parse(r.body) });
      const body = { metadata: { name: 'pull' }, data: { k: 'dg==' } };
      const answer = await client({ server: base }).json({
        method: 'POST',
        path: '/api/v1/namespaces/team/secrets',
        body,
      });
      expect(answer).toEqual({ created: body });
      expect(requests()[0]!.method).toBe('POST');
      expect(requests()[0]!.headers['content-type']).toBe('application/json');
      expect(JSON.parse(requests()[0]!.body)).toEqual(body);
    });

    it.each([CONTENT_TYPE.mergePatch, CONTENT_TYPE.apply, CONTENT_TYPE.jsonPatch])(
      'PATCHes with the content type %s and the query',
      async (contentType) => {
        await client({ server: base }).json({
          method: 'PATCH',
          path: '/apis/x/v1/things/a/status',
          query: { fieldManager: 'imprimatur', force: true },
          body: { status: {} },
          contentType,
        });
        const [req] = requests();
        expect(req!.method).toBe('PATCH');
        expect(req!.headers['content-type']).toBe(contentType);
        expect(req!.url.search).toBe('?fieldManager=imprimatur&force=true');
        expect(req!.body).toBe('{"status":{}}');
      },
    );

    it('gives undefined for an empty answer', async () => {
      server.state.handler = (_req, res) => res.writeHead(200).end();
      expect(await client({ server: base }).json({ method: 'DELETE', path: '/x' })).toBeUndefined();
    });

    describe('when the answer is not 2xx', () => {
      it('throws a KubeStatusError with the code, the body and the Status message', async () => {
        const body = status(404, 'secrets "pull" not found', 'NotFound');
        server.state.handler = (_req, res) => json(res, 404, body);
        const error = await client({ server: base })
          .json({ method: 'GET', path: '/api/v1/namespaces/team/secrets/pull' })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KubeStatusError);
        const e = error as KubeStatusError;
        expect(e.code).toBe(404);
        expect(JSON.parse(e.body)).toEqual(body);
        expect(e.statusMessage).toBe('secrets "pull" not found');
        expect(e.message).toBe('GET /api/v1/namespaces/team/secrets/pull: HTTP 404: secrets "pull" not found');
        expect(e.name).toBe('KubeStatusError');
      });

      it('says the start of the body when it is not a Status', async () => {
        server.state.handler = (_req, res) => res.writeHead(502).end(`<html>bad gateway</html>${'x'.repeat(1000)}`);
        const error = (await client({ server: base })
          .json({ method: 'GET', path: '/x' })
          .catch((e: unknown) => e)) as KubeStatusError;
        expect(error.code).toBe(502);
        expect(error.statusMessage).toMatch(/^<html>bad gateway<\/html>x+$/);
        expect(error.statusMessage).toHaveLength(300);
      });

      it('keeps at most 64 KiB of an error body', async () => {
        server.state.handler = (_req, res) => res.writeHead(500).end('e'.repeat(200 * 1024));
        const error = (await client({ server: base })
          .json({ method: 'GET', path: '/x' })
          .catch((e: unknown) => e)) as KubeStatusError;
        expect(error.code).toBe(500);
        expect(error.body).toHaveLength(64 * 1024);
      });
    });

    describe('when the API server answers 401', () => {
      it('reads the credentials again and retries once with the new token', async () => {
        const token = tokenFileDeps('old');
        server.state.handler = (req, res) =>
          req.headers['authorization'] === 'Bearer new'
            ? json(res, 200, { ok: true })
            : json(res, 401, status(401, 'Unauthorized'));
        const kube = client(
          { server: base, credentials: { kind: 'tokenFile', path: '/token' } },
          { credentialDeps: token.deps },
        );
        await kube.json({ method: 'GET', path: '/warm-up' }).catch(() => undefined);
        expect(requests().map((r) => r.headers['authorization'])).toEqual(['Bearer old', 'Bearer old']);
        token.state.token = 'new';
        requests().length = 0;
        // The token is cached (the clock does not move), so only the 401 makes it read the file again.
        const readsBefore = token.state.reads;
        expect(await kube.json({ method: 'POST', path: '/x', body: { a: 1 } })).toEqual({ ok: true });
        expect(requests().map((r) => r.headers['authorization'])).toEqual(['Bearer old', 'Bearer new']);
        expect(requests()[1]!.body).toBe('{"a":1}');
        expect(token.state.reads).toBe(readsBefore + 1);
      });

      it('gives the retry what is left of the timeout, not a timeout of its own', async () => {
        const token = tokenFileDeps('old');
        // The 401 comes after 800 ms of a 1,000 ms timeout; the retry is never answered.
        server.state.handler = (req, res) => {
          if (req.headers['authorization'] === 'Bearer old') {
            token.state.token = 'new';
            setTimeout(() => json(res, 401, status(401, 'Unauthorized')), 800);
          }
        };
        const kube = client(
          { server: base, credentials: { kind: 'tokenFile', path: '/token' } },
          { credentialDeps: token.deps },
        );
        const started = Date.now();
        const error = await kube.json({ method: 'GET', path: '/slow', timeoutMs: 1000 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ name: 'TimeoutError' });
        expect(requests().map((r) => r.headers['authorization'])).toEqual(['Bearer old', 'Bearer new']);
        // A fresh timeout for the retry would end it at 1,800 ms.
        expect(Date.now() - started).toBeLessThan(1500);
      });

      it('retries only once, then throws the 401', async () => {
        const token = tokenFileDeps('bad');
        server.state.handler = (_req, res) => json(res, 401, status(401, 'Unauthorized'));
        const kube = client(
          { server: base, credentials: { kind: 'tokenFile', path: '/token' } },
          { credentialDeps: token.deps },
        );
        const error = await kube.json({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(KubeStatusError);
        expect((error as KubeStatusError).code).toBe(401);
        expect(requests()).toHaveLength(2);
        expect(token.state.reads).toBe(2);
      });
    });

    it('fails without a request when the credentials cannot be read', async () => {
      const deps: CredentialDeps = {
        ...tokenFileDeps('').deps,
        readFile: async () => {
          throw new Error('ENOENT');
        },
      };
      const kube = client(
        { server: base, credentials: { kind: 'tokenFile', path: '/gone' } },
        { credentialDeps: deps },
      );
      await expect(kube.json({ method: 'GET', path: '/x' })).rejects.toThrow('token file /gone: ENOENT');
      expect(requests()).toHaveLength(0);
    });

    it('gives up after timeoutMs', async () => {
      server.state.handler = () => undefined; // never answers
      const started = Date.now();
      const error = await client({ server: base })
        .json({ method: 'GET', path: '/slow', timeoutMs: 100 })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('stops when the caller’s signal aborts', async () => {
      server.state.handler = () => undefined; // never answers
      const controller = new AbortController();
      const answer = client({ server: base }).json({ method: 'GET', path: '/slow', signal: controller.signal });
      await waitFor(() => requests().length === 1);
      controller.abort();
      await expect(answer).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('fails on an answer that is not JSON', async () => {
      server.state.handler = (_req, res) => res.writeHead(200).end('<html>');
      await expect(client({ server: base }).json({ method: 'GET', path: '/x' })).rejects.toThrow(SyntaxError);
    });
  });

  describe('text()', () => {
    it('gives the answer as it is', async () => {
      server.state.handler = (_req, res) => res.writeHead(200).end('{"raw": true}');
      expect(await client({ server: base }).text({ method: 'GET', path: '/x' })).toBe('{"raw": true}');
    });

    it('gives an answer of exactly maxBytes', async () => {
      server.state.handler = (_req, res) => res.writeHead(200).end('é'.repeat(512));
      expect(await client({ server: base }).text({ method: 'GET', path: '/x', maxBytes: 1024 })).toBe('é'.repeat(512));
    });

    it('refuses an answer larger than maxBytes', async () => {
      server.state.handler = (_req, res) => res.writeHead(200).end('x'.repeat(1025));
      await expect(client({ server: base }).text({ method: 'GET', path: '/x', maxBytes: 1024 })).rejects.toThrow(
        'the answer is larger than 1024 bytes',
      );
    });

    it('refuses a large streamed answer without reading it all', async () => {
      let written = 0;
      server.state.handler = (_req, res) => {
        res.writeHead(200);
        const more = () => {
          while (written < 64 * 1024 * 1024) {
            written += 64 * 1024;
            if (!res.write('x'.repeat(64 * 1024))) return void res.once('drain', more);
          }
          res.end();
        };
        more();
      };
      await expect(client({ server: base }).text({ method: 'GET', path: '/x', maxBytes: 1000 })).rejects.toThrow(
        'the answer is larger than 1000 bytes',
      );
      expect(written).toBeLessThan(64 * 1024 * 1024);
    });
  });

  describe('watch()', () => {
    /** Answers 200 and writes `chunks` one by one, a little apart; ends the answer unless `keepOpen`. */
    const stream =
      (chunks: string[], keepOpen = false): Handler =>
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        void (async () => {
          for (const chunk of chunks) {
            await sleep(10);
            if (res.destroyed) return;
            res.write(chunk);
          }
          if (!keepOpen) res.end();
        })();
      };

    it('asks for a watch with bookmarks and a server timeout from the resourceVersion given', async () => {
      server.state.handler = stream([]);
      const w = watchRecorder();
      await client({ server: base, credentials: { kind: 'token', token: 'tok' } }).watch(
        '/api/v1/secrets',
        { resourceVersion: '1234', fieldSelector: 'type=kubernetes.io/dockerconfigjson' },
        w.callback,
        w.done,
      );
      await w.ended;
      const [req] = requests();
      expect(req!.method).toBe('GET');
      expect(req!.url.pathname).toBe('/api/v1/secrets');
      const q = req!.url.searchParams;
      expect(q.get('watch')).toBe('true');
      expect(q.get('allowWatchBookmarks')).toBe('true');
      expect(q.get('resourceVersion')).toBe('1234');
      expect(q.get('fieldSelector')).toBe('type=kubernetes.io/dockerconfigjson');
      const timeoutSeconds = Number(q.get('timeoutSeconds'));
      expect(timeoutSeconds).toBeGreaterThanOrEqual(300);
      expect(timeoutSeconds).toBeLessThan(600);
      expect(req!.headers['authorization']).toBe('Bearer tok');
    });

    it('keeps a timeoutSeconds the caller gives', async () => {
      server.state.handler = stream([]);
      const w = watchRecorder();
      await client({ server: base }).watch('/x', { timeoutSeconds: 7 }, w.callback, w.done);
      await w.ended;
      expect(requests()[0]!.url.searchParams.get('timeoutSeconds')).toBe('7');
    });

    it('parses events split across chunks, in order, and ends with done(null) when the server ends', async () => {
      const events =
        line('ADDED', pod('a', '1')) + '\n' + line('MODIFIED', pod('a', '2')) + line('DELETED', pod('a', '3'));
      server.state.handler = stream([
        events.slice(0, 17),
        events.slice(17, 60),
        events.slice(60, 61),
        events.slice(61),
      ]);
      const w = watchRecorder();
      await client({ server: base }).watch('/api/v1/pods', {}, w.callback, w.done);
      expect(await w.ended).toBeNull();
      expect(w.events.map((e) => [e.phase, e.object])).toEqual([
        ['ADDED', pod('a', '1')],
        ['MODIFIED', pod('a', '2')],
        ['DELETED', pod('a', '3')],
      ]);
      expect(w.events[0]!.event).toEqual({ type: 'ADDED', object: pod('a', '1') });
      await sleep(30);
      expect(w.doneCalls).toEqual([null]);
    });

    it('passes BOOKMARK and ERROR events on', async () => {
      const bookmark = { kind: 'Pod', metadata: { resourceVersion: '99' } };
      const gone = status(410, 'too old resource version', 'Expired');
      server.state.handler = stream([line('BOOKMARK', bookmark) + line('ERROR', gone)]);
      const w = watchRecorder();
      await client({ server: base }).watch('/api/v1/pods', {}, w.callback, w.done);
      await w.ended;
      expect(w.events.map((e) => [e.phase, e.object])).toEqual([
        ['BOOKMARK', bookmark],
        ['ERROR', gone],
      ]);
    });

    it('ends with a KubeStatusError when the answer is not 200, once', async () => {
      server.state.handler = (_req, res) => json(res, 410, status(410, 'too old resource version', 'Expired'));
      const w = watchRecorder();
      await client({ server: base }).watch('/api/v1/pods', { resourceVersion: '1' }, w.callback, w.done);
      // done() is called before watch() resolves when the watch could not open.
      expect(w.doneCalls).toHaveLength(1);
      const error = w.doneCalls[0] as KubeStatusError;
      expect(error).toBeInstanceOf(KubeStatusError);
      expect(error.code).toBe(410);
      expect(error.statusMessage).toBe('too old resource version');
      expect(error.message).toContain('WATCH /api/v1/pods: HTTP 410');
      await sleep(30);
      expect(w.doneCalls).toHaveLength(1);
      expect(w.events).toEqual([]);
    });

    it('ends with an error on a line that is not JSON, and delivers nothing after it', async () => {
      server.state.handler = stream(
        [line('ADDED', pod('a', '1')) + '{"type": "ADD\n' + line('ADDED', pod('b', '2'))],
        true,
      );
      const w = watchRecorder();
      await client({ server: base }).watch('/api/v1/pods', {}, w.callback, w.done);
      const error = await w.ended;
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('WATCH /api/v1/pods: the API server sent a line that is not JSON');
      expect(w.events.map((e) => e.phase)).toEqual(['ADDED']);
      await sleep(30);
      expect(w.doneCalls).toHaveLength(1);
    });

    it('ends with done(null) when the caller aborts, once, and closes the connection', async () => {
      let closed = false;
      server.state.handler = (req, res) => {
        res.on('close', () => (closed = true));
        stream([line('ADDED', pod('a', '1'))], true)(req, res, undefined as never);
      };
      const w = watchRecorder();
      const controller = await client({ server: base }).watch('/api/v1/pods', {}, w.callback, w.done);
      await waitFor(() => w.events.length === 1);
      expect(w.doneCalls).toEqual([]);
      controller.abort();
      expect(await w.ended).toBeNull();
      await waitFor(() => closed);
      await sleep(30);
      expect(w.doneCalls).toEqual([null]);
    });

    it('delivers no more events of a chunk once the caller aborts in a callback', async () => {
      server.state.handler = stream([line('ADDED', pod('a', '1')) + line('ADDED', pod('b', '1'))], true);
      const w = watchRecorder();
      const opened: { controller?: AbortController } = {};
      const watching = client({ server: base }).watch(
        '/api/v1/pods',
        {},
        (phase, object, event) => {
          w.callback(phase, object, event);
          opened.controller?.abort();
        },
        w.done,
      );
      opened.controller = await watching;
      expect(await w.ended).toBeNull();
      expect(w.events.map((e) => (e.object as ReturnType<typeof pod>).metadata.name)).toEqual(['a']);
    });

    it('ends with the error a callback throws, and delivers nothing after it', async () => {
      server.state.handler = stream([line('ADDED', pod('a', '1')) + line('ADDED', pod('b', '1'))], true);
      const w = watchRecorder();
      const bug = new Error('a handler bug');
      await client({ server: base }).watch(
        '/api/v1/pods',
        {},
        (phase, object, event) => {
          w.callback(phase, object, event);
          throw bug;
        },
        w.done,
      );
      expect(await w.ended).toBe(bug);
      expect(w.events).toHaveLength(1);
      await sleep(30);
      expect(w.doneCalls).toEqual([bug]);
    });

    it('ends with the error when the connection is cut mid-stream', async () => {
      server.state.handler = (req, res) => {
        stream([line('ADDED', pod('a', '1'))], true)(req, res, undefined as never);
        setTimeout(() => req.socket.destroy(), 50);
      };
      const w = watchRecorder();
      await client({ server: base }).watch('/api/v1/pods', {}, w.callback, w.done);
      const error = await w.ended;
      expect(error).toBeInstanceOf(Error);
      expect(w.events).toHaveLength(1);
      await sleep(30);
      expect(w.doneCalls).toHaveLength(1);
    });

    it('ends with the error when the server cannot be reached', async () => {
      const gone = await startServer(createHttpServer());
      await gone.close();
      const w = watchRecorder();
      await client({ server: `http://127.0.0.1:${gone.port}` }).watch('/api/v1/pods', {}, w.callback, w.done);
      expect(w.doneCalls).toHaveLength(1);
      expect(w.doneCalls[0]).toMatchObject({ code: 'ECONNREFUSED' });
    });

    it('ends with the error when the credentials cannot be read', async () => {
      const deps: CredentialDeps = {
        ...tokenFileDeps('').deps,
        readFile: async () => {
          throw new Error('ENOENT');
        },
      };
      const w = watchRecorder();
      await client({ server: base, credentials: { kind: 'tokenFile', path: '/gone' } }, { credentialDeps: deps }).watch(
        '/api/v1/pods',
        {},
        w.callback,
        w.done,
      );
      expect(w.doneCalls).toHaveLength(1);
      expect((w.doneCalls[0] as Error).message).toContain('token file /gone');
      expect(requests()).toHaveLength(0);
    });

    it('after a 401, reads the credentials again for the next request', async () => {
      const token = tokenFileDeps('old');
      server.state.handler = (req, res) =>
        req.headers['authorization'] === 'Bearer new' ? stream([])(req, res, undefined as never) : json(res, 401, {});
      const kube = client(
        { server: base, credentials: { kind: 'tokenFile', path: '/token' } },
        { credentialDeps: token.deps },
      );
      const first = watchRecorder();
      await kube.watch('/api/v1/pods', {}, first.callback, first.done);
      expect((first.doneCalls[0] as KubeStatusError).code).toBe(401);
      token.state.token = 'new';
      const second = watchRecorder();
      await kube.watch('/api/v1/pods', {}, second.callback, second.done);
      expect(await second.ended).toBeNull();
      expect(requests().map((r) => r.headers['authorization'])).toEqual(['Bearer old', 'Bearer new']);
    });
  });
});

describe('KubeClient over TLS', () => {
  let certs: ServingCertificates;
  let server: Awaited<ReturnType<typeof startServer>>;
  let named: { caPem: string; server: Awaited<ReturnType<typeof startServer>> };
  let clientCert: { certPem: string; keyPem: string };
  let otherCa: string;

  beforeAll(async () => {
    const now = new Date();
    certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now });
    server = await startServer(
      createHttpsServer({ cert: certs.certPem, key: certs.keyPem, requestCert: true, rejectUnauthorized: false }),
    );
    // A server whose certificate names only kubernetes.default, as an API server reached by IP may have.
    const ca = await createCertificateAuthority({ now, validityMs: 86_400_000 });
    const leaf = await issueServingCertificate({ ca, hosts: ['kubernetes.default'], now, validityMs: 86_400_000 });
    named = {
      caPem: ca.certPem,
      server: await startServer(createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem })),
    };
    clientCert = await issueServingCertificate({ ca, hosts: ['imprimatur'], now, validityMs: 86_400_000 });
    otherCa = (await createCertificateAuthority({ now, validityMs: 86_400_000 })).certPem;
  });
  afterAll(async () => {
    await server?.close();
    await named?.server.close();
  });
  beforeEach(() => {
    server.state.requests.length = 0;
    server.state.handler = (_req, res) => json(res, 200, { kind: 'Thing' });
  });

  const https = (port: number) => `https://127.0.0.1:${port}`;

  it('reaches a server whose certificate the CA signed', async () => {
    const kube = client({ server: https(server.port), ca: Buffer.from(certs.caPem) });
    expect(await kube.json({ method: 'GET', path: '/version' })).toEqual({ kind: 'Thing' });
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const kube = client({ server: https(server.port), ca: Buffer.from(otherCa) });
    await expect(kube.json({ method: 'GET', path: '/version' })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(server.state.requests).toHaveLength(0);
  });

  it('refuses a server it has no CA for', async () => {
    const kube = client({ server: https(server.port) });
    await expect(kube.json({ method: 'GET', path: '/version' })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    expect(server.state.requests).toHaveLength(0);
  });

  it('reaches any server with insecureSkipTlsVerify', async () => {
    const kube = client({ server: https(server.port), ca: Buffer.from(otherCa), insecureSkipTlsVerify: true });
    expect(await kube.json({ method: 'GET', path: '/version' })).toEqual({ kind: 'Thing' });
  });

  it('watches over TLS', async () => {
    server.state.handler = (_req, res) => res.writeHead(200).end(line('ADDED', pod('a', '1')));
    const w = watchRecorder();
    await client({ server: https(server.port), ca: Buffer.from(certs.caPem) }).watch('/p', {}, w.callback, w.done);
    expect(await w.ended).toBeNull();
    expect(w.events).toHaveLength(1);
  });

  it('refuses a watch when the CA does not match', async () => {
    const w = watchRecorder();
    await client({ server: https(server.port), ca: Buffer.from(otherCa) }).watch('/p', {}, w.callback, w.done);
    expect(await w.ended).toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(w.events).toHaveLength(0);
    expect(server.state.requests).toHaveLength(0);
  });

  it('checks the certificate against tls-server-name when it is given', async () => {
    const target = { server: https(named.server.port), ca: Buffer.from(named.caPem) };
    await expect(client(target).json({ method: 'GET', path: '/version' })).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    await expect(
      client({ ...target, tlsServerName: 'other.example' }).json({ method: 'GET', path: '/version' }),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(
      await client({ ...target, tlsServerName: 'kubernetes.default' }).json({ method: 'GET', path: '/version' }),
    ).toEqual({});
  });

  it('goes through the proxy-url, tunnelling TLS to the server', async () => {
    const tunnels: string[] = [];
    const sockets = new Set<Duplex>();
    const proxy = createHttpServer();
    proxy.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      tunnels.push(req.url!);
      const [host, port] = req.url!.split(':');
      const upstream = netConnect(Number(port), host, () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const kube = new KubeClient({
      server: https(server.port),
      ca: Buffer.from(certs.caPem),
      proxyUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      insecureSkipTlsVerify: false,
      credentials: { kind: 'token', token: 'through' },
      source: 'test',
    });
    try {
      expect(await kube.json({ method: 'GET', path: '/version' })).toEqual({ kind: 'Thing' });
      expect(tunnels).toEqual([`127.0.0.1:${server.port}`]);
      expect(server.state.requests[0]!.headers['authorization']).toBe('Bearer through');
    } finally {
      await kube.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('presents the client certificate', async () => {
    const kube = client({
      server: https(server.port),
      ca: Buffer.from(certs.caPem),
      clientCert: Buffer.from(clientCert.certPem),
      clientKey: Buffer.from(clientCert.keyPem),
    });
    await kube.json({ method: 'GET', path: '/version' });
    await client({ server: https(server.port), ca: Buffer.from(certs.caPem) }).json({ method: 'GET', path: '/v' });
    expect(server.state.requests[0]!.clientCertificate).toBe(new X509Certificate(clientCert.certPem).fingerprint256);
    expect(server.state.requests[1]!.clientCertificate).toBeUndefined();
  });
});
