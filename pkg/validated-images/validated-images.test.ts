import { toValidatedImages, toValidationNeededCondition, VALIDATED_IMAGES_ANNOTATIONS } from './validated-images.js';

const POD = { group: '', kind: 'Pod' };
const pod = (spec: object) => ({ metadata: { name: 'p' }, spec });

describe('toValidatedImages', () => {
  it('lists init containers, containers and ephemeral containers, in that order, after the version', () => {
    const record = toValidatedImages(
      POD,
      pod({
        initContainers: [{ name: 'i', image: 'reg.example/init:v1' }],
        containers: [
          { name: 'a', image: 'reg.example/a:v1@sha256:aa' },
          { name: 'b', image: 'reg.example/b' },
        ],
        ephemeralContainers: [{ name: 'e', image: 'busybox' }],
      }),
    );
    expect(record).toBe('v1: reg.example/init:v1 reg.example/a:v1@sha256:aa reg.example/b busybox');
  });

  it.each([
    ['Deployment', 'apps', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }],
    ['StatefulSet', 'apps', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }],
    ['ReplicationController', '', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }],
    ['Job', 'batch', { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }],
    ['CronJob', 'batch', { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'x' }] } } } } } }],
  ])('reads a %s’s Pod template', (kind, group, object) => {
    expect(toValidatedImages({ group, kind }, object)).toBe('v1: x');
  });

  describe('tells lists apart that would read alike joined', () => {
    it('two images, or one with a space in it', () => {
      const two = toValidatedImages(POD, pod({ containers: [{ image: 'a' }, { image: 'b' }] }));
      const one = toValidatedImages(POD, pod({ containers: [{ image: 'a b' }] }));
      expect(two).toBe('v1: a b');
      expect(one).toBe('v1: a%20b');
      expect(one).not.toBe(two);
    });

    it('an escape written out, a missing image, an empty one, or none at all', () => {
      const records = [
        toValidatedImages(POD, pod({ containers: [{ image: 'a%20b' }] })),
        toValidatedImages(POD, pod({ containers: [{ image: 'a b' }] })),
        toValidatedImages(POD, pod({ containers: [{ name: 'no-image' }] })),
        toValidatedImages(POD, pod({ containers: [{ image: '%00' }] })),
        toValidatedImages(POD, pod({ containers: [{ image: '' }] })),
        toValidatedImages(POD, pod({ containers: [] })),
      ];
      expect(records).toEqual(['v1: a%2520b', 'v1: a%20b', 'v1: %00', 'v1: %2500', 'v1: ', 'v1:']);
      expect(new Set(records).size).toBe(records.length);
    });
  });

  it('does not tell which container list an image is in: the checks read every list alike', () => {
    expect(toValidatedImages(POD, pod({ initContainers: [{ image: 'a' }], containers: [{ image: 'b' }] }))).toBe(
      toValidatedImages(POD, pod({ containers: [{ image: 'a' }, { image: 'b' }] })),
    );
  });

  describe('gives no record', () => {
    it.each([
      ['a kind whose images are read by imageExtractors', { group: 'tekton.dev', kind: 'Task' }, { spec: {} }],
      ['a kind of another group', { group: 'example.com', kind: 'Deployment' }, pod({ containers: [] })],
      ['an object without a spec', POD, { metadata: {} }],
      ['a spec that is not an object', POD, { spec: [] }],
      ['containers that are not a list', POD, pod({ containers: { image: 'a' } })],
      ['a container that is not an object', POD, pod({ containers: ['a'] })],
      ['an image that is not a string', POD, pod({ containers: [{ image: 7 }] })],
      ['a spec the object only inherits', POD, Object.create({ spec: { containers: [] } }) as object],
    ])('for %s', (_what, kind, object) => {
      expect(toValidatedImages(kind, object)).toBeUndefined();
    });
  });
});

describe('toValidationNeededCondition', () => {
  it('is named, and reads the annotation of its failure policy', () => {
    const condition = toValidationNeededCondition(VALIDATED_IMAGES_ANNOTATIONS.Ignore);
    expect(condition.name).toBe('imprimatur.io/images-changed-after-mutation');
    expect(condition.expression).toContain(`object.metadata.annotations['imprimatur.io/validated-images-ignore']`);
    expect(condition.expression).not.toContain('validated-images-fail');
  });
  // Whether kube-apiserver reads it as toValidatedImages writes it is judged by the real kube-apiserver
  // (test/e2e/validated-images.test.ts).
});
