// A keyed work queue in the manner of client-go's workqueue: a key waiting is queued once however often it is
// added, a key is handled by one worker at a time, and a key added while it is being handled runs again after.
// Failed keys come back after an exponential backoff. Nothing runs until run() is called.

export interface WorkQueueOptions {
  /** First retry delay; doubled per consecutive failure of the same key. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Told each time a key is queued (not when it was queued already): workqueue_adds_total. */
  readonly onAdded?: () => void;
}

export type Handler = (key: string) => Promise<void>;
export type ErrorHandler = (key: string, error: unknown, retryInMs: number) => void;

export class WorkQueue {
  readonly #options: WorkQueueOptions;
  readonly #queue: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #idleWaiters: (() => void)[] = [];
  readonly #sleeping: (() => void)[] = [];
  #stopped = false;

  constructor(options: WorkQueueOptions) {
    this.#options = options;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#active.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#queue.push(key);
    this.#options.onAdded?.();
    this.#sleeping.shift()?.();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Starts `workers` loops that hand keys to `handler`; resolves when the queue is shut down and drained. */
  async run(workers: number, handler: Handler, onError: ErrorHandler): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.#worker(handler, onError)));
  }

  /** Resolves once nothing is queued or being handled (retries waiting on a timer do not count). */
  whenIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  shutDown(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
    this.#queued.clear();
    for (const wake of this.#sleeping.splice(0)) wake();
  }

  get length(): number {
    return this.#queue.length;
  }

  async #worker(handler: Handler, onError: ErrorHandler): Promise<void> {
    for (;;) {
      const key = this.#queue.shift();
      if (key === undefined) {
        if (this.#stopped) return;
        this.#notifyIdle();
        await new Promise<void>((resolve) => this.#sleeping.push(resolve));
        continue;
      }
      this.#queued.delete(key);
      this.#active.add(key);
      try {
        await handler(key);
        this.#failures.delete(key);
      } catch (error) {
        const n = (this.#failures.get(key) ?? 0) + 1;
        this.#failures.set(key, n);
        const delay = Math.min(this.#options.baseDelayMs * 2 ** (n - 1), this.#options.maxDelayMs);
        onError(key, error, delay);
        this.addAfter(key, delay);
      } finally {
        this.#active.delete(key);
        if (this.#dirty.delete(key)) this.add(key);
      }
    }
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#active.size === 0;
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }
}
