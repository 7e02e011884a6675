import { jest } from '@jest/globals';
import { toCacheKey } from './cache-key.js';
import { VerificationCache, type Outcome, type Verify } from './verification-cache.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const policy = { uid: 'uid-1', resourceVersion: '100' };
const other = { uid: 'uid-2', resourceVersion: '7' };
const key = toCacheKey(policy, 'check-image', 0, 'ghcr.io/acme/app:v1');

type Cache = VerificationCache<string, string>;
const pass = (digest: string, value = 'payload'): Outcome<string, string> => ({ pass: true, digest, value });
const fail = (failure: string): Outcome<string, string> => ({ pass: false, failure });

/** A fake clock the test moves by hand. */
function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

/** A verification the test finishes by hand, counting its runs and keeping the signal of the last. */
function manual() {
  let runs = 0;
  let signal!: AbortSignal;
  let settle!: { resolve: (o: Outcome<string, string>) => void; reject: (e: Error) => void };
  const verify: Verify<string, string> = (s) => {
    runs++;
    signal = s;
    return new Promise((resolve, reject) => (settle = { resolve, reject }));
  };
  return {
    verify,
    runs: () => runs,
    signal: () => signal,
    resolve: (o: Outcome<string, string>) => settle.resolve(o),
    reject: (e: Error) => settle.reject(e),
  };
}

/** A verification that answers at once, counting its runs. */
function answering(outcome: Outcome<string, string>) {
  return jest.fn<Verify<string, string>>(() => Promise.resolve(outcome));
}

function cache(options: { ttlMs?: number; maxEntries?: number; now?: () => number } = {}): Cache {
  return new VerificationCache<string, string>({ now: clock().now, ...options });
}

describe('VerificationCache', () => {
  describe('after a pass', () => {
    it('answers from the cache without verifying again', async () => {
      const c = cache();
      const verify = answering(pass(DIGEST_A));
      expect(await c.getOrVerify(key, verify)).toEqual({ ...pass(DIGEST_A), source: 'verified' });
      expect(await c.getOrVerify(key, verify)).toEqual({ ...pass(DIGEST_A), source: 'cache' });
      expect(c.get(key)).toEqual(pass(DIGEST_A));
      expect(verify).toHaveBeenCalledTimes(1);
      expect(c.stats()).toMatchObject({ hits: 2, misses: 1, entries: 1 });
    });

    it('is found by lookup, without waiting, counted as a hit; a lookup that finds nothing counts nothing', async () => {
      const c = cache();
      expect(c.lookup(key)).toBeUndefined();
      expect(c.stats()).toMatchObject({ hits: 0, misses: 0 });
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      expect(c.lookup(key)).toEqual(pass(DIGEST_A));
      expect(c.stats()).toMatchObject({ hits: 1, misses: 1 });
    });

    it('answers with the digest that was verified, though the tag has moved since', async () => {
      const c = cache();
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      // The tag now names DIGEST_B; the verification that would find it is never run, and the Pod is pinned to A.
      const moved = answering(pass(DIGEST_B));
      const answer = await c.getOrVerify(key, moved);
      expect(answer).toMatchObject({ pass: true, digest: DIGEST_A, source: 'cache' });
      expect(moved).not.toHaveBeenCalled();
    });

    it('keeps only the pass itself, not whatever else the outcome carried', async () => {
      const c = cache();
      await c.getOrVerify(key, () => Promise.resolve({ ...pass(DIGEST_A), extra: 'x' }));
      expect(c.get(key)).toEqual(pass(DIGEST_A));
    });

    it.each(['', 'latest', 'sha256:abc'])('keeps no pass whose digest is %j', async (digest) => {
      const c = cache();
      expect(await c.getOrVerify(key, answering(pass(digest)))).toMatchObject({ pass: true, digest });
      expect(c.get(key)).toBeUndefined();
    });
  });

  describe('keys', () => {
    it('tell apart policies, versions, rules, verifyImages entries and images', async () => {
      const c = cache();
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      for (const k of [
        toCacheKey(other, 'check-image', 0, 'ghcr.io/acme/app:v1'),
        toCacheKey({ ...policy, resourceVersion: '101' }, 'check-image', 0, 'ghcr.io/acme/app:v1'),
        toCacheKey(policy, 'autogen-check-image', 0, 'ghcr.io/acme/app:v1'),
        toCacheKey(policy, 'check-image', 1, 'ghcr.io/acme/app:v1'),
        toCacheKey(policy, 'check-image', 0, 'ghcr.io/acme/app:v2'),
      ])
        expect(c.get(k)).toBeUndefined();
      expect(c.get(toCacheKey(policy, 'check-image', 0, 'ghcr.io/acme/app:v1'))).toBeDefined();
    });

    it('cannot be spelled by a rule name or image holding the separator Kyverno uses', async () => {
      const c = cache();
      await c.getOrVerify(toCacheKey(policy, 'a;0;evil.io/x', 0, 'img'), answering(pass(DIGEST_A)));
      expect(c.get(toCacheKey(policy, 'a', 0, 'evil.io/x;0;img'))).toBeUndefined();
      expect(c.get(toCacheKey(policy, 'a";0;"b', 0, 'img'))).toBeUndefined();
    });
  });

  describe('a failure', () => {
    it('is answered but never kept', async () => {
      const c = cache();
      const verify = answering(fail('no signatures'));
      expect(await c.getOrVerify(key, verify)).toEqual({ ...fail('no signatures'), source: 'verified' });
      expect(await c.getOrVerify(key, verify)).toEqual({ ...fail('no signatures'), source: 'verified' });
      expect(verify).toHaveBeenCalledTimes(2);
      expect(c.stats()).toMatchObject({ hits: 0, misses: 2, entries: 0 });
    });

    it('is answered to every caller that was waiting for it', async () => {
      const c = cache();
      const m = manual();
      const answers = Promise.all([c.getOrVerify(key, m.verify), c.getOrVerify(key, m.verify)]);
      m.resolve(fail('registry down'));
      expect(await answers).toEqual([
        { ...fail('registry down'), source: 'verified' },
        { ...fail('registry down'), source: 'shared' },
      ]);
      expect(c.get(key)).toBeUndefined();
    });
  });

  describe('a verify that throws', () => {
    it('rejects for every caller waiting, and the next caller verifies again', async () => {
      const c = cache();
      const m = manual();
      const first = c.getOrVerify(key, m.verify);
      const second = c.getOrVerify(key, m.verify);
      m.reject(new Error('bug'));
      await expect(first).rejects.toThrow('bug');
      await expect(second).rejects.toThrow('bug');
      const again = answering(pass(DIGEST_A));
      expect(await c.getOrVerify(key, again)).toMatchObject({ pass: true, source: 'verified' });
      expect(again).toHaveBeenCalledTimes(1);
      expect(c.stats().inFlight).toBe(0);
    });

    it('rejects the same way when it throws before returning a promise', async () => {
      const c = cache();
      const thrower: Verify<string, string> = () => {
        throw new Error('sync bug');
      };
      await expect(c.getOrVerify(key, thrower)).rejects.toThrow('sync bug');
      expect(await c.getOrVerify(key, answering(pass(DIGEST_A)))).toMatchObject({ source: 'verified' });
    });
  });

  describe('concurrent callers of one key', () => {
    it('share one verification', async () => {
      const c = cache();
      const m = manual();
      const answers = Array.from({ length: 10 }, () => c.getOrVerify(key, m.verify));
      expect(c.stats()).toMatchObject({ inFlight: 1, misses: 10, coalesced: 9 });
      m.resolve(pass(DIGEST_A));
      const settled = await Promise.all(answers);
      expect(m.runs()).toBe(1);
      expect(settled.map((a) => a.source)).toEqual(['verified', ...Array<string>(9).fill('shared')]);
      expect(settled.every((a) => a.pass && a.digest === DIGEST_A)).toBe(true);
      expect(c.stats()).toMatchObject({ inFlight: 0, entries: 1 });
    });

    it('keep the pass by the time the first of them sees it', async () => {
      const c = cache();
      const m = manual();
      const answer = c.getOrVerify(key, m.verify);
      m.resolve(pass(DIGEST_A));
      await answer;
      expect(c.get(key)).toEqual(pass(DIGEST_A));
    });

    it('do not share across keys', async () => {
      const c = cache();
      const m = manual();
      const n = manual();
      void c.getOrVerify(key, m.verify);
      void c.getOrVerify(toCacheKey(policy, 'check-image', 0, 'ghcr.io/acme/app:v2'), n.verify);
      expect([m.runs(), n.runs()]).toEqual([1, 1]);
    });
  });

  describe('a caller whose signal aborts', () => {
    it('gets an aborted answer at once while the others wait on for the shared verification', async () => {
      const c = cache();
      const m = manual();
      const deadline = new AbortController();
      const impatient = c.getOrVerify(key, m.verify, { signal: deadline.signal });
      const patient = c.getOrVerify(key, m.verify);
      deadline.abort(new Error('deadline'));
      expect(await impatient).toEqual({ pass: false, source: 'aborted', reason: new Error('deadline') });
      expect(m.signal().aborted).toBe(false);
      m.resolve(pass(DIGEST_A));
      expect(await patient).toMatchObject({ pass: true, digest: DIGEST_A, source: 'shared' });
      expect(c.get(key)).toEqual(pass(DIGEST_A));
    });

    it('stops the verification when it was the last one waiting, and the next caller starts afresh', async () => {
      const c = cache();
      const m = manual();
      const one = new AbortController();
      const two = new AbortController();
      const a = c.getOrVerify(key, m.verify, { signal: one.signal });
      const b = c.getOrVerify(key, m.verify, { signal: two.signal });
      one.abort();
      expect(m.signal().aborted).toBe(false);
      two.abort();
      expect(m.signal().aborted).toBe(true);
      expect((await a).source).toBe('aborted');
      expect((await b).source).toBe('aborted');
      const n = manual();
      const later = c.getOrVerify(key, n.verify);
      expect(n.runs()).toBe(1);
      n.resolve(pass(DIGEST_B));
      expect(await later).toMatchObject({ digest: DIGEST_B, source: 'verified' });
    });

    it('still leaves behind the pass of a verification that finished regardless', async () => {
      const c = cache();
      const m = manual();
      const deadline = new AbortController();
      const answer = c.getOrVerify(key, m.verify, { signal: deadline.signal });
      deadline.abort();
      expect((await answer).source).toBe('aborted');
      m.resolve(pass(DIGEST_A));
      await new Promise((resolve) => setImmediate(resolve));
      expect(c.get(key)).toEqual(pass(DIGEST_A));
    });

    it('has no verification started when its deadline has already passed, but still gets a hit', async () => {
      const c = cache();
      const verify = answering(pass(DIGEST_A));
      expect(await c.getOrVerify(key, verify, { signal: AbortSignal.abort() })).toMatchObject({ source: 'aborted' });
      expect(verify).not.toHaveBeenCalled();
      await c.getOrVerify(key, verify);
      expect(await c.getOrVerify(key, verify, { signal: AbortSignal.abort() })).toMatchObject({ source: 'cache' });
    });
  });

  describe('size', () => {
    it('is bounded, forgetting the least recently used pass first', async () => {
      const c = cache({ maxEntries: 2 });
      const k = (image: string) => toCacheKey(policy, 'check-image', 0, image);
      await c.getOrVerify(k('a'), answering(pass(DIGEST_A)));
      await c.getOrVerify(k('b'), answering(pass(DIGEST_A)));
      expect(c.get(k('a'))).toBeDefined(); // a is now more recent than b
      await c.getOrVerify(k('c'), answering(pass(DIGEST_A)));
      expect(c.get(k('b'))).toBeUndefined();
      expect(c.get(k('a'))).toBeDefined();
      expect(c.get(k('c'))).toBeDefined();
      expect(c.stats()).toMatchObject({ entries: 2, evictions: 1 });
    });
  });

  describe('time to live', () => {
    it('ends a pass ttlMs after it was verified, however often it was used', async () => {
      const t = clock();
      const c = cache({ ttlMs: 60_000, now: t.now });
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      t.advance(59_999);
      expect(c.get(key)).toBeDefined();
      t.advance(1);
      expect(c.get(key)).toBeUndefined();
      const verify = answering(pass(DIGEST_B));
      expect(await c.getOrVerify(key, verify)).toMatchObject({ digest: DIGEST_B, source: 'verified' });
      expect(c.stats()).toMatchObject({ expired: 1, entries: 1 });
    });

    it('drops expired passes without their keys being asked for again', async () => {
      const t = clock();
      const c = cache({ ttlMs: 1_000, now: t.now });
      for (const image of ['a', 'b', 'c'])
        await c.getOrVerify(toCacheKey(policy, 'r', 0, image), answering(pass(DIGEST_A)));
      t.advance(1_000);
      expect(c.stats()).toMatchObject({ entries: 0, expired: 3 });
    });

    it('defaults to one hour', async () => {
      const t = clock();
      const c = cache({ now: t.now });
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      t.advance(3_599_999);
      expect(c.get(key)).toBeDefined();
      t.advance(1);
      expect(c.get(key)).toBeUndefined();
    });
  });

  describe('invalidatePolicy', () => {
    it('drops every pass of the policy and no other', async () => {
      const c = cache();
      const mine = [key, toCacheKey(policy, 'other-rule', 0, 'x'), toCacheKey(policy, 'check-image', 1, 'y')];
      const theirs = toCacheKey(other, 'check-image', 0, 'ghcr.io/acme/app:v1');
      for (const k of [...mine, theirs]) await c.getOrVerify(k, answering(pass(DIGEST_A)));
      expect(c.stats().entries).toBe(4);
      c.invalidatePolicy(policy.uid);
      expect(c.stats().entries).toBe(1);
      for (const k of mine) expect(c.get(k)).toBeUndefined();
      expect(c.get(theirs)).toBeDefined();
    });

    it('keeps a verification running for the policy from storing its pass', async () => {
      const c = cache();
      const m = manual();
      const answer = c.getOrVerify(key, m.verify);
      c.invalidatePolicy(policy.uid);
      m.resolve(pass(DIGEST_A));
      expect(await answer).toMatchObject({ pass: true, source: 'verified' });
      expect(c.get(key)).toBeUndefined();
    });
  });

  describe('clear', () => {
    it('forgets every pass, including those of verifications still running', async () => {
      const c = cache();
      await c.getOrVerify(key, answering(pass(DIGEST_A)));
      const m = manual();
      const running = c.getOrVerify(toCacheKey(other, 'r', 0, 'i'), m.verify);
      c.clear();
      m.resolve(pass(DIGEST_A));
      await running;
      expect(c.stats().entries).toBe(0);
    });
  });

  describe.each([
    ['ttlMs', { ttlMs: 0 }],
    ['maxEntries', { maxEntries: 0 }],
  ])('turned off with %s 0', (_name, options) => {
    it('misses every time, keeps nothing and shares nothing', async () => {
      const c = cache(options);
      expect(c.enabled).toBe(false);
      const verify = answering(pass(DIGEST_A));
      expect(await c.getOrVerify(key, verify)).toMatchObject({ source: 'verified' });
      expect(c.get(key)).toBeUndefined();
      const both = await Promise.all([c.getOrVerify(key, verify), c.getOrVerify(key, verify)]);
      expect(both.map((a) => a.source)).toEqual(['verified', 'verified']);
      expect(verify).toHaveBeenCalledTimes(3);
      expect(c.stats()).toMatchObject({ hits: 0, misses: 4, entries: 0, coalesced: 0 });
    });

    it('still answers each caller at its own deadline', async () => {
      const c = cache(options);
      const m = manual();
      const deadline = new AbortController();
      const answer = c.getOrVerify(key, m.verify, { signal: deadline.signal });
      deadline.abort();
      expect((await answer).source).toBe('aborted');
      expect(m.signal().aborted).toBe(true);
    });
  });

  it.each([{ ttlMs: -1 }, { ttlMs: Infinity }, { ttlMs: NaN }, { maxEntries: -1 }, { maxEntries: 1.5 }])(
    'refuses %j',
    (options) => {
      expect(() => cache(options)).toThrow(RangeError);
    },
  );
});
