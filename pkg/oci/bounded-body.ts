// Reading a response body we do not trust: never more than a limit, whatever the registry declares or sends.
import { OciError, type OciErrorContext } from './errors.js';
import type { FetchLikeResponse } from './fetch-like.js';

/**
 * Reads at most `limit` bytes; a declared or actual length beyond it is TOO_LARGE, and the stream is dropped.
 * `onError` turns a failure of the stream (a reset, a timeout) into the caller's error.
 */
export async function readBounded(
  res: FetchLikeResponse,
  limit: number,
  context: OciErrorContext,
  onError: (e: unknown) => OciError,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = () =>
    new OciError('TOO_LARGE', `response body exceeds the limit of ${limit} bytes`, { ...context, status: res.status });
  if (declared > limit) {
    await discardBody(res.body);
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const iterator = res.body[Symbol.asyncIterator]();
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError('response body yielded something other than bytes');
      size += value.byteLength;
      if (size > limit) {
        await discardIterator(iterator);
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    throw e instanceof OciError ? e : onError(e);
  }
  return Buffer.concat(chunks, size);
}

/** Drops a body we will not read, so its connection is released. */
export async function discardBody(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const cancellable = body as { cancel?: () => Promise<void> };
  try {
    if (typeof cancellable.cancel === 'function') await cancellable.cancel();
    else await discardIterator(body[Symbol.asyncIterator]());
  } catch {
    // The body is being thrown away; a failure to close it changes nothing.
  }
}

async function discardIterator(iterator: AsyncIterator<Uint8Array>): Promise<void> {
  try {
    await iterator.return?.();
  } catch {
    // As above: nothing more is read from it either way.
  }
}
