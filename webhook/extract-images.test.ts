import type { RuleType } from '../pkg/api/v1/index.js';
import { compileImageExtractors, type CompiledImageExtractors } from '../pkg/policy/index.js';
import {
  extractImages,
  MAX_EXTRACTED_IMAGES,
  MAX_PULL_SECRET_ENTRIES,
  MAX_SEARCHED_ENTRIES,
  type ExtractedImages,
} from './extract-images.js';

function extractors(config: RuleType['imageExtractors']): CompiledImageExtractors {
  const result = compileImageExtractors(config, 'spec.rules[0].imageExtractors');
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

function extracted(kind: string, object: unknown, custom?: CompiledImageExtractors): ExtractedImages {
  const result = extractImages(kind, object, custom);
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

function failure(kind: string, object: unknown, custom?: CompiledImageExtractors): string {
  const result = extractImages(kind, object, custom);
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** Where each image sits, and what the extractor called it: the shape tests compare most. */
const summary = (images: ExtractedImages) => images.images.map((i) => [i.extractor, i.key, i.pointer, i.written]);

const podSpec = () => ({
  initContainers: [{ name: 'init', image: 'busybox' }],
  containers: [
    { name: 'app', image: 'ghcr.io/acme/app:v1' },
    { name: 'sidecar', image: 'docker.io/library/envoy@sha256:' + 'a'.repeat(64) },
  ],
  ephemeralContainers: [{ name: 'debug', image: 'localhost:5000/debug' }],
});

// Kyverno's control characters and bidi controls, as pkg/text defines them.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('extractImages', () => {
  describe('when given each kind Kyverno knows', () => {
    const template = { metadata: { labels: { app: 'x' } }, spec: podSpec() };
    it.each([
      ['Pod', { spec: podSpec() }, '/spec'],
      ['DaemonSet', { spec: { template } }, '/spec/template/spec'],
      ['Deployment', { spec: { replicas: 2, template } }, '/spec/template/spec'],
      ['ReplicaSet', { spec: { template } }, '/spec/template/spec'],
      ['ReplicationController', { spec: { template } }, '/spec/template/spec'],
      ['StatefulSet', { spec: { template } }, '/spec/template/spec'],
      ['Job', { spec: { template } }, '/spec/template/spec'],
      [
        'CronJob',
        { spec: { schedule: '* * * * *', jobTemplate: { spec: { template } } } },
        '/spec/jobTemplate/spec/template/spec',
      ],
    ])('finds the images of a %s below %s, init containers first', (kind, object, base) => {
      expect(summary(extracted(kind, object))).toEqual([
        ['initContainers', 'init', `${base}/initContainers/0/image`, 'busybox'],
        ['containers', 'app', `${base}/containers/0/image`, 'ghcr.io/acme/app:v1'],
        ['containers', 'sidecar', `${base}/containers/1/image`, `docker.io/library/envoy@sha256:${'a'.repeat(64)}`],
        ['ephemeralContainers', 'debug', `${base}/ephemeralContainers/0/image`, 'localhost:5000/debug'],
      ]);
    });

    it('parses each image the way Kyverno does', () => {
      const refs = extracted('Pod', { spec: podSpec() }).images.map((i) => i.ref);
      expect(refs).toEqual([
        { registry: 'docker.io', repository: 'busybox', tag: 'latest' },
        { registry: 'ghcr.io', repository: 'acme/app', tag: 'v1' },
        { registry: 'docker.io', repository: 'library/envoy', digest: `sha256:${'a'.repeat(64)}` },
        { registry: 'localhost:5000', repository: 'debug', tag: 'latest' },
      ]);
    });
  });

  describe('when the request is for pods/ephemeralcontainers', () => {
    it('reads the Pod it carries the same way, the added ephemeral container included', () => {
      const pod = {
        spec: { containers: [{ name: 'app', image: 'app:1' }], ephemeralContainers: [{ name: 'dbg', image: 'dbg:2' }] },
      };
      expect(summary(extracted('Pod', pod))).toEqual([
        ['containers', 'app', '/spec/containers/0/image', 'app:1'],
        ['ephemeralContainers', 'dbg', '/spec/ephemeralContainers/0/image', 'dbg:2'],
      ]);
    });
  });

  describe('when the kind has no extractor', () => {
    it('finds no images, so no rule applies (Kyverno conformance test imageExtractors-none)', () => {
      expect(extracted('Task', { spec: { steps: [{ image: 'ubuntu' }] } })).toEqual({
        images: [],
        imagePullSecrets: [],
      });
    });
  });

  describe('when the object is absent, as on DELETE', () => {
    it('finds no images', () => {
      expect(extracted('Pod', undefined).images).toEqual([]);
      expect(extracted('Pod', null).images).toEqual([]);
    });
  });

  describe('when the rule has a custom extractor', () => {
    it('reads a Tekton Task step by step, keyed by pointer under "custom"', () => {
      const task = {
        spec: { steps: [{ name: 'build', image: 'golang:1.22' }, { name: 'noop' }, { image: 'alpine' }] },
      };
      expect(summary(extracted('Task', task, extractors({ Task: [{ path: '/spec/steps/*/image' }] })))).toEqual([
        ['custom', '/spec/steps/0/image', '/spec/steps/0/image', 'golang:1.22'],
        ['custom', '/spec/steps/2/image', '/spec/steps/2/image', 'alpine'],
      ]);
    });

    it('reads value and key under its name from a custom resource', () => {
      const app = {
        spec: {
          components: [
            { name: 'web', image: { ref: 'x' }, source: 'ghcr.io/acme/web:1' },
            { name: 'db', source: 'postgres:16' },
          ],
        },
      };
      const custom = extractors({
        App: [{ path: '/spec/components/*', value: 'source', key: 'name', name: 'components' }],
      });
      expect(summary(extracted('App', app, custom))).toEqual([
        ['components', 'web', '/spec/components/0/source', 'ghcr.io/acme/web:1'],
        ['components', 'db', '/spec/components/1/source', 'postgres:16'],
      ]);
    });

    it('replaces the built-in extractors for the kind, as in Kyverno', () => {
      const custom = extractors({ Pod: [{ path: '/spec/containers/*/image', name: 'only-containers' }] });
      expect(
        summary(extracted('Pod', { spec: podSpec() }, custom)).map(([name, , pointer]) => [name, pointer]),
      ).toEqual([
        ['only-containers', '/spec/containers/0/image'],
        ['only-containers', '/spec/containers/1/image'],
      ]);
    });

    it('leaves the built-in extractors for the kinds it does not name', () => {
      const custom = extractors({ Task: [{ path: '/spec/steps/*/image' }] });
      expect(extracted('Pod', { spec: podSpec() }, custom).images).toHaveLength(4);
    });

    it('walks the members of an object under *, escaping ~ and / in the pointer', () => {
      const object = { spec: { images: { 'team/app': { ref: 'ghcr.io/team/app:1' }, 'x~y': { ref: 'x:1' } } } };
      const custom = extractors({ Catalog: [{ path: '/spec/images/*/ref' }] });
      expect(extracted('Catalog', object, custom).images.map((i) => i.pointer)).toEqual([
        '/spec/images/team~1app/ref',
        '/spec/images/x~0y/ref',
      ]);
    });

    it('reads an object member named __proto__ as the data it is', () => {
      const object = JSON.parse('{"spec":{"images":{"__proto__":{"ref":"evil:1"}}}}');
      const custom = extractors({ Catalog: [{ path: '/spec/images/*/ref' }] });
      expect(summary(extracted('Catalog', object, custom))).toEqual([
        ['custom', '/spec/images/__proto__/ref', '/spec/images/__proto__/ref', 'evil:1'],
      ]);
    });

    it('applies its jmesPath to the string, keeping the string as written', () => {
      const custom = extractors({ Task: [{ path: '/spec/steps/*/image', jmesPath: "trim_prefix(@, 'docker://')" }] });
      const [image] = extracted(
        'Task',
        { spec: { steps: [{ image: 'docker://ghcr.io/acme/tool:2' }] } },
        custom,
      ).images;
      expect(image).toEqual({
        pointer: '/spec/steps/0/image',
        written: 'docker://ghcr.io/acme/tool:2',
        ref: { registry: 'ghcr.io', repository: 'acme/tool', tag: '2' },
        extractor: 'custom',
        key: '/spec/steps/0/image',
      });
    });

    it('is an error naming the pointer when the jmesPath yields no string', () => {
      const custom = extractors({ Task: [{ path: '/spec/steps/*/image', jmesPath: 'length(@)' }] });
      expect(failure('Task', { spec: { steps: [{ image: 'nginx' }] } }, custom)).toBe(
        'jmespath "length(@)" must produce a string, but produced 5, for the image at "/spec/steps/0/image"',
      );
    });

    it("reports an empty list with Kyverno's words", () => {
      const empty: CompiledImageExtractors = new Map([['Task', []]]);
      expect(failure('Task', {}, empty)).toBe('no extractors found for Task');
    });
  });

  describe('when two images share a key or an extractor name', () => {
    it('returns both, where Kyverno would keep only the last', () => {
      const pod = {
        spec: {
          containers: [
            { name: 'app', image: 'a:1' },
            { name: 'app', image: 'b:1' },
          ],
        },
      };
      expect(extracted('Pod', pod).images.map((i) => i.written)).toEqual(['a:1', 'b:1']);
      const custom = extractors({ Task: [{ path: '/spec/a' }, { path: '/spec/b' }] });
      expect(extracted('Task', { spec: { a: 'a:1', b: 'b:1' } }, custom).images.map((i) => i.written)).toEqual([
        'a:1',
        'b:1',
      ]);
    });
  });

  describe('when the object names pull secrets', () => {
    it("collects the pod spec's, once each, in order", () => {
      const spec = { ...podSpec(), imagePullSecrets: [{ name: 'regcred' }, { name: 'mirror' }, { name: 'regcred' }] };
      expect(extracted('Deployment', { spec: { template: { spec } } }).imagePullSecrets).toEqual(['regcred', 'mirror']);
    });

    it('collects them at every level walked, as Kyverno does', () => {
      const cronJob = {
        imagePullSecrets: [{ name: 'top' }],
        spec: {
          jobTemplate: { spec: { template: { spec: { imagePullSecrets: [{ name: 'pod' }], containers: [] } } } },
        },
      };
      expect(extracted('CronJob', cronJob).imagePullSecrets).toEqual(['top', 'pod']);
    });

    it('passes over entries that could not name a Secret', () => {
      const spec = {
        containers: [{ name: 'a', image: 'a' }],
        imagePullSecrets: [
          null,
          'plain',
          { name: 42 },
          { name: '' },
          { name: '../../other' },
          { name: 'Upper' },
          { name: 'ok.example-1' },
        ],
      };
      expect(extracted('Pod', { spec }).imagePullSecrets).toEqual(['ok.example-1']);
      expect(extracted('Pod', { spec: { ...spec, imagePullSecrets: 'regcred' } }).imagePullSecrets).toEqual([]);
    });
  });

  describe('when an image is empty or missing', () => {
    it('skips it, as Kyverno does (conformance test empty-image)', () => {
      const containers = [
        { name: 'a', image: '' },
        { name: 'b', image: '   ' },
        { name: 'c', image: '\u0085\u00a0\t' },
        { name: 'd' },
        { name: 'e', image: null },
        null,
        { name: 'f', image: 'nginx' },
      ];
      expect(summary(extracted('Pod', { spec: { containers } }))).toEqual([
        ['containers', 'f', '/spec/containers/6/image', 'nginx'],
      ]);
    });
  });

  describe('when the object has the wrong shape', () => {
    it.each([
      [
        'an image that is a number',
        { spec: { containers: [{ name: 'a', image: 42 }] } },
        'invalid image: "/spec/containers/0/image" is 42, not a string',
      ],
      [
        'an image that is an object',
        { spec: { containers: [{ name: 'a', image: { ref: 'x' } }] } },
        'invalid image: "/spec/containers/0/image" is an object, not a string',
      ],
      [
        'a container list that is a string',
        { spec: { containers: 'nginx' } },
        'invalid type: "/spec/containers" is "nginx", not an array or an object',
      ],
      [
        'a container that is a string',
        { spec: { containers: ['nginx'] } },
        'invalid image config: "/spec/containers/0" is "nginx", not an object',
      ],
      ['a spec that is an array', { spec: [] }, 'invalid image config: "/spec" is an array, not an object'],
      ['an object that is a string', 'Pod', 'invalid image config: the object is "Pod", not an object'],
      [
        'a container without a name',
        { spec: { containers: [{ image: 'nginx' }] } },
        'invalid key: "/spec/containers/0/name" is nothing, not a string',
      ],
    ])('reports %s, naming the pointer', (_what, object, message) => {
      expect(failure('Pod', object)).toBe(message);
    });

    it('iterates containers given as an object, as Kyverno does', () => {
      const pod = { spec: { containers: { first: { name: 'a', image: 'a:1' } } } };
      expect(summary(extracted('Pod', pod))).toEqual([['containers', 'a', '/spec/containers/first/image', 'a:1']]);
    });
  });

  describe('when an image does not parse', () => {
    it("is an error in Kyverno's words, with the reason", () => {
      expect(failure('Pod', { spec: { containers: [{ name: 'a', image: 'Nginx:latest' }] } })).toBe(
        'invalid image "Nginx:latest" (repository name must be lowercase)',
      );
      expect(failure('Pod', { spec: { containers: [{ name: 'a', image: 'nginx:v1"x' }] } })).toMatch(
        /^invalid image "nginx:v1\\"x" \(tag "v1\\"x" is not valid: /,
      );
    });

    it('never lets control characters or bidi controls into the message', () => {
      const image = 'ghcr.io/a\u202e\u001b[31m:v1\nlevel=error msg="forged"';
      const message = failure('Pod', { spec: { containers: [{ name: 'a', image }] } });
      expect(message).toMatch(/^invalid image "/);
      expect(message).not.toMatch(UNSAFE);
    });

    it('quotes a long image only in part', () => {
      const message = failure('Pod', { spec: { containers: [{ name: 'a', image: `a/${'b'.repeat(5000)}` }] } });
      expect(message.length).toBeLessThan(700);
    });
  });

  describe('when the object is built to make extraction slow', () => {
    /** n containers whose image reads are counted: the work done, as a number rather than a time. */
    function countedContainers(n: number, image: string) {
      const reads = { count: 0 };
      const containers = Array.from({ length: n }, (_, i) => {
        const container = { name: `c${i}` };
        Object.defineProperty(container, 'image', {
          enumerable: true,
          get: () => {
            reads.count++;
            return image;
          },
        });
        return container;
      });
      return { reads, pod: { spec: { containers } } };
    }

    it('stops at the image cap: 100,000 containers cost at most one read over it', () => {
      const { reads, pod } = countedContainers(100_000, 'nginx');
      expect(failure('Pod', pod)).toBe(`too many images: the object has more than ${MAX_EXTRACTED_IMAGES}`);
      expect(reads.count).toBe(MAX_EXTRACTED_IMAGES + 1);
    });

    it('stops at the entry cap when the containers hold no images', () => {
      const { reads, pod } = countedContainers(100_000, '');
      expect(failure('Pod', pod)).toBe(
        `too many entries: the object has more than ${MAX_SEARCHED_ENTRIES} to search for images`,
      );
      expect(reads.count).toBe(MAX_SEARCHED_ENTRIES);
    });

    it('stops at the pull secret cap', () => {
      let reads = 0;
      const imagePullSecrets = Array.from({ length: 100_000 }, () => ({
        get name() {
          reads++;
          return 'regcred';
        },
      }));
      expect(failure('Pod', { spec: { imagePullSecrets, containers: [] } })).toBe(
        `too many imagePullSecrets: the object has more than ${MAX_PULL_SECRET_ENTRIES}`,
      );
      expect(reads).toBe(MAX_PULL_SECRET_ENTRIES);
    });

    it('reads a pod spec shared by three container lists once', () => {
      let reads = 0;
      const spec = {
        containers: [{ name: 'a', image: 'a' }],
        get imagePullSecrets() {
          reads++;
          return [{ name: 'regcred' }];
        },
      };
      expect(extracted('Pod', { spec }).imagePullSecrets).toEqual(['regcred']);
      expect(reads).toBe(1);
    });

    it('counts a sparse array by the entries it walks, not its length', () => {
      const containers: unknown[] = [];
      containers.length = 2 ** 32 - 1;
      expect(failure('Pod', { spec: { containers } })).toMatch(/^too many entries/);
    });
  });

  describe('when fed random JSON', () => {
    it('never throws, and every image it returns is where its pointer says', () => {
      const random = mulberry32(0x5eed);
      const custom = extractors({
        Task: [
          { path: '/spec/steps/*/image' },
          { path: '/spec/*/*', value: 'image', key: 'name', jmesPath: "trim_prefix(@, 'docker://')" },
        ],
        Pod: [{ path: '/spec/containers/*/image' }, { path: '/spec/*/*/image', name: 'deep' }],
      });
      const kinds = ['Pod', 'Deployment', 'CronJob', 'Job', 'Task', 'Unknown'];
      let found = 0;
      let failed = 0;
      for (let run = 0; run < 3000; run++) {
        const kind = kinds[Math.floor(random() * kinds.length)]!;
        const object = randomObject(random);
        for (const extractorSet of [undefined, custom]) {
          const result = extractImages(kind, object, extractorSet);
          if (!result.ok) {
            failed++;
            expect(typeof result.error).toBe('string');
            expect(result.error).not.toMatch(UNSAFE);
            continue;
          }
          for (const image of result.value.images) {
            found++;
            expect(resolvePointer(object, image.pointer)).toBe(image.written);
            expect(typeof image.key).toBe('string');
          }
          expect(result.value.images.length).toBeLessThanOrEqual(MAX_EXTRACTED_IMAGES);
        }
      }
      // The generator is meant to reach both outcomes often; if it stops doing so, it tests nothing.
      expect(found).toBeGreaterThan(300);
      expect(failed).toBeGreaterThan(300);
    });
  });
});

/** A small seeded PRNG (mulberry32), so that a failure replays. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'spec',
  'template',
  'jobTemplate',
  'containers',
  'initContainers',
  'ephemeralContainers',
  'steps',
  'image',
  'name',
  'imagePullSecrets',
  '__proto__',
  'a/b',
  '~',
  '',
];
const STRINGS = [
  'nginx',
  'ghcr.io/acme/app:v1',
  'docker://ghcr.io/acme/app:v1',
  `busybox@sha256:${'0'.repeat(64)}`,
  '',
  '  ',
  'Nginx',
  'a\u202eb',
  'x\u001b[2Jy',
  'line\nbreak',
  ':::',
  'localhost:5000/x',
  'a'.repeat(2000),
  '\ud800',
  'regcred',
];

/** Random JSON, shaped like a pod often enough to reach images, and unlike one often enough to reach errors. */
function randomObject(random: () => number): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 5 || r < 0.25) {
      const s = random();
      if (s < 0.6) return pick(STRINGS);
      if (s < 0.7) return null;
      if (s < 0.8) return Math.floor(random() * 100);
      if (s < 0.9) return random() < 0.5;
      return undefined;
    }
    if (r < 0.45) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    if (r < 0.7) return container();
    const object: Record<string, unknown> = {};
    const n = Math.floor(random() * 4);
    for (let i = 0; i < n; i++)
      Object.defineProperty(object, pick(KEYS), {
        value: value(depth + 1),
        enumerable: true,
        configurable: true,
        writable: true,
      });
    return object;
  };
  const container = () =>
    random() < 0.9
      ? { name: pick(STRINGS), image: random() < 0.8 ? pick(STRINGS.slice(0, 4)) : pick(STRINGS) }
      : { image: value(6) };
  const podSpec = () => ({
    containers: Array.from({ length: Math.floor(random() * 4) }, () => (random() < 0.85 ? container() : value(3))),
    ...(random() < 0.3 ? { initContainers: value(3) } : {}),
    ...(random() < 0.3 ? { imagePullSecrets: [{ name: pick(STRINGS) }, value(4)] } : {}),
  });
  const shapes = [
    () => ({ spec: podSpec() }),
    () => ({ spec: { template: { spec: podSpec() } } }),
    () => ({ spec: { jobTemplate: { spec: { template: { spec: podSpec() } } } } }),
    () => ({ spec: { steps: Array.from({ length: 3 }, () => container()) } }),
    () => value(0),
  ];
  return pick(shapes)();
}

/** RFC 6901, own members only. */
function resolvePointer(object: unknown, pointer: string): unknown {
  let node = object;
  for (const raw of pointer.split('/').slice(1)) {
    const member = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, member)) return undefined;
    node = (node as Record<string, unknown>)[member];
  }
  return node;
}
