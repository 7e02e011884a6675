import { Writable } from 'node:stream';
import { createLogger, errorFields } from './logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ level: 'info', stream }), lines };
}

async function flushed(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

describe('createLogger', () => {
  it('writes one JSON line per entry, with level, message, fields and a timestamp', async () => {
    const { log, lines } = capture();
    log.info('admission', { uid: 'u-1', images: [{ image: 'ghcr.io/a:v1', pass: 20 }] });
    await flushed();
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toEqual({
      level: 'info',
      message: 'admission',
      uid: 'u-1',
      images: [{ image: 'ghcr.io/a:v1', pass: 20 }],
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
  });

  describe('when a field is something JSON.stringify refuses', () => {
    it('still writes the line: a cycle and a BigInt', async () => {
      const { log, lines } = capture();
      const cyclic: Record<string, unknown> = { name: 'loop' };
      cyclic.self = cyclic;
      log.info('odd fields', { cyclic, big: 10n });
      await flushed();
      expect(lines).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(line).toMatchObject({ message: 'odd fields', big: '10', cyclic: { name: 'loop', self: '[Circular]' } });
    });
  });

  it('drops entries below its level', async () => {
    const { log, lines } = capture();
    log.debug('not shown');
    await flushed();
    expect(lines).toEqual([]);
  });
});

describe('errorFields', () => {
  it('keeps the message and code, never the object', () => {
    const e = Object.assign(new Error('boom'), { code: 'ECONNRESET', secret: 'x' });
    expect(errorFields(e)).toEqual({ error: 'boom', code: 'ECONNRESET' });
    expect(errorFields('plain')).toEqual({ error: 'plain' });
  });
});
