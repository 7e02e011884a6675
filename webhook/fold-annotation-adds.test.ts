import { applyOwnPatches } from './apply-own-patches.js';
import { foldAnnotationAdds } from './fold-annotation-adds.js';
import type { JsonPatchOperation } from './responses.js';

const POD = { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'registry.example/app:v1' }] } };
const PINNED = 'registry.example/app:v1@sha256:aa';

/** What a mutating admission of POD sends: the map, its two verify-images members, the digest, the record. */
const ADMISSION: readonly JsonPatchOperation[] = [
  { op: 'add', path: '/metadata/annotations', value: {} },
  { op: 'add', path: '/metadata/annotations/kyverno.io~1verify-images', value: `{"${PINNED}":"pass"}` },
  { op: 'add', path: '/metadata/annotations/kyverno.io~1verify-images-scoped', value: '{"policies":{},"version":1}' },
  { op: 'replace', path: '/spec/containers/0/image', value: PINNED },
  { op: 'add', path: '/metadata/annotations/imprimatur.io~1validated-images-fail', value: `v1: ${PINNED}` },
];

function applied(object: unknown, ops: readonly JsonPatchOperation[]): unknown {
  const result = applyOwnPatches(structuredClone(object), ops);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

describe('foldAnnotationAdds', () => {
  describe('when an admission adds the annotations map and then its members', () => {
    it('sends the map whole in one add, before the digest patch, with the same object as the result', () => {
      const folded = foldAnnotationAdds(ADMISSION);
      expect(folded).toEqual([
        {
          op: 'add',
          path: '/metadata/annotations',
          value: {
            'kyverno.io/verify-images': `{"${PINNED}":"pass"}`,
            'kyverno.io/verify-images-scoped': '{"policies":{},"version":1}',
            'imprimatur.io/validated-images-fail': `v1: ${PINNED}`,
          },
        },
        { op: 'replace', path: '/spec/containers/0/image', value: PINNED },
      ]);
      expect(applied(POD, folded)).toEqual(applied(POD, ADMISSION));
    });

    it('keeps members the map was added with, and reads ~0 and ~1 in member names', () => {
      const folded = foldAnnotationAdds([
        { op: 'add', path: '/metadata/annotations', value: { first: '1' } },
        { op: 'add', path: '/metadata/annotations/a~1b~0c', value: '2' },
      ]);
      expect(folded).toEqual([{ op: 'add', path: '/metadata/annotations', value: { first: '1', 'a/b~c': '2' } }]);
    });

    it('keeps a member named __proto__ an own member of the map, not its prototype', () => {
      const [op] = foldAnnotationAdds([
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'add', path: '/metadata/annotations/__proto__', value: 'x' },
      ]);
      const map = op!.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
      expect(Object.hasOwn(map, '__proto__')).toBe(true);
      expect(JSON.stringify(op)).toBe('{"op":"add","path":"/metadata/annotations","value":{"__proto__":"x"}}');
    });
  });

  describe('when a later operation touches the map some other way', () => {
    it('folds nothing after it, so that the order of what touches the map is kept', () => {
      const ops: JsonPatchOperation[] = [
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'add', path: '/metadata/annotations/a', value: '1' },
        { op: 'remove', path: '/metadata/annotations/a' },
        { op: 'add', path: '/metadata/annotations/a', value: '2' },
      ];
      const folded = foldAnnotationAdds(ops);
      expect(folded).toEqual([
        { op: 'add', path: '/metadata/annotations', value: { a: '1' } },
        { op: 'remove', path: '/metadata/annotations/a' },
        { op: 'add', path: '/metadata/annotations/a', value: '2' },
      ]);
      expect(applied(POD, folded)).toEqual(applied(POD, ops));
    });

    it.each([
      ['the metadata replaced', { op: 'replace', path: '/metadata', value: { name: 'other' } }],
      ['the map replaced', { op: 'replace', path: '/metadata/annotations', value: {} }],
      ['a nested path', { op: 'add', path: '/metadata/annotations/a/b', value: '1' }],
    ] as const)('stops at %s', (_name, interrupting) => {
      const ops: JsonPatchOperation[] = [
        { op: 'add', path: '/metadata/annotations', value: {} },
        interrupting,
        { op: 'add', path: '/metadata/annotations/late', value: '1' },
      ];
      expect(foldAnnotationAdds(ops)).toEqual(ops);
    });
  });

  describe('when the object has annotations already', () => {
    it('leaves the member adds as they are: there is no map add to fold them into', () => {
      const ops = ADMISSION.slice(1);
      expect(foldAnnotationAdds(ops)).toBe(ops);
    });
  });
});
