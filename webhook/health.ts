// /healthz: the process serves. /readyz: the rule cache is warm, i.e. every policy that existed at start-up is
// compiled, so an admission is never decided on a partial set of policies.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface HealthDeps {
  readonly isReady: () => boolean;
}

/** Answers /healthz and /readyz; returns false for any other path. */
export function serveHealth(req: IncomingMessage, res: ServerResponse, deps: HealthDeps): boolean {
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

export function sendText(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
