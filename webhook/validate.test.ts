import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRegistry } from '../pkg/cosign/index.js';
import { createSilentLogger } from '../pkg/log/index.js';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { err, ok } from '../pkg/result/index.js';
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { handleMutate } from './mutate.js';
import type { AdmissionResponse, JsonPatchOperation } from './responses.js';
import { handleValidate, type ValidateDeps } from './validate.js';
import { toAnnotationPatches, type ImageVerification } from './verify-annotations.js';
import type { ViolationEvent } from './violation-events.js';

const REVIEW = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'));
const DIGEST_1 = `sha256:${'1'.repeat(64)}`;
const DIGEST_2 = `sha256:${'2'.repeat(64)}`;
const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' });
const ATTESTORS = [{ entries: [{ keys: { publicKeys: KEY, rekor: { ignoreTlog: true } } }] }];
const SCOPED = 'kyverno.io/verify-images-scoped';
const NO_AUTOGEN = { 'pod-policies.kyverno.io/autogen-controllers': 'none' };

const TAGGED = 'registry.example/team/app:v1';
const PINNED = `registry.example/team/app@${DIGEST_1}`;

interface PodOptions {
  readonly annotations?: Record<string, unknown>;
  readonly namespace?: string;
  readonly operation?: AdmissionRequest['operation'];
  readonly containers?: readonly string[];
}

function podRequest(images: string | readonly string[], options: PodOptions = {}): AdmissionRequest {
  const decoded = decodeAdmissionReview(REVIEW);
  if (!decoded.ok) throw new Error(decoded.error);
  const list = typeof images === 'string' ? [images] : images;
  const namespace = options.namespace ?? 'default';
  return {
    ...decoded.value.request,
    name: 'web',
    namespace,
    operation: options.operation ?? 'CREATE',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace, ...(options.annotations ? { annotations: options.annotations } : {}) },
      spec: { containers: list.map((image, i) => ({ name: `c${i}`, image })) },
    },
  };
}

/** The scoped annotation /mutate writes, recording `status` for each (policy, rule, image). */
function scoped(...records: ImageVerification[]): Record<string, string> {
  const patches = toAnnotationPatches({ metadata: { annotations: {} } }, records);
  const value = patches.find((p) => p.path.endsWith('verify-images-scoped'))!.value as string;
  return { [SCOPED]: value };
}

function policy(entry: object, spec: object = {}, metadata: object = { name: 'check-image' }): CompiledPolicy {
  const compiled = compile({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { uid: 'u1', resourceVersion: '7', ...metadata },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{ name: 'check-image', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }],
      ...spec,
    },
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

function namespacedPolicy(entry: object, namespace: string, name: string): CompiledPolicy {
  const compiled = compile({
    apiVersion: 'kyverno.io/v1',
    kind: 'Policy',
    metadata: { name, namespace, uid: 'u2', resourceVersion: '3' },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{ name: 'check-image', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }],
    },
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

function deps(policies: readonly CompiledPolicy[], extra: Partial<ValidateDeps> = {}): ValidateDeps {
  return { policies: () => policies, log: createSilentLogger(), now: Date.now, ...extra };
}

/** Kyverno's deny message for one rule of the ClusterPolicy check-image on the Pod default/web. */
function blocked(message: string, policyName = 'check-image', namespace = 'default'): string {
  return (
    `\n\nresource Pod/${namespace}/web was blocked due to the following policies \n\n` +
    `${policyName}:\n  check-image: '${message}'\n`
  );
}

/** A digest-only entry: nothing to verify, so only verifyDigest and required are in play. */
const digestOnly = (extra: object = {}) => ({ imageReferences: ['registry.example/*'], mutateDigest: false, ...extra });
/** An entry that verifies signatures with a key; mutateDigest off so that it compiles in Audit too. */
const keyed = (extra: object = {}) => ({ imageReferences: ['registry.example/*'], attestors: ATTESTORS, ...extra });

describe('handleValidate, verifyDigest', () => {
  const policies = [policy(digestOnly({ required: false }))];

  it('denies an image without a digest: missing digest, in the blocked-message layout', () => {
    const response = handleValidate(podRequest(TAGGED), deps(policies));
    expect(response.allowed).toBe(false);
    expect(response.status).toEqual({
      code: 403,
      reason: 'Forbidden',
      message: blocked('missing digest for registry.example/team/app:v1'),
    });
  });

  it('names the image as Kyverno does: the default registry and tag filled in', () => {
    const response = handleValidate(podRequest('nginx'), deps([policy(digestOnly({ imageReferences: ['*'] }))]));
    expect(response.status?.message).toContain("'missing digest for docker.io/nginx:latest'");
  });

  it('admits an image with a digest, with or without a tag beside it', () => {
    for (const image of [PINNED, `registry.example/team/app:v1@${DIGEST_1}`]) {
      expect(handleValidate(podRequest(image), deps(policies))).toEqual({ uid: REVIEW.request.uid, allowed: true });
    }
  });

  it('leaves alone images the entry does not name', () => {
    expect(handleValidate(podRequest('elsewhere.example/app:v1'), deps(policies)).allowed).toBe(true);
  });

  it('names the first image without a digest, in container order', () => {
    const response = handleValidate(
      podRequest([PINNED, 'registry.example/team/b:v2', 'registry.example/team/c:v3']),
      deps(policies),
    );
    expect(response.status?.message).toBe(blocked('missing digest for registry.example/team/b:v2'));
  });

  it('checks nothing when the entry asks for neither check', () => {
    const response = handleValidate(
      podRequest(TAGGED),
      deps([policy(digestOnly({ verifyDigest: false, required: false }))]),
    );
    expect(response.allowed).toBe(true);
  });
});

describe('handleValidate, required', () => {
  const policies = [policy(keyed({ verifyDigest: false }))];
  const record = (
    status: ImageVerification['status'],
    image = PINNED,
    policyKey = '/check-image',
    rule = 'check-image',
  ) => scoped({ policy: policyKey, rule, image, status });

  it('denies an image that /mutate never recorded: unverified image', () => {
    const response = handleValidate(podRequest(PINNED), deps(policies));
    expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`));
  });

  it('denies an image /mutate recorded as failed', () => {
    const response = handleValidate(podRequest(PINNED, { annotations: record('fail') }), deps(policies));
    expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`));
  });

  it.each(['pass', 'skip'] as const)('admits an image /mutate recorded as %s', (status) => {
    const response = handleValidate(podRequest(PINNED, { annotations: record(status) }), deps(policies));
    expect(response).toEqual({ uid: REVIEW.request.uid, allowed: true });
  });

  it('looks the image up pinned, as /mutate records it: the tag beside the digest is not part of the key', () => {
    const request = podRequest(`registry.example/team/app:v1@${DIGEST_1}`, { annotations: record('pass') });
    expect(handleValidate(request, deps(policies)).allowed).toBe(true);
  });

  it('does not take a pass recorded for another image, rule or policy', () => {
    for (const annotations of [
      record('pass', `registry.example/team/app@${DIGEST_2}`),
      record('pass', 'registry.example/team/app:v1'),
      record('pass', PINNED, '/check-image', 'other-rule'),
      record('pass', PINNED, '/other-policy'),
      record('pass', PINNED, 'check-image'),
    ]) {
      const response = handleValidate(podRequest(PINNED, { annotations }), deps(policies));
      expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`));
    }
  });

  it('refuses the images of an entry that verifies nothing, as Kyverno does: /mutate records none', () => {
    const response = handleValidate(podRequest(PINNED), deps([policy(digestOnly())]));
    expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`));
  });

  it('checks the digest first, as Kyverno does', () => {
    const response = handleValidate(podRequest(TAGGED), deps([policy(keyed({ mutateDigest: false }))]));
    expect(response.status?.message).toBe(blocked('missing digest for registry.example/team/app:v1'));
  });

  it('reads the tag form for an entry that does not pin', () => {
    const annotations = record('pass', 'registry.example/team/app:v1');
    const response = handleValidate(
      podRequest(TAGGED, { annotations }),
      deps([policy(keyed({ mutateDigest: false, verifyDigest: false }))]),
    );
    expect(response.allowed).toBe(true);
  });
});

describe('handleValidate, Policy and ClusterPolicy', () => {
  const entry = keyed({ verifyDigest: false });

  it('looks a ClusterPolicy up as "/<name>"', () => {
    const annotations = scoped({ policy: '/check-image', rule: 'check-image', image: PINNED, status: 'pass' });
    expect(handleValidate(podRequest(PINNED, { annotations }), deps([policy(entry)])).allowed).toBe(true);
  });

  it('looks a Policy up as "<namespace>/<name>", and names it so in the deny message', () => {
    const team = [namespacedPolicy(entry, 'team', 'check')];
    const annotations = scoped({ policy: 'team/check', rule: 'check-image', image: PINNED, status: 'pass' });
    expect(handleValidate(podRequest(PINNED, { annotations, namespace: 'team' }), deps(team)).allowed).toBe(true);
    const cluster = scoped({ policy: '/check', rule: 'check-image', image: PINNED, status: 'pass' });
    const response = handleValidate(podRequest(PINNED, { annotations: cluster, namespace: 'team' }), deps(team));
    expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`, 'team/check', 'team'));
  });

  it('applies a Policy only in its own namespace', () => {
    const team = [namespacedPolicy(entry, 'team', 'check')];
    expect(handleValidate(podRequest(PINNED, { namespace: 'other' }), deps(team)).allowed).toBe(true);
  });
});

describe('handleValidate, skipImageReferences', () => {
  it('plays no part in required: /mutate records a skip, which passes, and nothing else does', () => {
    const policies = [policy(keyed({ verifyDigest: false, skipImageReferences: ['registry.example/team/*'] }))];
    const skipped = scoped({ policy: '/check-image', rule: 'check-image', image: PINNED, status: 'skip' });
    expect(handleValidate(podRequest(PINNED, { annotations: skipped }), deps(policies)).allowed).toBe(true);
    expect(handleValidate(podRequest(PINNED), deps(policies)).status?.message).toBe(
      blocked(`unverified image ${PINNED}`),
    );
  });

  it('spares a skipped image the digest when the entry pins digests, as Kyverno’s /mutate would have pinned it', () => {
    const policies = [policy(keyed({ required: false, skipImageReferences: ['registry.example/team/*'] }))];
    expect(handleValidate(podRequest(TAGGED), deps(policies)).allowed).toBe(true);
    // Another image of the same entry still needs its digest.
    const other = handleValidate(podRequest('registry.example/other/app:v1'), deps(policies));
    expect(other.status?.message).toBe(blocked('missing digest for registry.example/other/app:v1'));
  });

  it('still asks a skipped image for a digest when the entry does not pin', () => {
    const policies = [policy(digestOnly({ required: false, skipImageReferences: ['registry.example/team/*'] }))];
    expect(handleValidate(podRequest(TAGGED), deps(policies)).allowed).toBe(false);
  });
});

describe('handleValidate, Audit', () => {
  const audit = [policy(keyed({ mutateDigest: false }), { validationFailureAction: 'Audit' })];

  it('admits a failing image with a warning in Kyverno’s words', () => {
    const response = handleValidate(podRequest(TAGGED), deps(audit));
    expect(response).toEqual({
      uid: REVIEW.request.uid,
      allowed: true,
      warnings: ['policy check-image.check-image: missing digest for registry.example/team/app:v1'],
    });
  });

  it('follows an entry’s own failureAction over the policy’s', () => {
    const enforcedEntry = [
      policy(keyed({ mutateDigest: false, failureAction: 'Enforce' }), { validationFailureAction: 'Audit' }),
    ];
    expect(handleValidate(podRequest(TAGGED), deps(enforcedEntry)).allowed).toBe(false);
  });

  it('records a PolicyViolation Event about the policy and one about the Pod it let through', () => {
    const events: ViolationEvent[] = [];
    handleValidate(podRequest(TAGGED), deps(audit, { recordEvent: (e) => void events.push(e) }));
    expect(events.map((e) => [e.regarding.kind, e.action, e.note])).toEqual([
      [
        'ClusterPolicy',
        'Resource Passed',
        'Pod default/web: [check-image] fail; missing digest for registry.example/team/app:v1',
      ],
      [
        'Pod',
        'Resource Passed',
        'policy check-image/check-image fail: missing digest for registry.example/team/app:v1',
      ],
    ]);
  });
});

describe('handleValidate, which requests and rules it looks at', () => {
  const policies = [policy(digestOnly())];

  it.each(['DELETE', 'CONNECT'] as const)('admits %s without looking', (operation) => {
    expect(handleValidate(podRequest(TAGGED, { operation }), deps(policies)).allowed).toBe(true);
  });

  it('checks an UPDATE as a CREATE', () => {
    expect(handleValidate(podRequest(TAGGED, { operation: 'UPDATE' }), deps(policies)).allowed).toBe(false);
  });

  it('leaves alone a kind no rule names', () => {
    const request = { ...podRequest(TAGGED), kind: { group: 'apps', version: 'v1', kind: 'Deployment' } };
    expect(
      handleValidate(request, deps([policy(digestOnly(), {}, { name: 'p', annotations: NO_AUTOGEN })])).allowed,
    ).toBe(true);
  });

  it('leaves alone a request the rule excludes', () => {
    const excluding = policy(digestOnly(), {
      rules: [
        {
          name: 'check-image',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          exclude: { any: [{ resources: { namespaces: ['def*'] } }] },
          verifyImages: [digestOnly()],
        },
      ],
    });
    expect(handleValidate(podRequest(TAGGED), deps([excluding])).allowed).toBe(true);
  });

  it('checks a Deployment through the autogen rule, keyed by that rule’s name', () => {
    const request = {
      ...podRequest(TAGGED),
      kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
      object: {
        metadata: {
          name: 'web',
          annotations: scoped({ policy: '/check-image', rule: 'autogen-check-image', image: PINNED, status: 'pass' }),
        },
        spec: { template: { spec: { containers: [{ name: 'c', image: PINNED }] } } },
      },
    };
    const required = [policy(keyed({ verifyDigest: false }))];
    expect(handleValidate(request, deps(required)).allowed).toBe(true);
    const response = handleValidate(
      { ...request, object: { ...request.object, metadata: { name: 'web' } } },
      deps(required),
    );
    expect(response.status?.message).toContain(`autogen-check-image: 'unverified image ${PINNED}'`);
  });
});

describe('handleValidate, kubectl debug (pods/ephemeralcontainers)', () => {
  const policies = [policy(keyed())];
  const stored = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default' },
    spec: { containers: [{ name: 'c0', image: TAGGED }] },
  };
  const debug = (image: string): AdmissionRequest => ({
    ...podRequest(TAGGED, { operation: 'UPDATE' }),
    subResource: 'ephemeralcontainers',
    oldObject: stored,
    object: { ...stored, spec: { ...stored.spec, ephemeralContainers: [{ name: 'dbg', image }] } },
  });

  it('admits a pinned debug image: neither its dropped record nor the stored, unpinned containers count', () => {
    expect(handleValidate(debug(`registry.example/tools/dbg@${DIGEST_2}`), deps(policies)).allowed).toBe(true);
  });

  it('denies a debug image without a digest', () => {
    const response = handleValidate(debug('registry.example/tools/dbg:v1'), deps(policies));
    expect(response.status?.message).toBe(blocked('missing digest for registry.example/tools/dbg:v1'));
  });
});

describe('handleValidate, the annotation as the requester wrote it', () => {
  const policies = [policy(keyed({ verifyDigest: false }))];
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const hostile: [string, unknown][] = [
    ['not JSON', '{"version":1,'],
    ['a JSON array', '[1,2,3]'],
    ['a JSON string', '"pass"'],
    ['null', 'null'],
    [
      'version 2',
      JSON.stringify({ version: 2, policies: { '/check-image': { 'check-image': { [PINNED]: 'pass' } } } }),
    ],
    [
      'version "1"',
      JSON.stringify({ version: '1', policies: { '/check-image': { 'check-image': { [PINNED]: 'pass' } } } }),
    ],
    ['policies as an array', JSON.stringify({ version: 1, policies: [] })],
    [
      'a status that is not one',
      JSON.stringify({ version: 1, policies: { '/check-image': { 'check-image': { [PINNED]: 'PASS' } } } }),
    ],
    [
      'a status object',
      JSON.stringify({ version: 1, policies: { '/check-image': { 'check-image': { [PINNED]: { pass: true } } } } }),
    ],
    ['prototype keys', '{"__proto__":{"version":1},"policies":{"__proto__":{"check-image":{}}}}'],
    ['deep nesting', deep],
    ['more than the API server allows', JSON.stringify({ version: 1, policies: {}, pad: 'x'.repeat(300 * 1024) })],
    ['a number', 42],
    ['an object', { version: 1 }],
  ];

  it.each(hostile)('reads %s as nothing recorded, without throwing', (_what, value) => {
    const response = handleValidate(podRequest(PINNED, { annotations: { [SCOPED]: value } }), deps(policies));
    expect(response.status?.message).toBe(blocked(`unverified image ${PINNED}`));
  });

  it.each([
    ['annotations that are a list', { annotations: ['x'] }],
    ['metadata that is a string', 'x'],
  ])('reads %s as nothing recorded', (_what, metadata) => {
    const request = podRequest(PINNED);
    const object = { ...(request.object as object), metadata };
    expect(handleValidate({ ...request, object }, deps(policies)).allowed).toBe(false);
  });

  it('refuses an object that is not one, naming the problem, without throwing', () => {
    const response = handleValidate({ ...podRequest(PINNED), object: { spec: { containers: 'x' } } }, deps(policies));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('not an array or an object');
  });
});

describe('handleValidate, when something throws (a bug)', () => {
  const throwing = (failurePolicy: 'Fail' | 'Ignore'): CompiledPolicy => {
    const base = policy(digestOnly(), { failurePolicy });
    const rule = base.rules[0]!;
    const filter = {
      ...rule.filter!,
      matches: () => {
        throw new Error('bug');
      },
    };
    return { ...base, rules: [{ ...rule, filter }] };
  };

  it('denies under failurePolicy Fail rather than answering 500', () => {
    const response = handleValidate(podRequest(PINNED), deps([throwing('Fail')]));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toBe(
      blocked('the images could not be validated:\n    an internal error; see the operator log'),
    );
  });

  it('admits with a warning under failurePolicy Ignore', () => {
    const response = handleValidate(podRequest(PINNED), deps([throwing('Ignore')]));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([
      'policy check-image.check-image: the images could not be validated: an internal error; see the operator log',
    ]);
  });
});

describe('handleValidate after handleMutate', () => {
  /** A registry whose tags all name DIGEST_1, and which holds no signatures. */
  const registry: ImageRegistry = {
    resolveDigest: async () =>
      ok({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST_1, size: 1 }),
    getManifest: async () => err({ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', registry: 'r' }),
    getBlob: async () => err({ code: 'BLOB_UNKNOWN', message: 'blob unknown', registry: 'r' }),
    listReferrers: async () => ok({ descriptors: [], source: 'api' as const, bytesRead: 0, truncated: false }),
  };

  /** The request the validating webhook gets: the object with the mutating webhook's patches applied. */
  async function mutated(request: AdmissionRequest, policies: CompiledPolicy[]): Promise<AdmissionRequest> {
    const response = await handleMutate(request, { ...deps(policies), registry });
    expect(response.allowed).toBe(true);
    return { ...request, object: applyPatch(request.object, response) };
  }

  it('admits a digest-only entry that does not require a record, pinned by /mutate', async () => {
    const policies = [policy({ imageReferences: ['registry.example/*'], required: false })];
    const request = await mutated(podRequest(TAGGED), policies);
    expect(handleValidate(request, deps(policies)).allowed).toBe(true);
  });

  it('refuses a digest-only entry that requires a record: /mutate pinned it but verified nothing', async () => {
    const policies = [policy({ imageReferences: ['registry.example/*'] })];
    const request = await mutated(podRequest(TAGGED), policies);
    expect(handleValidate(request, deps(policies)).status?.message).toBe(
      blocked(`unverified image registry.example/team/app@${DIGEST_1}`),
    );
  });

  it('warns in Audit about an image /mutate recorded as failed', async () => {
    const policies = [
      policy(keyed({ mutateDigest: false, verifyDigest: false }), { validationFailureAction: 'Audit' }),
    ];
    const request = await mutated(podRequest(TAGGED), policies);
    expect(handleValidate(request, deps(policies)).warnings).toEqual([
      'policy check-image.check-image: unverified image registry.example/team/app:v1',
    ]);
  });
});

/** Applies the add and replace operations of a JSON patch, as the API server would. */
function applyPatch(object: unknown, response: AdmissionResponse): unknown {
  const copy = structuredClone(object) as Record<string, unknown>;
  const ops = response.patch
    ? (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as JsonPatchOperation[])
    : [];
  for (const op of ops) {
    const path = op.path
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    let node = copy as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[path.at(-1)!] = op.value;
  }
  return copy;
}
