import { Writable } from 'node:stream';
import winston from 'winston';
import { BatchedLineTransport } from './batched-lines.js';

function destination() {
  const writes: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      writes.push(chunk.toString());
      done();
    },
  });
  return { stream, writes };
}

function loggerTo(transport: BatchedLineTransport): winston.Logger {
  return winston.createLogger({ level: 'info', format: winston.format.simple(), transports: [transport] });
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BatchedLineTransport', () => {
  describe('when batching', () => {
    it('after a quiet spell, writes the lines of one turn of the event loop together, in order, after that turn', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: true }));
      log.info('one');
      log.info('two');
      log.warn('three');
      await Promise.resolve();
      expect(writes).toEqual([]);
      await nextTurn();
      expect(writes).toEqual(['info: one\ninfo: two\nwarn: three\n']);
    });

    it('writes the lines that follow a write within the interval together, at its end', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: true, maxDelayMs: 60 }));
      log.info('first');
      await nextTurn();
      expect(writes).toEqual(['info: first\n']);
      log.info('second');
      await nextTurn();
      log.info('third');
      await nextTurn();
      // Without the interval, each of these would have been a write of its own, after its turn.
      expect(writes).toHaveLength(1);
      await sleep(80);
      expect(writes).toEqual(['info: first\n', 'info: second\ninfo: third\n']);
      // After a quiet interval, a line goes out after its own turn again.
      await sleep(80);
      log.info('fourth');
      await nextTurn();
      expect(writes).toEqual(['info: first\n', 'info: second\ninfo: third\n', 'info: fourth\n']);
    });

    it('writes at once, with what waits before it, a line at level error', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: true, maxDelayMs: 10_000 }));
      log.info('first');
      await nextTurn();
      log.info('waiting');
      log.error('broken');
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes).toEqual(['info: first\n', 'info: waiting\nerror: broken\n']);
    });

    it('writes at once a batch that reaches its size limit', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: true, maxDelayMs: 10_000, maxBytes: 100 }));
      log.info('first');
      await nextTurn();
      log.info('x'.repeat(60));
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes).toHaveLength(1);
      log.info('y'.repeat(60));
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes).toEqual(['info: first\n', `info: ${'x'.repeat(60)}\ninfo: ${'y'.repeat(60)}\n`]);
    });

    it('writes what is pending at once when flushed, and nothing twice', async () => {
      const { stream, writes } = destination();
      const transport = new BatchedLineTransport(stream, { batch: true });
      const log = loggerTo(transport);
      log.info('before exit');
      // winston hands the line to its transports on the next tick.
      await new Promise((resolve) => process.nextTick(resolve));
      transport.flush();
      expect(writes).toEqual(['info: before exit\n']);
      await nextTurn();
      expect(writes).toEqual(['info: before exit\n']);
    });
  });

  describe('when not batching', () => {
    it('writes each line as it is made', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: false }));
      log.info('one');
      log.info('two');
      await new Promise((resolve) => process.nextTick(resolve));
      expect(writes).toEqual(['info: one\n', 'info: two\n']);
    });
  });
});
