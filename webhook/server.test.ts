import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  connect as connectHttp2,
  constants,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type Settings,
} from 'node:http2';
import type { ClientRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';
import { createLogger, createSilentLogger } from '../pkg/log/index.js';
import { createServingCertificates, type ServingCertificates } from '../pkg/tls/index.js';
import type { AdmissionRequest } from './admission-review.js';
import { allowed, type AdmissionResponse } from './responses.js';
import {
  HTTP2_SETTINGS,
  MAX_BODY_BYTES,
  startWebhookServer,
  type RunningServer,
  type WebhookServerOptions,
} from './server.js';

const REVIEW = readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8');
const UID = '1b81967d-876a-4d61-bbad-b6a53cc06722';
const reviewWithUid = (uid: string) => REVIEW.replace(UID, uid);

/** Short timeouts for the tests that wait for one; headersMs must not exceed requestMs (Node checks). */
const SHORT = { headersMs: 200, requestMs: 300, sessionIdleMs: 300 };
/** libuv's clock counts whole milliseconds, so a timer may fire a little before performance.now() says it is due. */
const EARLY = 5;

let certs: ServingCertificates;
const started: RunningServer[] = [];

beforeAll(async () => {
  certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
});

afterAll(() => Promise.all(started.map((s) => s.close())));

async function serve(options: Partial<WebhookServerOptions> = {}): Promise<RunningServer> {
  const server = await startWebhookServer({
    tls: certs,
    host: '127.0.0.1',
    port: 0,
    log: createSilentLogger(),
    isReady: () => true,
    mutate: (req) => allowed(req.uid),
    ...options,
  });
  started.push(server);
  return server;
}

/** A logger whose records the test can read. */
function capturingLogger() {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger({ level: 'debug', stream }), records };
}

interface Sent {
  method?: string;
  body?: string | Buffer;
  type?: string;
  /** false: send the body without a content-length (HTTP/1.1 chunked; HTTP/2 has no need of one). */
  declare?: boolean;
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

interface Client {
  send(path: string, sent?: Sent): Promise<Answer>;
  /** Sends the headers and then one byte every intervalMs, never finishing the body; resolves with the answer. */
  trickle(path: string, intervalMs: number): Promise<Answer>;
  /** Sends the headers and all of the body but its end, lets the server read it, then drops the connection. */
  abandon(path: string, body: string): Promise<void>;
  close(): void;
}

/** HTTP/1.1 over TLS, offering only http/1.1 through ALPN, on one keep-alive connection. */
function http1Client(port: number): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: certs.caPem, ALPNProtocols: ['http/1.1'] });
  const open = (path: string, method: string, headers: Record<string, string | number>) => {
    let req!: ClientRequest;
    const answer = new Promise<Answer>((resolve, reject) => {
      req = request({ host: '127.0.0.1', port, path, method, agent, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      });
      req.on('error', reject);
    });
    return { req, answer };
  };
  return {
    send(path, sent = {}) {
      const { req, answer } = open(path, sent.method ?? 'POST', { 'content-type': sent.type ?? 'application/json' });
      if (sent.declare === false && sent.body !== undefined) req.write(sent.body);
      req.end(sent.declare === false ? undefined : sent.body);
      return answer;
    },
    trickle(path, intervalMs) {
      const { req, answer } = open(path, 'POST', { 'content-type': 'application/json', 'content-length': 1_000_000 });
      req.flushHeaders();
      const timer = setInterval(() => req.write('x'), intervalMs);
      req.on('response', () => clearInterval(timer));
      req.on('close', () => clearInterval(timer));
      return answer;
    },
    async abandon(path, body) {
      const length = Buffer.byteLength(body) + 1;
      const { req, answer } = open(path, 'POST', { 'content-type': 'application/json', 'content-length': length });
      answer.catch(() => {});
      req.write(body);
      await delay(50);
      req.destroy();
    },
    close: () => agent.destroy(),
  };
}

/** HTTP/2 over TLS, offering h2 through ALPN, every request a stream of one session. */
function http2Client(port: number): Client {
  let session: ClientHttp2Session | undefined;
  const connect = () => {
    if (!session || session.closed || session.destroyed) {
      session = connectHttp2(`https://127.0.0.1:${port}`, { ca: certs.caPem });
      session.on('error', () => {});
    }
    return session;
  };
  const open = (path: string, method: string, headers: Record<string, string | number>) => {
    const stream = connect().request({ ':method': method, ':path': path, ...headers });
    const answer = new Promise<Answer>((resolve, reject) => {
      let response: IncomingHttpHeaders = {};
      let body = '';
      stream.on('response', (h) => (response = h));
      stream.on('data', (d: Buffer) => (body += d.toString()));
      stream.on('end', () => {
        if (response[':status'] === undefined) reject(new Error('the stream ended without a response'));
        else resolve({ status: Number(response[':status']), body, headers: response });
      });
      stream.on('error', reject);
    });
    return { stream, answer };
  };
  return {
    send(path, sent = {}) {
      const headers: Record<string, string | number> = { 'content-type': sent.type ?? 'application/json' };
      if (sent.declare === true && sent.body !== undefined) headers['content-length'] = Buffer.byteLength(sent.body);
      const { stream, answer } = open(path, sent.method ?? 'POST', headers);
      stream.end(sent.body);
      return answer;
    },
    trickle(path, intervalMs) {
      const { stream, answer } = open(path, 'POST', { 'content-type': 'application/json' });
      const timer = setInterval(() => stream.write('x'), intervalMs);
      stream.on('response', () => clearInterval(timer));
      stream.on('close', () => clearInterval(timer));
      return answer;
    },
    async abandon(path, body) {
      const { stream, answer } = open(path, 'POST', { 'content-type': 'application/json' });
      answer.catch(() => {});
      stream.write(body);
      await delay(50);
      // Not stream.close() nor destroy(): Node's client flushes END_STREAM (a complete request) before the
      // RST_STREAM. Dropping the connection is what leaves the request unfinished.
      stream.session?.destroy();
    },
    close: () => session?.close(),
  };
}

const PROTOCOLS = [
  ['HTTP/1.1', http1Client],
  ['HTTP/2', http2Client],
] as const;

describe.each(PROTOCOLS)('the webhook server over %s', (_protocol, clientFor) => {
  let server: RunningServer;
  let client: Client;
  let ready = false;
  const seen: string[] = [];
  const policies: string[] = [];
  const logged = capturingLogger();

  beforeAll(async () => {
    server = await serve({
      log: logged.log,
      isReady: () => ready,
      mutate: (req: AdmissionRequest, failurePolicy?: string): AdmissionResponse | Promise<AdmissionResponse> => {
        seen.push(req.uid);
        policies.push(failurePolicy ?? 'all');
        if (req.uid === 'throws') throw new Error('the handler threw');
        if (req.uid === 'rejects') return delay(5).then(() => Promise.reject(new Error('the handler rejected')));
        if (req.uid === 'async') return delay(5).then(() => allowed(req.uid));
        return allowed(req.uid);
      },
    });
    client = clientFor(server.port);
  });

  afterAll(() => client.close());

  describe('when it receives an AdmissionReview on a failure policy’s path', () => {
    it.each([
      ['/mutate/fail', 'Fail'],
      ['/mutate/ignore', 'Ignore'],
      ['/mutate', 'all'],
    ])('hands %s to the handler as that webhook’s (%s)', async (path, expected) => {
      policies.length = 0;
      expect((await client.send(path, { body: REVIEW })).status).toBe(200);
      expect(policies).toEqual([expected]);
    });

    it('answers 404 for any other path under /mutate', async () => {
      expect((await client.send('/mutate/other', { body: REVIEW })).status).toBe(404);
    });
  });

  describe('when it receives an AdmissionReview on /mutate', () => {
    it('answers with a review for the same uid, over TLS from its own CA', async () => {
      const res = await client.send('/mutate', { body: REVIEW });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json');
      expect(JSON.parse(res.body)).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: UID, allowed: true },
      });
      expect(seen).toContain(UID);
    });

    it('awaits a handler that answers later', async () => {
      const res = await client.send('/mutate', { body: reviewWithUid('async') });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ response: { uid: 'async', allowed: true } });
    });
  });

  describe('when the handler fails', () => {
    it.each([
      ['throws', 'the handler threw'],
      ['rejects', 'the handler rejected'],
    ])('answers 500 when it %s, logs the error and serves on', async (uid, error) => {
      const res = await client.send('/mutate', { body: reviewWithUid(uid) });
      expect(res.status).toBe(500);
      expect(res.body).toBe('internal error\n');
      expect(logged.records).toContainEqual(
        expect.objectContaining({ level: 'error', message: 'admission handler failed', error }),
      );
      expect((await client.send('/mutate', { body: REVIEW })).status).toBe(200);
    });
  });

  describe('when the client goes away before the end of its request', () => {
    it('does not admit the part it received, nor log an error', async () => {
      const errors = logged.records.filter((r) => r.level === 'error').length;
      await client.abandon('/mutate', reviewWithUid('abandoned'));
      expect((await client.send('/mutate', { body: REVIEW })).status).toBe(200);
      expect(seen).toContain(UID);
      expect(seen).not.toContain('abandoned');
      expect(logged.records.filter((r) => r.level === 'error')).toHaveLength(errors);
    });
  });

  describe('when the request is not an AdmissionReview', () => {
    it.each([
      ['invalid JSON', { body: '{' }, 400, 'the body is not valid JSON'],
      ['another content type', { body: REVIEW, type: 'text/plain' }, 400, 'is not application/json'],
      ['an empty body', { body: '' }, 400, 'request body is empty'],
      [
        'a review of another version',
        { body: REVIEW.replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1') },
        400,
        'apiVersion',
      ],
      ['GET', { method: 'GET' }, 405, 'use POST'],
    ] as const)('answers %s with a clear error', async (_what, sent, status, message) => {
      const res = await client.send('/mutate', sent);
      expect(res.status).toBe(status);
      expect(res.body).toContain(message);
    });

    it.each([
      ['declared in content-length', true, 'request body of 7340033 bytes exceeds the limit'],
      ['counted as it arrives', false, 'request body exceeds the limit'],
    ])('refuses a body over the limit, %s, with 413', async (_how, declare, message) => {
      const before = seen.length;
      const res = await client.send('/mutate', { body: Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), declare });
      expect(res.status).toBe(413);
      expect(res.body).toContain(message);
      expect(seen.length).toBe(before);
      expect((await client.send('/mutate', { body: REVIEW })).status).toBe(200);
    });

    it('takes a body of exactly the limit', async () => {
      const body = REVIEW.padEnd(MAX_BODY_BYTES, ' ');
      expect((await client.send('/mutate', { body, declare: false })).status).toBe(200);
    });

    it('answers unknown paths with 404', async () => {
      expect((await client.send('/validate', { body: REVIEW })).status).toBe(404);
      expect((await client.send('/mutatex?x=1', { body: REVIEW })).status).toBe(404);
      expect((await client.send('/mutate?timeout=10s', { body: REVIEW })).status).toBe(200);
    });
  });

  describe('health', () => {
    it('is healthy at once and ready only once the cache is warm', async () => {
      ready = false;
      expect((await client.send('/healthz', { method: 'GET' })).status).toBe(200);
      const notReady = await client.send('/readyz', { method: 'GET' });
      expect(notReady.status).toBe(503);
      expect(notReady.body).toContain('not warm');
      ready = true;
      expect((await client.send('/readyz', { method: 'GET' })).status).toBe(200);
      expect((await client.send('/readyz', { method: 'HEAD' })).status).toBe(200);
      expect((await client.send('/readyz', { method: 'POST' })).status).toBe(405);
    });

    it('answers HEAD with the headers alone', async () => {
      const head = await client.send('/healthz', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('3');
      expect(head.body).toBe('');
    });
  });
});

describe('protocol negotiation', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await serve();
  });

  it.each([
    [['h2', 'http/1.1'], 'h2'],
    [['http/1.1', 'h2'], 'h2'],
    [['http/1.1'], 'http/1.1'],
    [[], false],
  ] as const)('answers an ALPN offer of %j with %j', async (offer, chosen) => {
    const socket = connectTls({ host: '127.0.0.1', port: server.port, ca: certs.caPem, ALPNProtocols: [...offer] });
    try {
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      expect(socket.alpnProtocol).toBe(chosen);
    } finally {
      socket.destroy();
    }
  });

  it('serves HTTP/1.1 to a client that offers no ALPN at all', async () => {
    const agent = new Agent({ ca: certs.caPem });
    try {
      const status = await new Promise<number>((resolve, reject) =>
        request({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on('error', reject)
          .end(),
      );
      expect(status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('announces its stream and header limits in the HTTP/2 SETTINGS', async () => {
    const session = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certs.caPem });
    try {
      const settings = await new Promise<Settings>((resolve) => session.once('remoteSettings', resolve));
      expect(session.alpnProtocol).toBe('h2');
      expect(settings.maxConcurrentStreams).toBe(100);
      expect(settings.maxHeaderListSize).toBe(16 * 1024);
      expect(settings).toMatchObject(HTTP2_SETTINGS);
    } finally {
      session.close();
    }
  });
});

describe('the timeouts', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await serve({ timeouts: SHORT });
  });

  describe.each(PROTOCOLS)('over %s', (_protocol, clientFor) => {
    it('cut off a body trickled a byte at a time with 408', async () => {
      const client = clientFor(server.port);
      try {
        const start = performance.now();
        const res = await client.trickle('/mutate', 20);
        expect(res.status).toBe(408);
        expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT.requestMs - EARLY);
      } finally {
        client.close();
      }
    });
  });

  it('close an HTTP/1.1 connection whose headers never finish', async () => {
    const start = performance.now();
    const socket = connectTls({ host: '127.0.0.1', port: server.port, ca: certs.caPem, ALPNProtocols: ['http/1.1'] });
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    await new Promise<void>((resolve) => socket.once('secureConnect', resolve));
    socket.write('POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT.headersMs - EARLY);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('reset HTTP/2 streams that never send their body, then close the idle session', async () => {
    const session = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certs.caPem });
    session.on('error', () => {});
    const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
    const sessionClosed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const start = performance.now();
    const streams = Array.from({ length: 20 }, () => {
      const stream = session.request({ ':method': 'POST', ':path': '/mutate', 'content-type': 'application/json' });
      return new Promise<{ status: number; elapsed: number }>((resolve) => {
        let status = 0;
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('error', () => {});
        stream.resume();
        stream.on('close', () => resolve({ status, elapsed: performance.now() - start }));
      });
    });
    const closed = await Promise.all(streams);
    for (const { status, elapsed } of closed) {
      expect(status).toBe(408);
      expect(elapsed).toBeGreaterThanOrEqual(SHORT.requestMs - EARLY);
    }
    expect(await goaway).toBe(constants.NGHTTP2_NO_ERROR);
    await sessionClosed;
    expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT.requestMs + SHORT.sessionIdleMs - EARLY);
  });

  it('reset an HTTP/2 stream whose client does not read the response', async () => {
    // Far more than the stream's 64 KiB flow-control window, which a client that reads nothing never reopens.
    const big = await serve({ timeouts: SHORT, mutate: (req) => allowed(req.uid, ['w'.repeat(512 * 1024)]) });
    const session = connectHttp2(`https://127.0.0.1:${big.port}`, { ca: certs.caPem });
    session.on('error', () => {});
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/mutate', 'content-type': 'application/json' });
      stream.on('error', () => {});
      stream.pause();
      let status = 0;
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.end(REVIEW);
      const start = performance.now();
      await new Promise<void>((resolve) => stream.once('close', () => resolve()));
      expect(status).toBe(200);
      expect(stream.rstCode).toBe(constants.NGHTTP2_CANCEL);
      expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT.requestMs - EARLY);
    } finally {
      session.destroy();
    }
  });

  it('close an HTTP/2 session that opens no stream, however often it pings', async () => {
    const start = performance.now();
    const session = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certs.caPem });
    session.on('error', () => {});
    const pings = setInterval(() => session.ping(() => {}), 20);
    try {
      const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
      await new Promise<void>((resolve) => session.once('close', () => resolve()));
      expect(performance.now() - start).toBeGreaterThanOrEqual(SHORT.sessionIdleMs - EARLY);
      expect(await goaway).toBe(constants.NGHTTP2_NO_ERROR);
    } finally {
      clearInterval(pings);
    }
  });
});

describe.each(PROTOCOLS)('closing the server over %s', (_protocol, clientFor) => {
  it('waits for an admission in flight, answers it, then resolves', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    // keepAliveMs stays at its default (5 s): close() must not wait for an idle keep-alive connection either.
    const server = await serve({
      mutate: async (req) => {
        entered();
        await released;
        return allowed(req.uid);
      },
    });
    const client = clientFor(server.port);
    try {
      const answer = client.send('/mutate', { body: REVIEW });
      await inHandler;
      let closed = false;
      const closing = server.close().then(() => (closed = true));
      await delay(100);
      expect(closed).toBe(false);
      release();
      const res = await answer;
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ response: { uid: UID, allowed: true } });
      const start = performance.now();
      await closing;
      expect(performance.now() - start).toBeLessThan(1_000);
    } finally {
      release();
      client.close();
    }
  });

  it('cuts what is still in flight after the grace period', async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((resolve) => (entered = resolve));
    const server = await serve({
      timeouts: { closeGraceMs: 200 },
      mutate: () => {
        entered();
        return new Promise(() => {});
      },
    });
    const client = clientFor(server.port);
    try {
      const answer = client.send('/mutate', { body: REVIEW }).then(
        (res) => res.status,
        () => 'cut',
      );
      await inHandler;
      const start = performance.now();
      await server.close();
      expect(performance.now() - start).toBeGreaterThanOrEqual(200 - EARLY);
      expect(await answer).toBe('cut');
    } finally {
      client.close();
    }
  });
});

describe('changing the serving certificate', () => {
  /** The certificate a new TLS connection is served, as its SHA-256 fingerprint; the handshake must verify by `ca`. */
  async function servedFingerprint(port: number, ca: string): Promise<string> {
    const socket = connectTls({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    try {
      await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
      return socket.getPeerX509Certificate()!.fingerprint256;
    } finally {
      socket.destroy();
    }
  }

  it('serves the new certificate to new connections, while an open HTTP/2 session keeps working', async () => {
    const server = await serve();
    const next = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
    const open = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certs.caPem });
    try {
      await new Promise<void>((resolve, reject) => open.once('connect', () => resolve()).once('error', reject));
      expect(server.setTls(next)).toEqual({ ok: true, value: undefined });

      expect(await servedFingerprint(server.port, next.caPem)).toBe(new X509Certificate(next.certPem).fingerprint256);
      // The old CA no longer verifies what new connections are served.
      await expect(servedFingerprint(server.port, certs.caPem)).rejects.toThrow();
      // The session opened before the change still answers.
      const status = await new Promise<number>((resolve, reject) => {
        const stream = open.request({ ':path': '/healthz' });
        stream.once('response', (headers: IncomingHttpHeaders) => resolve(Number(headers[':status'])));
        stream.once('error', reject);
        stream.resume();
        stream.end();
      });
      expect(status).toBe(200);
    } finally {
      open.close();
    }
  });

  it('refuses a key that is not the certificate’s, naming why, and keeps serving the old one', async () => {
    const server = await serve();
    const other = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
    const set = server.setTls({ certPem: other.certPem, keyPem: certs.keyPem });
    expect(set).toEqual({ ok: false, error: expect.stringContaining('the serving certificate cannot be used') });
    expect(await servedFingerprint(server.port, certs.caPem)).toBeDefined();
  });

  it('fails every handshake until it is given a certificate, then serves it', async () => {
    const server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      log: createSilentLogger(),
      isReady: () => true,
      mutate: (req) => allowed(req.uid),
    });
    started.push(server);
    await expect(servedFingerprint(server.port, certs.caPem)).rejects.toThrow();
    server.setTls(certs);
    expect(await servedFingerprint(server.port, certs.caPem)).toBeDefined();
  });
});
