// One full, synchronous garbage collection, run once just before the operator says it is ready. Start-up (module
// loading, the informers' first lists, the admission warm-up's hundreds of synthetic reviews) leaves tens of MiB of
// garbage in the old generation, and V8 collects it with incremental marking and a final pause soon after, which
// landed in the first seconds of traffic: measured on the development machine, a 7–9 ms pause (and 20 ms of marking
// steps) about five seconds after start, with the first admissions of a new image at 34–50 ms instead of 12. Collected
// before /readyz says ready, that pause is paid while nobody waits.
//
// V8 offers the collection to JavaScript only with --expose-gc, which bin/imprimatur and the image's entry point pass
// (the Makefile's NODE_RUNTIME_FLAGS); started without it, the operator skips this and says so.

/** Node's gc() as --expose-gc exposes it, reduced to the call made here. */
export type FullCollection = (options: { type: 'major'; execution: 'sync' }) => void;

export interface CollectedHeap {
  readonly ms: number;
  readonly heapUsedBeforeMiB: number;
  readonly heapUsedAfterMiB: number;
}

export interface CollectDeps {
  /** globalThis.gc: undefined unless Node.js was started with --expose-gc. */
  readonly gc: FullCollection | undefined;
  readonly heapUsed: () => number;
  readonly now: () => number;
}

/** Runs one full collection; undefined when the process cannot (no --expose-gc). */
export function collectGarbage(deps: CollectDeps): CollectedHeap | undefined {
  if (typeof deps.gc !== 'function') return undefined;
  const before = deps.heapUsed();
  const started = deps.now();
  deps.gc({ type: 'major', execution: 'sync' });
  const ms = deps.now() - started;
  return {
    ms: Math.round(ms * 10) / 10,
    heapUsedBeforeMiB: toMiB(before),
    heapUsedAfterMiB: toMiB(deps.heapUsed()),
  };
}

function toMiB(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
