import { readScopedRecord, toAnnotationPatches } from './verify-annotations.js';

const IMAGE = `ghcr.io/kyverno/zulu@sha256:${'4'.repeat(64)}`;

describe('toAnnotationPatches', () => {
  describe('when the object has no annotations', () => {
    it('creates the map, then writes both annotations as Kyverno does', () => {
      const patches = toAnnotationPatches({ metadata: { name: 'p' } }, [
        { policy: '/check-image', rule: 'check-image', image: IMAGE, status: 'pass' },
      ]);
      expect(patches).toEqual([
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'add', path: '/metadata/annotations/kyverno.io~1verify-images', value: `{"${IMAGE}":"pass"}` },
        {
          op: 'add',
          path: '/metadata/annotations/kyverno.io~1verify-images-scoped',
          value: `{"policies":{"/check-image":{"check-image":{"${IMAGE}":"pass"}}},"version":1}`,
        },
      ]);
    });
  });

  describe('when the object already carries the annotations (forged or stale)', () => {
    it('overwrites them with what was verified now', () => {
      const forged = { metadata: { annotations: { 'kyverno.io/verify-images': `{"${IMAGE}":"pass"}` } } };
      const patches = toAnnotationPatches(forged, [{ policy: '/p', rule: 'r', image: IMAGE, status: 'fail' }]);
      expect(patches[0]).toEqual({
        op: 'add',
        path: '/metadata/annotations/kyverno.io~1verify-images',
        value: `{"${IMAGE}":"fail"}`,
      });
    });
  });

  describe('when one image passes one rule and fails another', () => {
    it('records the failure in the flat map and each rule in the scoped one', () => {
      const patches = toAnnotationPatches({ metadata: { annotations: {} } }, [
        { policy: '/p', rule: 'a', image: IMAGE, status: 'fail' },
        { policy: '/p', rule: 'b', image: IMAGE, status: 'pass' },
      ]);
      expect(patches[0]!.value).toBe(`{"${IMAGE}":"fail"}`);
      expect(JSON.parse(patches[1]!.value as string)).toEqual({
        version: 1,
        policies: { '/p': { a: { [IMAGE]: 'fail' }, b: { [IMAGE]: 'pass' } } },
      });
    });
  });

  it('writes nothing when nothing was verified', () => {
    expect(toAnnotationPatches({}, [])).toEqual([]);
  });
});

describe('readScopedRecord', () => {
  const scoped = (value: unknown) => ({
    metadata: { annotations: { 'kyverno.io/verify-images-scoped': JSON.stringify(value) } },
  });

  it('reads the status the old object records for the policy, rule and image', () => {
    const old = scoped({ version: 1, policies: { '/p': { r: { [IMAGE]: 'pass' } } } });
    expect(readScopedRecord(old)('/p', 'r', IMAGE)).toBe('pass');
    expect(readScopedRecord(old)('/p', 'other', IMAGE)).toBeUndefined();
  });

  it.each([
    ['another version', scoped({ version: 2, policies: { '/p': { r: { [IMAGE]: 'pass' } } } })],
    ['a status that is not one', scoped({ version: 1, policies: { '/p': { r: { [IMAGE]: 'yes' } } } })],
    ['not JSON', { metadata: { annotations: { 'kyverno.io/verify-images-scoped': '{' } } }],
    ['null', null],
    ['an inherited key', scoped({ version: 1, policies: {} })],
  ])('says nothing for %s', (_what, old) => {
    expect(readScopedRecord(old)('/p', 'r', IMAGE)).toBeUndefined();
    expect(readScopedRecord(old)('__proto__', 'r', IMAGE)).toBeUndefined();
  });
});
