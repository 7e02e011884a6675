import { encodeCacheKey, toCacheKey } from './cache-key.js';

describe('encodeCacheKey', () => {
  const policy = { uid: 'u', resourceVersion: '1' };

  it('gives distinct strings to keys whose parts Kyverno would join into one', () => {
    const joined = (k: ReturnType<typeof toCacheKey>) =>
      [k.policyUid, k.policyResourceVersion, k.ruleName, k.image].join(';');
    const a = toCacheKey(policy, 'rule;x', 0, 'img');
    const b = toCacheKey(policy, 'rule', 0, 'x;img');
    expect(joined(a)).toBe(joined(b));
    expect(encodeCacheKey(a)).not.toBe(encodeCacheKey(b));
  });

  it('survives quotes, brackets and commas in any part', () => {
    const a = toCacheKey({ uid: 'u","1', resourceVersion: '2' }, 'r', 0, 'i');
    const b = toCacheKey({ uid: 'u', resourceVersion: '1","2' }, 'r', 0, 'i');
    const c = toCacheKey(policy, 'r"],0,["i', 0, 'i');
    expect(new Set([a, b, c].map(encodeCacheKey)).size).toBe(3);
  });

  it("keeps digits in one part from being read as another part's length or entry", () => {
    const a = toCacheKey(policy, 'r', 1, '12:x');
    const b = toCacheKey(policy, 'r', 11, '2:x');
    const c = toCacheKey({ uid: 'u1', resourceVersion: ':1' }, 'r', 0, 'i');
    const d = toCacheKey({ uid: 'u', resourceVersion: '1' }, '1:r', 0, 'i');
    expect(new Set([a, b, c, d].map(encodeCacheKey)).size).toBe(4);
  });

  it('tells the verifyImages entries of one rule apart', () => {
    expect(encodeCacheKey(toCacheKey(policy, 'r', 0, 'i'))).not.toBe(encodeCacheKey(toCacheKey(policy, 'r', 1, 'i')));
  });
});
