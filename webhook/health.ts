// /healthz: the process serves. /readyz: the rule cache is warm, i.e. every policy that existed at start-up is
// compiled, so an admission is never decided on a partial set of policies.
import type { OutgoingHttpHeaders } from 'node:http';

export interface HealthDeps {
  readonly isReady: () => boolean;
}

/** What serveHealth reads of a request: node:http's IncomingMessage, or an HTTP/2 stream's :path and :method. */
export interface RequestLine {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
}

/** Answers /healthz and /readyz; returns false for any other path. */
export function serveHealth(req: RequestLine, res: BodyResponse, deps: HealthDeps): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/healthz' && path !== '/readyz') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendText(res, 405, 'method not allowed\n');
    return true;
  }
  if (path === '/healthz' || deps.isReady()) sendText(res, 200, 'ok\n');
  else sendText(res, 503, 'rule cache is not warm yet\n');
  return true;
}

/** Where an answer is written: node:http's ServerResponse, or the webhook server's wrapper of an HTTP/2 stream. */
export interface BodyResponse {
  writeHead(statusCode: number, headers: OutgoingHttpHeaders): unknown;
  end(body: string): unknown;
}

export function sendText(res: BodyResponse, code: number, body: string): void {
  sendBody(res, code, 'text/plain; charset=utf-8', body);
}

export function sendBody(res: BodyResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
