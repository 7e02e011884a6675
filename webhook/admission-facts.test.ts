import { toAdmissionFacts } from './admission-facts.js';
import type { AdmissionRequest } from './admission-review.js';

const BASE: AdmissionRequest = {
  uid: 'u',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  namespace: 'team',
  operation: 'CREATE',
  userInfo: { username: 'alice', groups: ['dev'] },
};

describe('toAdmissionFacts', () => {
  describe('when a CREATE has only a generateName', () => {
    it('names the object by it, as Kyverno does', () => {
      const facts = toAdmissionFacts({ ...BASE, object: { metadata: { generateName: 'web-' } } });
      expect(facts.name).toBe('web-');
    });
  });

  describe('when labels and annotations hold values that are not strings', () => {
    it('keeps only the strings, and no inherited keys', () => {
      const facts = toAdmissionFacts({
        ...BASE,
        name: 'web',
        object: { metadata: { labels: { app: 'web', n: 1, deep: { x: 'y' } }, annotations: ['a'] } },
      });
      expect({ ...facts.labels }).toEqual({ app: 'web' });
      expect({ ...facts.annotations }).toEqual({});
      expect(facts.labels['toString' as string]).toBeUndefined();
    });
  });

  it('carries the kind, subresource, operation, namespace and who asked', () => {
    const facts = toAdmissionFacts({ ...BASE, name: 'web', subResource: 'ephemeralcontainers', object: null });
    expect(facts).toMatchObject({
      group: '',
      version: 'v1',
      kind: 'Pod',
      subResource: 'ephemeralcontainers',
      operation: 'CREATE',
      namespace: 'team',
      userInfo: { username: 'alice', groups: ['dev'] },
    });
  });
});
