import { ExpiringLru } from './expiring-lru.js';

function clock(start = 0) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms) };
}

describe('ExpiringLru', () => {
  it('forgets the least recently used entry beyond maxEntries', () => {
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 2, now: clock().now });
    lru.set('a', 'g', 1);
    lru.set('b', 'g', 2);
    lru.get('a');
    lru.set('c', 'g', 3);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([1, undefined, 3]);
    expect(lru.evictions).toBe(1);
  });

  it('restarts the time to live of a key stored again', () => {
    const t = clock();
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: t.now });
    lru.set('a', 'g', 1);
    t.set(900);
    lru.set('a', 'g', 2);
    t.set(1_500);
    expect(lru.get('a')).toBe(2);
    expect(lru.size).toBe(1);
  });

  it('drops expired entries from the old end when used for anything', () => {
    const t = clock();
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: t.now });
    lru.set('a', 'g', 1);
    t.set(500);
    lru.set('b', 'g', 2);
    t.set(1_000);
    lru.set('c', 'h', 3);
    expect(lru.expirations).toBe(1);
    expect(lru.size).toBe(2);
    // A dropped entry leaves its group too.
    expect(lru.deleteGroup('g')).toBe(1);
  });

  it('never returns an expired entry, even when the clock stepped back and it sits behind a live one', () => {
    const t = clock(10_000);
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: t.now });
    lru.set('late', 'g', 1); // expires at 11,000
    t.set(5_000);
    lru.set('early', 'g', 2); // expires at 6,000, behind 'late' in storing order
    t.set(7_000);
    expect(lru.get('early')).toBeUndefined();
    expect(lru.get('late')).toBe(1);
    expect(lru.expirations).toBe(1);
  });

  it('expires the next oldest entry on time after the oldest was dropped with its group', () => {
    const t = clock();
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: t.now });
    lru.set('a', 'g', 1); // expires at 1,000
    t.set(200);
    lru.set('b', 'h', 2); // expires at 1,200
    lru.deleteGroup('g');
    t.set(1_100);
    expect(lru.get('b')).toBe(2);
    t.set(1_200);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.expirations).toBe(1);
  });

  it('expires an entry stored after a clear, though the entries before it would have expired later', () => {
    const t = clock(10_000);
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: t.now });
    lru.set('old', 'g', 1); // expires at 11,000
    lru.clear();
    t.set(5_000);
    lru.set('new', 'g', 2); // expires at 6,000
    t.set(6_000);
    expect(lru.size).toBe(0);
    expect(lru.expirations).toBe(1);
  });

  it('drops a whole group and only that group', () => {
    const lru = new ExpiringLru<number>({ ttlMs: 1_000, maxEntries: 10, now: clock().now });
    lru.set('a', 'g', 1);
    lru.set('b', 'g', 2);
    lru.set('c', 'h', 3);
    expect(lru.deleteGroup('g')).toBe(2);
    expect(lru.deleteGroup('g')).toBe(0);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual([undefined, undefined, 3]);
    lru.set('c', 'i', 4); // moved to another group: leaves the old one
    expect(lru.deleteGroup('h')).toBe(0);
    expect(lru.get('c')).toBe(4);
  });
});
