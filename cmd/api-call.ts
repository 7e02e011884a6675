// The apiCall context entries' GET against the API server, with the operator's own credentials: bounded in time and
// size, JSON only, and never to Secrets. The operator may read every Secret (for pull Secrets and k8s:// keys); a
// policy author, who may only write a namespaced Policy, must not read them through it (Kyverno lets an apiCall read
// whatever its service account can).
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { err, ok, type Result } from '../pkg/result/index.js';

export interface ApiCallLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export const DEFAULT_API_CALL_LIMITS: ApiCallLimits = { timeoutMs: 5_000, maxBytes: 1024 * 1024 };

/** Why a path is not called, or undefined when it may be. */
export function checkApiCallPath(path: string): string | undefined {
  if (!path.startsWith('/')) return `${JSON.stringify(path)} is not an absolute path`;
  const segments = path.split('?')[0]!.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return `${JSON.stringify(path)} has dot segments`;
  if (segments.some((s) => decodeSegment(s) === 'secrets'))
    return `${JSON.stringify(path)} reads Secrets, which API calls in policies may not`;
  return undefined;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment).toLowerCase();
  } catch {
    return segment.toLowerCase();
  }
}

/** A GET of `path` on the API server of `kubeConfig`; the JSON answered, or why not. */
export function makeApiCall(kubeConfig: KubeConfig, limits: ApiCallLimits = DEFAULT_API_CALL_LIMITS) {
  return async (path: string, signal: AbortSignal): Promise<Result<unknown, string>> => {
    const refused = checkApiCallPath(path);
    if (refused) return err(refused);
    const server = kubeConfig.getCurrentCluster()?.server;
    if (!server) return err('no API server in the kubeconfig');
    const url = new URL(path, server);
    const options: Parameters<typeof request>[1] & { headers: Record<string, string> } = {
      method: 'GET',
      headers: { accept: 'application/json' },
    };
    try {
      await kubeConfig.applyToHTTPSOptions(options);
    } catch (e) {
      return err(`credentials: ${(e as Error).message}`);
    }
    const timeout = AbortSignal.timeout(limits.timeoutMs);
    const both = AbortSignal.any([signal, timeout]);
    return new Promise((resolve) => {
      const send = url.protocol === 'http:' ? plainRequest : request;
      const req = send(url, { ...options, signal: both }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes) {
            req.destroy();
            resolve(err(`the answer is larger than ${limits.maxBytes} bytes`));
          } else chunks.push(chunk);
        });
        res.on('end', () => {
          if (size > limits.maxBytes) return;
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) {
            let message = text.slice(0, 300);
            try {
              message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
            } catch {
              // Not a Status: the start of the body says what happened.
            }
            return resolve(err(`HTTP ${res.statusCode}: ${message}`));
          }
          try {
            resolve(ok(JSON.parse(text) as unknown));
          } catch {
            resolve(err('the answer is not JSON'));
          }
        });
        res.on('error', (e) => resolve(err(e.message)));
      });
      req.on('error', (e) =>
        resolve(err(timeout.aborted ? `no answer within ${limits.timeoutMs} ms` : (e as Error).message)),
      );
      req.end();
    });
  };
}
