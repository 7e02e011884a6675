import { compile } from './compile.js';
import type { CompiledPolicy } from './compiled-policy.js';
import { RuleCache } from './rule-cache.js';

function policy(name: string, resourceVersion: string): CompiledPolicy {
  const compiled = compile({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, uid: `uid-${name}`, resourceVersion },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [
        { name: 'r', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ imageReferences: ['*'] }] },
      ],
    },
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

describe('RuleCache', () => {
  describe('when a policy is replaced by another version, or removed', () => {
    it('tells its onRetired about the version that went, once', () => {
      const retired: string[] = [];
      const cache = new RuleCache({ onRetired: (p) => retired.push(`${p.ref.name}@${p.resourceVersion}`) });
      const first = policy('a', '1');
      cache.upsert(first);
      cache.upsert(first);
      expect(retired).toEqual([]);
      cache.upsert(policy('a', '2'));
      expect(retired).toEqual(['a@1']);
      cache.remove(first.key);
      cache.remove(first.key);
      expect(retired).toEqual(['a@1', 'a@2']);
      expect(cache.size).toBe(0);
    });
  });

  it('keeps its snapshot in key order', () => {
    const cache = new RuleCache();
    cache.upsert(policy('b', '1'));
    cache.upsert(policy('a', '1'));
    expect(cache.policies().map((p) => p.ref.name)).toEqual(['a', 'b']);
  });
});
