// /healthz: the process serves. /readyz: the rule cache is warm, i.e. every policy that existed at start-up is
// compiled, so an admission is never decided on a partial set of policies.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';

export interface HealthDeps {
  readonly isReady: () => boolean;
}

/** An HTTP/1.1 request, or an HTTP/2 one through the compat API (whose url is the :path pseudo-header). */
export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;

/** Answers /healthz and /readyz; returns false for any other path. */
export function serveHealth(req: HttpRequest, res: HttpResponse, deps: HealthDeps): boolean {
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

/** What both response classes offer; TypeScript will not call their differing overloads through the union. */
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
