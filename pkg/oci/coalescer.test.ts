import { Coalescer } from './coalescer.js';

const timeout = () => new Error('TIMEOUT');

/** A round trip the test finishes by hand, recording the signal it was given. */
function manual() {
  let finish!: (value: string) => void;
  let signal!: AbortSignal;
  let started = 0;
  let sent!: () => void;
  const start = (s: AbortSignal, report: () => void) => {
    started++;
    signal = s;
    sent = report;
    return new Promise<string>((resolve) => (finish = resolve));
  };
  return { start, finish: (v: string) => finish(v), signal: () => signal, started: () => started, sent: () => sent() };
}

describe('Coalescer', () => {
  it('runs one round trip for concurrent callers of one key', async () => {
    const c = new Coalescer<string>();
    const m = manual();
    const a = c.join('k', {}, m.start, timeout);
    const b = c.join('k', {}, m.start, timeout);
    await Promise.resolve();
    m.finish('answer');
    expect(await Promise.all([a, b])).toEqual(['answer', 'answer']);
    expect(m.started()).toBe(1);
  });

  it('rejects a caller at its own deadline while the others wait on', async () => {
    const c = new Coalescer<string>();
    const m = manual();
    const short = new AbortController();
    const a = c.join('k', { signal: short.signal }, m.start, timeout);
    const b = c.join('k', {}, m.start, timeout);
    short.abort();
    await expect(a).rejects.toThrow('TIMEOUT');
    await Promise.resolve();
    expect(m.signal().aborted).toBe(false);
    m.finish('answer');
    expect(await b).toBe('answer');
  });

  it('aborts the round trip when the last caller gives up, and starts afresh for the next', async () => {
    const c = new Coalescer<string>();
    const m = manual();
    const one = new AbortController();
    const two = new AbortController();
    const a = c.join('k', { signal: one.signal }, m.start, timeout);
    const b = c.join('k', { signal: two.signal }, m.start, timeout);
    await Promise.resolve();
    one.abort();
    expect(m.signal().aborted).toBe(false);
    two.abort();
    expect(m.signal().aborted).toBe(true);
    await expect(a).rejects.toThrow('TIMEOUT');
    await expect(b).rejects.toThrow('TIMEOUT');
    const n = manual();
    const later = c.join('k', {}, n.start, timeout);
    await Promise.resolve();
    n.finish('fresh');
    expect(await later).toBe('fresh');
  });

  it('rejects at once a caller whose deadline has passed', async () => {
    const c = new Coalescer<string>();
    const m = manual();
    await expect(c.join('k', { signal: AbortSignal.abort() }, m.start, timeout)).rejects.toThrow('TIMEOUT');
    expect(m.started()).toBe(0);
  });

  it('reports each request to every caller waiting, and ignores a counter that throws', async () => {
    const c = new Coalescer<string>();
    const m = manual();
    let a = 0;
    let b = 0;
    const first = c.join('k', { onRequest: () => a++ }, m.start, timeout);
    const second = c.join('k', { onRequest: () => void b++ }, m.start, timeout);
    const third = c.join(
      'k',
      {
        onRequest: () => {
          throw new Error('broken counter');
        },
      },
      m.start,
      timeout,
    );
    await Promise.resolve();
    await Promise.resolve();
    m.sent();
    m.sent();
    m.finish('x');
    await Promise.all([first, second, third]);
    expect([a, b]).toEqual([2, 2]);
  });

  it('leaves no unhandled rejection when the abandoned round trip fails', async () => {
    const c = new Coalescer<string>();
    const controller = new AbortController();
    const p = c.join(
      'k',
      { signal: controller.signal },
      (signal) =>
        new Promise<string>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      timeout,
    );
    controller.abort();
    await expect(p).rejects.toThrow('TIMEOUT');
    await new Promise((r) => setImmediate(r));
  });
});
