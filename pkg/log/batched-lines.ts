// A winston transport that writes finished lines in batches instead of one write per line. Why: stderr is a pipe in a
// container (and to the process that started us), and a write to a pipe is a system call made at once, which also
// wakes the reader. With one line per admission, that call once came before the webhook's answer left, and was a
// quarter of a warm admission's time as kube-apiserver sees it; written after the answer, it still came while
// kube-apiserver finished the request, on the same two cores, and woke the log reader for every Pod. So there is at most
// one write per `maxDelayMs` (100 ms by default): a line after a quiet spell is written after the turn of the event
// loop that made it, and the lines that follow within the interval wait for its end and go together. Under a steady
// stream of admissions that is one write per tenth of a second rather than one per admission.
//
// Nothing is lost: lines are kept in order, a batch is written at once when it reaches `maxBytes` or when a line at
// level error joins it, the destination stream buffers what a full pipe does not take, and flush() writes what is
// pending at once (cmd/ calls it before the process exits). The timer is not unref'd, so a command that ends by
// running out of work still writes its last lines. With `batch: false` every line is written as it is made, for a
// destination that is read back at once (tests).
import TransportStream from 'winston-transport';

/** Where winston's formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

export type BatchOptions =
  | { readonly batch: false }
  | {
      readonly batch: true;
      /** How long a line may wait for others; 100 ms when absent. */
      readonly maxDelayMs?: number;
      /** A batch this long (in characters: the lines are JSON, mostly ASCII) is written at once; 64 Ki when absent. */
      readonly maxBytes?: number;
    };

const DEFAULT_MAX_DELAY_MS = 100;
const DEFAULT_MAX_BYTES = 64 * 1024;

export class BatchedLineTransport extends TransportStream {
  readonly #out: NodeJS.WritableStream;
  readonly #batch: boolean;
  readonly #maxDelayMs: number;
  readonly #maxBytes: number;
  #pending: string[] = [];
  #pendingBytes = 0;
  /** Cancels the write that is scheduled (after this turn of the event loop, or at the end of the interval), if any. */
  #cancelScheduled: (() => void) | undefined;
  /** When the last write was made (performance.now()). */
  #lastWrite = -Infinity;

  constructor(out: NodeJS.WritableStream, options: BatchOptions) {
    super();
    this.#out = out;
    this.#batch = options.batch;
    this.#maxDelayMs = (options.batch ? options.maxDelayMs : undefined) ?? DEFAULT_MAX_DELAY_MS;
    this.#maxBytes = (options.batch ? options.maxBytes : undefined) ?? DEFAULT_MAX_BYTES;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = `${String(info[MESSAGE])}\n`;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (!this.#batch || info['level'] === 'error' || this.#pendingBytes >= this.#maxBytes) this.flush();
    else if (!this.#cancelScheduled) {
      const wait = this.#lastWrite + this.#maxDelayMs - performance.now();
      if (wait > 0) {
        const timeout = setTimeout(() => this.flush(), wait);
        this.#cancelScheduled = () => clearTimeout(timeout);
      } else {
        const immediate = setImmediate(() => this.flush());
        this.#cancelScheduled = () => clearImmediate(immediate);
      }
    }
    next();
  }

  /** Writes every pending line now, in one write. */
  flush(): void {
    this.#cancelScheduled?.();
    this.#cancelScheduled = undefined;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#lastWrite = performance.now();
    this.#out.write(text);
  }
}
