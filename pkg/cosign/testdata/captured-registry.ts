// Serves fixtures of hack/capture-cosign-fixtures.mjs over HTTP on loopback, as distribution served them when they
// were captured: manifests by tag or digest, blobs by digest, and no referrers API (404), so that the real
// RegistryClient reads them exactly as it read the registry, tag fallback included.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface CapturedRepository {
  readonly about: string;
  readonly repository: string;
  /** The image's digest. */
  readonly digest: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly manifests: Readonly<Record<string, { readonly mediaType: string; readonly body: string }>>;
  readonly blobs: Readonly<Record<string, string>>;
}

export const CAPTURED = join(import.meta.dirname, 'captured');

export function readCaptured(name: string): CapturedRepository {
  return JSON.parse(readFileSync(join(CAPTURED, `${name}.json`), 'utf8')) as CapturedRepository;
}

export interface CapturedRegistry {
  /** host:port */
  readonly host: string;
  close(): Promise<void>;
}

export async function serveCaptured(repositories: readonly CapturedRepository[]): Promise<CapturedRegistry> {
  const byName = new Map(repositories.map((r) => [r.repository, r]));
  const server: Server = createServer((req, res) => {
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/?]+)/.exec(req.url ?? '');
    const repo = m ? byName.get(m[1]!) : undefined;
    if (req.url === '/v2/' || req.url === '/v2') return void res.writeHead(200).end('{}');
    if (!m || !repo)
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
    const [, , kind, reference] = m as unknown as [string, string, string, string];
    if (kind === 'manifests') {
      const digest = reference.startsWith('sha256:') ? reference : repo.tags[reference];
      const manifest = digest ? repo.manifests[digest] : undefined;
      if (!manifest || !digest) {
        return void res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
      }
      const body = Buffer.from(manifest.body, 'base64');
      res.writeHead(200, {
        'content-type': manifest.mediaType,
        'content-length': body.length,
        'docker-content-digest': digest,
      });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    if (kind === 'blobs' && repo.blobs[reference]) {
      const body = Buffer.from(repo.blobs[reference], 'base64');
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      return void res.end(req.method === 'HEAD' ? undefined : body);
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
