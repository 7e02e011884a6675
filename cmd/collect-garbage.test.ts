import { collectGarbage, type FullCollection } from './collect-garbage.js';

describe('collectGarbage', () => {
  it('runs one full, synchronous collection and reports the heap before and after', () => {
    const calls: unknown[] = [];
    let heap = 60 * 1024 * 1024;
    let clock = 1_000;
    const gc: FullCollection = (options) => {
      calls.push(options);
      heap = 24 * 1024 * 1024;
      clock += 21.37;
    };
    const collected = collectGarbage({ gc, heapUsed: () => heap, now: () => clock });
    expect(calls).toEqual([{ type: 'major', execution: 'sync' }]);
    expect(collected).toEqual({ ms: 21.4, heapUsedBeforeMiB: 60, heapUsedAfterMiB: 24 });
  });

  describe('when Node.js was started without --expose-gc', () => {
    it('does nothing and says so with undefined', () => {
      let read = 0;
      const collected = collectGarbage({ gc: undefined, heapUsed: () => ++read, now: () => 0 });
      expect(collected).toBeUndefined();
      expect(read).toBe(0);
    });
  });
});
