// The HTTPS admission server. kube-apiserver offers h2 through ALPN, so this is node:http2's secure server with
// allowHTTP1: HTTP/2 (through the core API's streams) and HTTP/1.1 (through node:http's request and response) on one
// TLS port. It serves /mutate and /validate, each also per failure policy
// (/mutate/fail, /validate/ignore, ...), and the health probes. Request bodies are bounded (7 MiB, as
// controller-runtime's http.go: two 3 MiB objects plus envelope) and must be JSON; a request that is not an
// AdmissionReview gets 400 with the reason, never a crash.
//
// No client holds a resource for ever (see WebhookTimeouts for the values):
// - every request must arrive whole within requestMs of its headers, or it gets 408 and its HTTP/2 stream is reset
//   or its HTTP/1.1 connection closed; this also covers a slow body trickled byte by byte, in both protocols;
// - HTTP/1.1 headers must arrive within headersMs, TLS handshakes too; an idle keep-alive connection is closed
//   after keepAliveMs;
// - HTTP/2: at most HTTP2_SETTINGS.maxConcurrentStreams streams per session; once a response is sent, the rest of
//   an unfinished upload is reset (RFC 9113 §8.1); a response the client does not read is reset after requestMs
//   without traffic; a session with no open stream for sessionIdleMs gets GOAWAY, whatever PINGs it sends;
// - close() lets in-flight admissions finish, then stops; connections still open after closeGraceMs are cut.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type SecureServerOptions,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type Settings,
} from 'node:http2';
import type { Socket } from 'node:net';
import { errorFields, type Logger } from '../pkg/log/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { quoteText } from '../pkg/text/index.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { sendBody, sendText, serveHealth, type BodyResponse } from './health.js';
import { toReview, type AdmissionResponse } from './responses.js';

export const MAX_BODY_BYTES = 7 * 1024 * 1024;

/** TLS 1.2 and 1.3 only, as Kubernetes' own servers default to. */
const TLS_MIN_VERSION = 'TLSv1.2';

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebhookTimeouts {
  /** HTTP/1.1 request headers, and any TLS handshake, must arrive within this. */
  readonly headersMs: number;
  /** A whole request (headers and body) must arrive within this, in either protocol. */
  readonly requestMs: number;
  /** HTTP/1.1: a keep-alive connection with no request is closed after this. */
  readonly keepAliveMs: number;
  /** HTTP/2: a session with no open stream is sent GOAWAY after this. */
  readonly sessionIdleMs: number;
  /** close(): how long in-flight requests may run before the connections left are cut. */
  readonly closeGraceMs: number;
}

export const DEFAULT_TIMEOUTS: WebhookTimeouts = {
  headersMs: 20_000,
  requestMs: 60_000,
  // Node's default. An HTTP/1.1 keep-alive close races the client's next request, which is not retried (POST).
  keepAliveMs: 5_000,
  // GOAWAY is graceful (the client learns which streams were not processed and retries them), so an HTTP/2
  // session may stay up longer and spare kube-apiserver TLS handshakes between bursts of admissions.
  sessionIdleMs: 30_000,
  // kube-apiserver gives up on a webhook call after at most 30 s (timeoutSeconds), so nobody waits longer.
  closeGraceMs: 30_000,
};

/** The SETTINGS the server sends on every HTTP/2 session. */
export const HTTP2_SETTINGS: Readonly<Settings> = {
  // RFC 9113 §6.5.2 recommends at least 100; Node's default is 2^32-1, i.e. no limit at all.
  maxConcurrentStreams: 100,
  // The HTTP/1.1 parser's default limit (16 KiB); kube-apiserver sends a handful of short headers.
  maxHeaderListSize: 16 * 1024,
};

export interface WebhookServerOptions {
  /**
   * The serving certificate. Without it the server listens but fails every TLS handshake until setTls() gives one:
   * the operator registers the webhook only once there is a certificate to serve.
   */
  readonly tls?: TlsMaterial;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly isReady: () => boolean;
  /**
   * Decides one admission. `failurePolicy` is the webhook's, from its path (/mutate/fail, /mutate/ignore): that
   * webhook answers for the policies of that failure policy only, as Kyverno's do; /mutate answers for all.
   */
  readonly mutate: (
    request: AdmissionRequest,
    failurePolicy?: 'Fail' | 'Ignore',
  ) => AdmissionResponse | Promise<AdmissionResponse>;
  /**
   * Validates one admission, after every mutating webhook: /validate, /validate/fail and /validate/ignore, with the
   * failure policy as for `mutate`. Without it those paths are not served (404).
   */
  readonly validate?: (
    request: AdmissionRequest,
    failurePolicy?: 'Fail' | 'Ignore',
  ) => AdmissionResponse | Promise<AdmissionResponse>;
  /** Defaults to DEFAULT_TIMEOUTS; tests shorten them. */
  readonly timeouts?: Partial<WebhookTimeouts>;
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /**
   * Serves `tls` from the next TLS handshake on; connections already open keep the certificate they were opened
   * with, so a rotation drops nothing. Material Node cannot use is refused with the reason, and the old is kept.
   */
  setTls(tls: TlsMaterial): Result<void, string>;
  close(): Promise<void>;
}

/**
 * One request and its response, told apart by protocol: HTTP/1.1 through node:http's classes, HTTP/2 as the core
 * API's stream and its headers. Not the HTTP/2 compat API: its responses always ask for trailers, so the end of every
 * answer waits for another turn of the event loop and goes out as a frame of its own, which kube-apiserver waited on
 * (half a millisecond a call, a third of a bare webhook's time on this machine).
 */
type Exchange =
  | { readonly h2: true; readonly stream: ServerHttp2Stream; readonly headers: IncomingHttpHeaders }
  | { readonly h2: false; readonly req: IncomingMessage; readonly res: ServerResponse };

/** The HTTP/1.1 options Node reads from createSecureServer's options when allowHTTP1 is set (not in its types). */
interface Http1ServerOptions {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionsCheckingInterval: number;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningServer> {
  const { log } = options;
  const t: WebhookTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const serverOptions: SecureServerOptions & Http1ServerOptions = {
    ...(options.tls ? { cert: options.tls.certPem, key: options.tls.keyPem } : {}),
    minVersion: TLS_MIN_VERSION,
    allowHTTP1: true,
    handshakeTimeout: t.headersMs,
    settings: HTTP2_SETTINGS,
    // HTTP/1.1, enforced by Node. Its check runs every connectionsCheckingInterval (30 s by default, which would
    // let a 20 s headers timeout run to 50 s).
    headersTimeout: t.headersMs,
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(t.headersMs / 4))),
  };
  const server: Http2SecureServer = createSecureServer(serverOptions);

  const sockets = new Set<Socket>();
  const h1Responses = new Set<ServerResponse>();
  let closing = false;

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => closeWhenIdle(session, t.sessionIdleMs, log));
  server.on('sessionError', (e: Error) => log.debug('HTTP/2 session failed', errorFields(e)));
  server.on('tlsClientError', (e: Error) => log.debug('TLS handshake failed', errorFields(e)));
  const serve = (ex: Exchange) => {
    guard(ex, t, log);
    handle(ex, options)
      .catch((e: unknown) => {
        log.error('admission handler failed', errorFields(e));
        if (!headersSent(ex)) sendText(replyOf(ex), 500, 'internal error\n');
        else if (ex.h2) ex.stream.destroy();
        else ex.res.destroy();
      })
      .finally(() => {
        // The response is written: an HTTP/2 client that does not read it must not keep its stream open.
        if (ex.h2 && !ex.stream.closed) {
          const { stream } = ex;
          stream.setTimeout(t.requestMs, () => stream.close(constants.NGHTTP2_CANCEL));
        }
      });
  };
  // node:http2 starts its compat API for HTTP/2 streams when a 'request' listener is added. Here 'request' is
  // HTTP/1.1 only (allowHTTP1), and HTTP/2 streams go to the 'stream' listener alone.
  for (const listener of server.listeners('newListener')) {
    if (listener.name === 'setupCompat') server.removeListener('newListener', listener as (...args: unknown[]) => void);
  }
  const onHttp1 = (req: IncomingMessage, res: ServerResponse) => {
    h1Responses.add(res);
    res.once('close', () => h1Responses.delete(res));
    // A keep-alive connection would outlive close() by keepAliveMs.
    if (closing) res.setHeader('connection', 'close');
    serve({ h2: false, req, res });
  };
  server.on('request', onHttp1 as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    // A stream reset or written to after its end emits 'error'; without a listener that would end the process.
    stream.on('error', (e: Error) => log.debug('HTTP/2 stream failed', errorFields(e)));
    serve({ h2: true, stream, headers });
  });
  if (server.listenerCount('stream') !== 1) {
    throw new Error('node:http2 serves HTTP/2 streams through its compat API too: this Node.js is not supported');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info('webhook server listening', { host: options.host, port, protocols: ['h2', 'http/1.1'] });

  let closed: Promise<void> | undefined;
  return {
    port,
    setTls: (tls) => {
      try {
        server.setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: TLS_MIN_VERSION });
        return ok(undefined);
      } catch (e) {
        return err(`the serving certificate cannot be used: ${(e as Error).message}`);
      }
    },
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const res of h1Responses) if (!res.headersSent) res.setHeader('connection', 'close');
        const cut = setTimeout(() => {
          log.warn('webhook server: requests still in flight after the grace period; cutting connections', {
            connections: sockets.size,
          });
          for (const socket of sockets) socket.destroy();
        }, t.closeGraceMs);
        // Stops listening, closes idle HTTP/1.1 connections and sends GOAWAY on every HTTP/2 session; each
        // connection ends once its in-flight requests are answered.
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
      })),
  };
}

/** The request's method (HTTP/2: the :method pseudo-header). */
function methodOf(ex: Exchange): string {
  return (ex.h2 ? headerOf(ex, ':method') : ex.req.method) ?? '';
}

/** The request's target, query included (HTTP/2: the :path pseudo-header, absent only for CONNECT). */
function urlOf(ex: Exchange): string {
  return (ex.h2 ? headerOf(ex, ':path') : ex.req.url) ?? '';
}

function headerOf(ex: Exchange, name: string): string | undefined {
  const value = (ex.h2 ? ex.headers : ex.req.headers)[name];
  return Array.isArray(value) ? value[0] : value;
}

function headersSent(ex: Exchange): boolean {
  return ex.h2 ? ex.stream.headersSent : ex.res.headersSent;
}

/**
 * Where the answer is written. An HTTP/2 stream that is already closed, or answered, takes nothing more (the compat
 * API's responses were as forgiving); a HEAD request gets the headers alone.
 */
function replyOf(ex: Exchange): BodyResponse {
  if (!ex.h2) return ex.res;
  const { stream } = ex;
  const head = ex.headers[':method'] === 'HEAD';
  const open = () => !stream.destroyed && !stream.closed;
  return {
    writeHead: (code, headers) => {
      if (open() && !stream.headersSent) stream.respond({ ...headers, ':status': code }, { endStream: head });
    },
    end: (body) => {
      if (open() && !stream.writableEnded) stream.end(head ? undefined : body);
    },
  };
}

/** Bounds how long a request may take to arrive, and (HTTP/2) how long the client may keep uploading. */
function guard(ex: Exchange, t: WebhookTimeouts, log: Logger): void {
  const deadline = setTimeout(() => {
    if (gone(ex) || received(ex)) return;
    log.debug('request not received in time', { path: urlOf(ex), limitMs: t.requestMs, http2: ex.h2 });
    if (!headersSent(ex)) {
      // HTTP/1.1: the connection closes after the 408; HTTP/2: the stream is reset once it is sent (below).
      if (!ex.h2) ex.res.setHeader('connection', 'close');
      sendText(replyOf(ex), 408, `the request was not received within ${t.requestMs} ms\n`);
    } else if (ex.h2) ex.stream.close(constants.NGHTTP2_CANCEL);
    else ex.req.socket.destroy();
  }, t.requestMs);
  deadline.unref();
  // HTTP/1.1: once the request is read to its end or its connection is gone. HTTP/2: once the stream closes.
  (ex.h2 ? ex.stream : ex.req).once('close', () => clearTimeout(deadline));

  if (ex.h2) {
    const { stream } = ex;
    // After a complete response, reset a request the client is still sending (e.g. after a 413 or a 408) with
    // NO_ERROR, as RFC 9113 §8.1 allows, rather than read the rest. setImmediate lets the response flush first.
    stream.once('finish', () => {
      if (received(ex)) return;
      setImmediate(() => {
        if (!stream.closed && !stream.destroyed && !received(ex)) stream.close(constants.NGHTTP2_NO_ERROR);
      });
    });
  }
}

/**
 * The whole request has arrived: HTTP/1.1, its body to the end; HTTP/2, the stream's readable side ended, and not
 * because the stream was reset or its connection cut, which end it too (nghttp2's remoteClose is no help: it still
 * reads 0 when the client's END_STREAM has been read).
 */
function received(ex: Exchange): boolean {
  return ex.h2 ? ex.stream.readableEnded && !ex.stream.aborted : ex.req.complete;
}

function gone(ex: Exchange): boolean {
  return ex.h2 ? ex.stream.closed || ex.stream.destroyed : ex.req.socket.destroyed;
}

/** Sends GOAWAY on a session that has had no open stream for idleMs; PINGs and SETTINGS do not count. */
function closeWhenIdle(session: ServerHttp2Session, idleMs: number, log: Logger): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      log.debug('closing idle HTTP/2 session', { idleMs });
      session.close();
    }, idleMs);
    timer.unref();
  };
  arm();
  session.on('stream', (stream) => {
    open++;
    clearTimeout(timer);
    stream.once('close', () => {
      if (--open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once('close', () => clearTimeout(timer));
}

/** Which handler an admission path goes to, and for the policies of which failure policy ('' for all of them). */
interface AdmissionRoute {
  readonly handler: 'mutate' | 'validate';
  readonly failurePolicy: 'Fail' | 'Ignore' | '';
}

/** The admission paths: per handler, one per failure policy, as the operator registers them, and one for all. */
const ADMISSION_ROUTES: ReadonlyMap<string, AdmissionRoute> = new Map<string, AdmissionRoute>([
  ['/mutate', { handler: 'mutate', failurePolicy: '' }],
  ['/mutate/fail', { handler: 'mutate', failurePolicy: 'Fail' }],
  ['/mutate/ignore', { handler: 'mutate', failurePolicy: 'Ignore' }],
  ['/validate', { handler: 'validate', failurePolicy: '' }],
  ['/validate/fail', { handler: 'validate', failurePolicy: 'Fail' }],
  ['/validate/ignore', { handler: 'validate', failurePolicy: 'Ignore' }],
]);

async function handle(ex: Exchange, options: WebhookServerOptions): Promise<void> {
  const res = replyOf(ex);
  const url = urlOf(ex);
  const method = methodOf(ex);
  if (serveHealth({ url, method }, res, { isReady: options.isReady })) return;
  const route = ADMISSION_ROUTES.get(url.split('?')[0] ?? '');
  const decide = route && (route.handler === 'mutate' ? options.mutate : options.validate);
  if (!route || !decide) return sendText(res, 404, 'not found\n');
  if (method !== 'POST') return sendText(res, 405, 'method not allowed: use POST\n');
  const type = (headerOf(ex, 'content-type') ?? '').split(';')[0]!.trim();
  if (type !== 'application/json')
    return sendText(res, 400, `content-type ${quoteText(type)} is not application/json\n`);
  const body = await readBody(ex, MAX_BODY_BYTES);
  // The request was cut off (timed out, or the client went away): there is nobody to answer.
  if (body === undefined || headersSent(ex)) return;
  if (!body.ok) return sendText(res, body.code, `${body.message}\n`);
  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch (e) {
    return sendText(res, 400, `the body is not valid JSON: ${(e as Error).message}\n`);
  }
  const review = decodeAdmissionReview(json);
  if (!review.ok) return sendText(res, 400, `not an AdmissionReview: ${review.error}\n`);
  const response = await decide(review.value.request, route.failurePolicy || undefined);
  sendBody(res, 200, 'application/json', JSON.stringify(toReview(response)));
}

type Body = { ok: true; text: string } | { ok: false; code: number; message: string };

/**
 * Reads the body, counting the bytes actually received; undefined if the request did not arrive whole. Past the
 * limit the rest is drained unread, so that the 413 reaches the client (destroying the request would cut the
 * HTTP/1.1 connection before it is sent); in HTTP/2 the stream is reset once the 413 is out.
 */
function readBody(ex: Exchange, limit: number): Promise<Body | undefined> {
  const req = ex.h2 ? ex.stream : ex.req;
  const declared = Number(headerOf(ex, 'content-length') ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.resolve({
      ok: false,
      code: 413,
      message: `request body of ${declared} bytes exceeds the limit of ${limit} bytes`,
    });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (body: Body | undefined) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      resolve(body);
    };
    req.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      if (size > limit) settle({ ok: false, code: 413, message: `request body exceeds the limit of ${limit} bytes` });
      else chunks.push(chunk);
    });
    req.once('end', () => {
      // 'end' also comes when the connection is cut mid-body (HTTP/2: every stream of the session is closed).
      if (!received(ex)) return settle(undefined);
      if (size === 0) return settle({ ok: false, code: 400, message: 'request body is empty' });
      const text = Buffer.concat(chunks).toString('utf8');
      settle({ ok: true, text });
    });
    // HTTP/1.1: the connection closed mid-body; HTTP/2: the stream closed (reset, or timed out).
    req.once('error', () => settle(undefined));
    req.once('close', () => settle(undefined));
  });
}
