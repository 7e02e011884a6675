// The plain-HTTP server of --metrics-bind-address: GET /metrics, the Prometheus text format, as controller-runtime's
// metrics server serves it (without its authentication filter: bind it where only Prometheus reaches it, or put
// a NetworkPolicy in front, as kubebuilder's config/network-policy does).
import { createServer, type Server } from 'node:http';
import type { BindAddress } from './config.js';
import { errorFields, type Logger } from '../pkg/log/index.js';

/** What is served: pkg/metrics' Metrics. */
export interface MetricsSource {
  render(): Promise<{ readonly contentType: string; readonly body: string }>;
}

export async function startMetricsServer(address: BindAddress, metrics: MetricsSource, log: Logger): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return void res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n');
    }
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (e: unknown) => {
        log.error('metrics could not be collected', errorFields(e));
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      },
    );
  });
  // A scrape is small and quick: a client that holds a connection open gets nothing for it.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  log.info('metrics server listening', {
    host: address.host,
    port: typeof bound === 'object' && bound ? bound.port : address.port,
    path: '/metrics',
  });
  return server;
}
