// The HTTPS admission server: node:https and nothing more, since it serves three routes. Request bodies are
// bounded (7 MiB, as controller-runtime's http.go: two 3 MiB objects plus envelope) and must be JSON; a request
// that is not an AdmissionReview gets 400 with the reason, never a crash.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorFields, type Logger } from '../pkg/log/index.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { serveHealth, sendText } from './health.js';
import { toReview, type AdmissionResponse } from './responses.js';

export const MAX_BODY_BYTES = 7 * 1024 * 1024;

export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebhookServerOptions {
  readonly tls: TlsMaterial;
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  readonly isReady: () => boolean;
  readonly mutate: (request: AdmissionRequest) => AdmissionResponse | Promise<AdmissionResponse>;
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export async function startWebhookServer(options: WebhookServerOptions): Promise<RunningServer> {
  const { log } = options;
  const server: Server = createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      minVersion: 'TLSv1.2',
      requestTimeout: 60_000,
      headersTimeout: 20_000,
    },
    (req, res) => {
      handle(req, res, options).catch((e: unknown) => {
        log.error('admission handler failed', errorFields(e));
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.on('tlsClientError', (e) => log.debug('TLS handshake failed', errorFields(e)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  log.info('webhook server listening', { host: options.host, port });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: WebhookServerOptions): Promise<void> {
  if (serveHealth(req, res, { isReady: options.isReady })) return;
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/mutate') return sendText(res, 404, 'not found\n');
  if (req.method !== 'POST') return sendText(res, 405, 'method not allowed: use POST\n');
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (type !== 'application/json')
    return sendText(res, 400, `content-type ${JSON.stringify(type)} is not application/json\n`);
  const body = await readBody(req, MAX_BODY_BYTES);
  if (!body.ok) return sendText(res, body.code, `${body.message}\n`);
  let json: unknown;
  try {
    json = JSON.parse(body.text);
  } catch (e) {
    return sendText(res, 400, `the body is not valid JSON: ${(e as Error).message}\n`);
  }
  const review = decodeAdmissionReview(json);
  if (!review.ok) return sendText(res, 400, `not an AdmissionReview: ${review.error}\n`);
  const response = await options.mutate(review.value.request);
  const out = JSON.stringify(toReview(response));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
  res.end(out);
}

type Body = { ok: true; text: string } | { ok: false; code: number; message: string };

async function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return { ok: false, code: 413, message: `request body of ${declared} bytes exceeds the limit of ${limit} bytes` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return { ok: false, code: 413, message: `request body exceeds the limit of ${limit} bytes` };
    }
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return { ok: false, code: 400, message: 'request body is empty' };
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
