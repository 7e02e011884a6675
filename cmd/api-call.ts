// The apiCall context entries' GET against the API server, with the operator's own credentials: bounded in time and
// size, JSON only, and never to Secrets. The operator may read every Secret (for pull Secrets and k8s:// keys); a
// policy author, who may only write a namespaced Policy, must not read them through it (Kyverno lets an apiCall read
// whatever its service account can).
import { KubeStatusError, type KubeClient } from '../pkg/kube/index.js';
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

/** A GET of `path` on the API server, with the operator's credentials; the JSON answered, or why not. */
export function makeApiCall(kube: Pick<KubeClient, 'text'>, limits: ApiCallLimits = DEFAULT_API_CALL_LIMITS) {
  return async (path: string, signal: AbortSignal): Promise<Result<unknown, string>> => {
    const refused = checkApiCallPath(path);
    if (refused) return err(refused);
    const [pathname, search] = splitQuery(path);
    let text: string;
    try {
      text = await kube.text({
        method: 'GET',
        path: pathname,
        query: Object.fromEntries(new URLSearchParams(search)),
        signal,
        timeoutMs: limits.timeoutMs,
        maxBytes: limits.maxBytes,
      });
    } catch (e) {
      if (e instanceof KubeStatusError) return err(`HTTP ${e.code}: ${e.statusMessage}`);
      const name = (e as { name?: unknown })?.name;
      if (name === 'TimeoutError' || (name === 'AbortError' && !signal.aborted)) {
        return err(`no answer within ${limits.timeoutMs} ms`);
      }
      return err((e as Error).message);
    }
    try {
      return ok(JSON.parse(text) as unknown);
    } catch {
      return err('the answer is not JSON');
    }
  };
}

function splitQuery(path: string): [string, string] {
  const at = path.indexOf('?');
  return at < 0 ? [path, ''] : [path.slice(0, at), path.slice(at + 1)];
}
