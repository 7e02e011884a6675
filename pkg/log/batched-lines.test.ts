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

describe('BatchedLineTransport', () => {
  describe('when batching', () => {
    it('writes the lines of one turn of the event loop together, in order, after that turn', async () => {
      const { stream, writes } = destination();
      const log = loggerTo(new BatchedLineTransport(stream, { batch: true }));
      log.info('one');
      log.info('two');
      log.warn('three');
      await Promise.resolve();
      expect(writes).toEqual([]);
      await nextTurn();
      expect(writes).toEqual(['info: one\ninfo: two\nwarn: three\n']);
      log.info('four');
      await nextTurn();
      expect(writes).toHaveLength(2);
      expect(writes[1]).toBe('info: four\n');
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
