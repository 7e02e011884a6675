// A winston transport that writes finished lines in batches, once per turn of the event loop, instead of one write
// per line. Why: stderr is a pipe in a container (and to the process that started us), and a write to a pipe is a
// system call made at once, which also wakes the reader; with one line per admission that call came before the
// webhook's answer left, and was a quarter of a warm admission's time as kube-apiserver sees it. Lines logged while
// an admission is handled are now written by a setImmediate, which Node runs after the HTTP/2 frames the handler
// queued have been handed to the socket, and a burst of admissions costs one write.
//
// Nothing is lost: lines are kept in order, the destination stream buffers what a full pipe does not take, and
// flush() writes what is pending at once (cmd/ calls it before the process exits). With `batch: false` every line
// is written as it is made, for a destination that is read back at once (tests).
import TransportStream from 'winston-transport';

/** Where winston's formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

export class BatchedLineTransport extends TransportStream {
  readonly #out: NodeJS.WritableStream;
  readonly #batch: boolean;
  #pending: string[] = [];
  #scheduled = false;

  constructor(out: NodeJS.WritableStream, options: { readonly batch: boolean }) {
    super();
    this.#out = out;
    this.#batch = options.batch;
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.#pending.push(`${String(info[MESSAGE])}\n`);
    if (!this.#batch) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
    next();
  }

  /** Writes every pending line now, in one write. */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#out.write(text);
  }
}
