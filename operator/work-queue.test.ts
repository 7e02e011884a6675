import { WorkQueue } from './work-queue.js';

const tick = () => new Promise((r) => setImmediate(r));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  describe('when a key is added several times before it is handled', () => {
    it('handles it once', async () => {
      const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10 });
      const seen: string[] = [];
      queue.add('a');
      queue.add('a');
      queue.add('b');
      queue.add('a');
      const done = queue.run(
        2,
        async (k) => void seen.push(k),
        () => {},
      );
      await queue.whenIdle();
      queue.shutDown();
      await done;
      expect(seen.sort()).toEqual(['a', 'b']);
    });
  });

  describe('when a key is added while it is being handled', () => {
    it('never runs it twice at once, and runs it again afterwards', async () => {
      const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10 });
      const gate = deferred();
      let running = 0;
      let maxRunning = 0;
      let calls = 0;
      const done = queue.run(
        4,
        async () => {
          calls++;
          running++;
          maxRunning = Math.max(maxRunning, running);
          if (calls === 1) await gate.promise;
          running--;
        },
        () => {},
      );
      queue.add('a');
      await tick();
      queue.add('a');
      queue.add('a');
      await tick();
      gate.resolve();
      await queue.whenIdle();
      queue.shutDown();
      await done;
      expect(maxRunning).toBe(1);
      expect(calls).toBe(2);
    });
  });

  describe('when the handler fails', () => {
    it('retries the key with growing delays and reports each failure', async () => {
      const queue = new WorkQueue({ baseDelayMs: 5, maxDelayMs: 20 });
      const delays: number[] = [];
      let attempts = 0;
      const succeeded = deferred();
      const done = queue.run(
        1,
        async () => {
          attempts++;
          if (attempts < 4) throw new Error(`attempt ${attempts}`);
          succeeded.resolve();
        },
        (_key, _error, retryInMs) => delays.push(retryInMs),
      );
      queue.add('k');
      await succeeded.promise;
      queue.shutDown();
      await done;
      expect(delays).toEqual([5, 10, 20]);
    });
  });

  describe('when shut down', () => {
    it('ends its workers and ignores new keys', async () => {
      const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10 });
      const seen: string[] = [];
      const done = queue.run(
        3,
        async (k) => void seen.push(k),
        () => {},
      );
      queue.shutDown();
      await done;
      queue.add('late');
      expect(seen).toEqual([]);
      expect(queue.length).toBe(0);
    });
  });

  describe('with onAdded (workqueue_adds_total)', () => {
    it('is told of each key queued, not of a key added while it already waits', () => {
      let added = 0;
      const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 10, onAdded: () => added++ });
      queue.add('a');
      queue.add('a');
      queue.add('b');
      expect(added).toBe(2);
      expect(queue.length).toBe(2);
      queue.shutDown();
    });
  });
});
