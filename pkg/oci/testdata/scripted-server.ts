// A loopback HTTP server whose behaviour each test scripts: the hostile registry of the client's tests. It records
// every request (method, path, headers) so tests can assert what the client sent, and where. With `tls`, it speaks
// HTTPS with the certificate given.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
}

export type Handler = (req: IncomingMessage, res: ServerResponse, hit: number) => void | Promise<void>;

export interface ScriptedServer {
  /** host:port */
  readonly host: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  handle(handler: Handler): void;
  close(): Promise<void>;
}

export interface ScriptedServerOptions {
  /** PEM certificate (chain) and key: the server speaks HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

export async function startScriptedServer(options: ScriptedServerOptions = {}): Promise<ScriptedServer> {
  let handler: Handler = (_req, res) => void res.writeHead(500).end();
  const requests: RecordedRequest[] = [];
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    Promise.resolve(handler(req, res, requests.length)).catch(() => res.destroy());
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    handle(h) {
      handler = h;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A 401 with a challenge. */
export function challenge(res: ServerResponse, wwwAuthenticate: string): void {
  res.writeHead(401, { 'www-authenticate': wwwAuthenticate, 'content-length': 0 }).end();
}

/** A redirect to `location`. */
export function redirect(res: ServerResponse, location: string, status = 307): void {
  res.writeHead(status, { location, 'content-length': 0 }).end();
}
