// Identical concurrent reads share one round trip, and each caller keeps its own deadline: a caller whose signal
// aborts stops waiting at once (with its own error), the others go on waiting, and the shared round trip is
// aborted only when every caller waiting for it has given up. A caller that joins late does not inherit the first
// caller's deadline, short or long.

export interface Participant {
  /** The caller's deadline; none means it waits as long as the round trip takes. */
  readonly signal?: AbortSignal;
  /** Called for each HTTP request the shared round trip sends while this caller waits for it. */
  readonly onRequest?: () => void;
}

/** Starts the shared round trip: `signal` aborts when every caller has given up; `sent` reports each request. */
export type Start<T> = (signal: AbortSignal, sent: () => void) => Promise<T>;

interface Shared<T> {
  readonly controller: AbortController;
  readonly waiting: Set<Participant>;
  readonly promise: Promise<T>;
}

export class Coalescer<T> {
  readonly #inflight = new Map<string, Shared<T>>();

  /**
   * The result of the round trip for `key`, starting it unless one is in flight. Rejects with `onAbort()` when the
   * participant's own signal aborts first.
   */
  join(key: string, participant: Participant, start: Start<T>, onAbort: () => Error): Promise<T> {
    const { signal } = participant;
    if (signal?.aborted) return Promise.reject(onAbort());
    let shared = this.#inflight.get(key);
    if (!shared) shared = this.#start(key, start);
    const entry = shared;
    entry.waiting.add(participant);
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        signal?.removeEventListener('abort', onAbortSignal);
        entry.waiting.delete(participant);
      };
      const onAbortSignal = () => {
        leave();
        if (entry.waiting.size === 0) {
          // Nobody wants the answer any more: a new caller starts afresh rather than joining a dying request.
          if (this.#inflight.get(key) === entry) this.#inflight.delete(key);
          entry.controller.abort(signal?.reason);
        }
        reject(onAbort());
      };
      signal?.addEventListener('abort', onAbortSignal, { once: true });
      entry.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }

  #start(key: string, start: Start<T>): Shared<T> {
    const controller = new AbortController();
    const waiting = new Set<Participant>();
    const sent = () => {
      for (const p of waiting) {
        try {
          p.onRequest?.();
        } catch {
          // A caller's counter failing must not fail the round trip the other callers share.
        }
      }
    };
    // Started on the next tick, so the first participant is registered before any request is reported; not at all
    // if every participant gave up in between.
    const promise = Promise.resolve().then(() =>
      controller.signal.aborted ? Promise.reject(controller.signal.reason as Error) : start(controller.signal, sent),
    );
    const shared: Shared<T> = { controller, waiting, promise };
    this.#inflight.set(key, shared);
    const forget = () => {
      if (this.#inflight.get(key) === shared) this.#inflight.delete(key);
    };
    // Handled here so that a round trip everybody gave up on cannot become an unhandled rejection.
    promise.then(forget, forget);
    return shared;
  }
}
