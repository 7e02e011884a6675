// Property-based fuzzing of the admission webhook (issue 14, hostile input at admission): malformed and hostile
// AdmissionReviews sent over HTTP/2 and HTTP/1.1 to the real server (startWebhook), deciding with real compiled
// verifyImages policies against an in-memory registry that answers at once. Every answer must be well-formed (a 4xx
// with a text reason, or a 200 AdmissionReview for the same uid), in bounded time, with the process still serving.
// fast-check prints the seed and the shrunk counterexample of any failure; rerun one with FUZZ_SEED=<seed>.
// An unhandled rejection or uncaught exception in the server fails the running test: jest-circus listens for them on
// the real process (the test's `process` is a copy whose listeners Node never calls).
import { generateKeyPairSync, sign } from 'node:crypto';
import { connect as connectHttp2, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { VerificationCache } from '../pkg/cache/index.js';
import type { ImageRegistry } from '../pkg/cosign/index.js';
import type { ImageRef } from '../pkg/imageref/index.js';
import { createLogger } from '../pkg/log/index.js';
import { computeDigest, type FetchedManifest, type ImageManifest, type OciFailure } from '../pkg/oci/index.js';
import { compile, RuleCache, type CompiledPolicy } from '../pkg/policy/index.js';
import { err, ok } from '../pkg/result/index.js';
import { createServingCertificates, type ServingCertificates } from '../pkg/tls/index.js';
import { startWebhook, type RunningServer } from './index.js';
import type { PassCache } from './verify-images.js';

// ---------------------------------------------------------------------------------------------------------------
// The webhook under test: real policies, a registry in memory

const KEY_PAIR = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = KEY_PAIR.publicKey.export({ type: 'spki', format: 'pem' }).toString();
/** What every image whose repository has "signed" in it resolves to, signed with PUBLIC_KEY's private half. */
const SIGNED_DIGEST = computeDigest(Buffer.from('the signed image manifest'));
const UNKNOWN: OciFailure = { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', registry: 'fuzz' };

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DIGEST_B = `sha256:${'b'.repeat(64)}`;

/** A manifest as a registry serves it (the shape of pkg/cosign/testdata/fake-registry.ts). */
function toManifest(fields: Pick<ImageManifest, 'config' | 'layers'>): FetchedManifest {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields }));
  const manifest: ImageManifest = { kind: 'manifest', schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields };
  return { digest: computeDigest(bytes), mediaType: OCI_MANIFEST, bytes, manifest };
}

/**
 * Images whose repository has "signed" in it resolve to SIGNED_DIGEST and carry a legacy cosign signature by
 * PUBLIC_KEY (a .sig manifest of one simple-signing layer); any other resolves to DIGEST_B and has no signature.
 * Every answer comes at once, in a later turn of the event loop, as from the network.
 */
function splitRegistry(): ImageRegistry {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': 'registry.example/signed/app' },
        image: { 'docker-manifest-digest': SIGNED_DIGEST },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const layer = {
    mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
    digest: computeDigest(payload),
    size: payload.length,
    annotations: {
      'dev.cosignproject.cosign/signature': sign('sha256', payload, KEY_PAIR.privateKey).toString('base64'),
    },
  };
  const config = {
    mediaType: 'application/vnd.oci.empty.v1+json',
    digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    size: 2,
  };
  const sig = toManifest({ config, layers: [layer] });
  const manifests = new Map([
    [`${SIGNED_DIGEST.replace(':', '-')}.sig`, sig],
    [sig.digest, sig],
  ]);
  const isSigned = (ref: ImageRef) => ref.repository.includes('signed');
  const later = <T>(value: T) => new Promise<T>((resolve) => setImmediate(() => resolve(value)));
  return {
    resolveDigest: (ref) =>
      later(ok({ mediaType: OCI_MANIFEST, digest: isSigned(ref) ? SIGNED_DIGEST : DIGEST_B, size: 400 })),
    getManifest: (ref, reference) => {
      const manifest = isSigned(ref) && reference !== undefined ? manifests.get(reference) : undefined;
      return later(manifest ? ok(manifest) : err(UNKNOWN));
    },
    getBlob: (ref, digest) =>
      later(
        isSigned(ref) && digest === layer.digest ? ok(payload) : err({ ...UNKNOWN, code: 'BLOB_UNKNOWN' as const }),
      ),
    listReferrers: () => later(ok({ descriptors: [], source: 'api' as const, bytesRead: 0, truncated: false })),
  };
}

function compiled(policy: object): CompiledPolicy {
  const result = compile(policy);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

const keyAttestors = (publicKeys: string) => [{ entries: [{ keys: { publicKeys, rekor: { ignoreTlog: true } } }] }];

/** Enforce, failurePolicy Fail: every image is checked against the key, pinned to its digest; Pods and, by autogen, every controller. */
const ENFORCE = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'fuzz-enforce', uid: 'u-enforce', resourceVersion: '1' },
  spec: {
    validationFailureAction: 'Enforce',
    failurePolicy: 'Fail',
    webhookTimeoutSeconds: 5,
    rules: [
      {
        name: 'check-signed',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        context: [
          { name: 'team', variable: { value: '{{ request.namespace }}' } },
          { name: 'tier', variable: { jmesPath: 'request.object.metadata.labels.tier', default: 'gold' } },
          { name: 'upper', variable: { value: { n: '{{ team }}' }, jmesPath: 'to_upper(n)' } },
        ],
        verifyImages: [
          {
            imageReferences: ['*'],
            skipImageReferences: ['*/skip/*'],
            attestors: keyAttestors(PUBLIC_KEY),
            mutateDigest: true,
            verifyDigest: true,
            required: true,
          },
        ],
      },
    ],
  },
};

/** Audit, failurePolicy Ignore: a key from a ConfigMap, an API call, custom extractors, attestation conditions. */
const AUDIT = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'fuzz-audit', uid: 'u-audit', resourceVersion: '1' },
  spec: {
    validationFailureAction: 'Audit',
    failurePolicy: 'Ignore',
    webhookTimeoutSeconds: 5,
    rules: [
      {
        name: 'custom-kinds',
        match: { any: [{ resources: { kinds: ['Pod', 'example.dev/v1/Task'] } }] },
        context: [
          { name: 'keys', configMap: { name: 'keys', namespace: 'security' } },
          {
            name: 'pods',
            apiCall: { urlPath: '/api/v1/namespaces/{{ request.namespace }}/pods', jmesPath: 'items | length(@)' },
          },
        ],
        imageExtractors: {
          Task: [{ path: '/spec/steps/*', value: 'image', key: 'name', name: 'steps' }],
          Pod: [{ path: '/spec/containers/*/image', name: 'containers' }],
        },
        verifyImages: [
          {
            imageReferences: ['registry.example/*', 'ghcr.io/*', 'docker.io/*'],
            attestors: keyAttestors('{{ keys.data.prod }}'),
            mutateDigest: false,
          },
        ],
      },
      {
        name: 'provenance',
        match: { any: [{ resources: { kinds: ['Pod'] } }] },
        verifyImages: [
          {
            imageReferences: ['*/signed/*'],
            mutateDigest: false,
            attestations: [
              {
                type: 'https://slsa.dev/provenance/v1',
                attestors: keyAttestors(PUBLIC_KEY),
                conditions: [{ all: [{ key: '{{ builder.id }}', operator: 'Equals', value: 'ci' }] }],
              },
            ],
          },
        ],
      },
    ],
  },
};

const PATHS = ['/mutate', '/mutate/fail', '/mutate/ignore', '/validate', '/validate/fail'] as const;
type Protocol = 'h2' | 'h1';

/** A request that takes longer than this is a failure; a whole property is bounded by its runs times this. */
const MAX_REQUEST_MS = 2_000;

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
  readonly ms: number;
}

interface Sent {
  readonly path: string;
  readonly body: string | Buffer;
  readonly protocol: Protocol;
  /** undefined: no content-type header at all. */
  readonly type?: string | undefined;
  readonly method?: string;
}

let certs: ServingCertificates;
let server: RunningServer;
let session: ClientHttp2Session | undefined;
let agent: Agent;
/** Error log records: the handlers log one for any exception they catch (a bug). */
const errors: Record<string, unknown>[] = [];
/** Answers that hit a known defect, which its own test reports. */
const stats = { requests: 0, maxMs: 0, byStatus: new Map<number, number>(), allowed: 0, denied: 0, patched: 0 };

beforeAll(async () => {
  certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  const cache = new RuleCache();
  const enforce = compiled(ENFORCE);
  // The controllers' Pod templates are checked through autogen rules, as in a cluster.
  const autogen = enforce.rules.map((r) => r.name).filter((n) => n.startsWith('autogen-'));
  if (autogen.length !== 2) throw new Error(`expected the two autogen rules, got ${autogen.join(', ')}`);
  cache.upsert(enforce);
  cache.upsert(compiled(AUDIT));
  cache.markWarm();
  const log = createLogger({
    level: 'error',
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        errors.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  });
  const passes: PassCache = new VerificationCache({ now: Date.now });
  server = await startWebhook({
    cache,
    tls: certs,
    host: '127.0.0.1',
    port: 0,
    log,
    verification: {
      registry: splitRegistry(),
      cache: passes,
      ruleContext: {
        configMap: (namespace, name) =>
          namespace === 'security' && name === 'keys' ? ok({ data: { prod: PUBLIC_KEY } }) : err('not found'),
        apiCall: () => Promise.resolve(ok({ items: [{}, {}] })),
      },
    },
    closeGraceMs: 1_000,
  });
  agent = new Agent({ keepAlive: true, maxSockets: 2, ca: certs.caPem, ALPNProtocols: ['http/1.1'] });
});

afterAll(async () => {
  session?.close();
  agent?.destroy();
  await server?.close();
  const statuses = [...stats.byStatus].map(([s, n]) => `${s}: ${n}`).join(', ');
  process.stdout.write(
    `admission fuzz: ${stats.requests} requests, slowest ${stats.maxMs.toFixed(0)} ms (${statuses}); ` +
      `reviews: ${stats.allowed} allowed (${stats.patched} with a patch), ${stats.denied} denied\n`,
  );
});

function h2Session(): ClientHttp2Session {
  if (!session || session.closed || session.destroyed) {
    // Node's client counts the body it has yet to send against its session memory (10 MB by default) and resets
    // the streams past it with ENHANCE_YOUR_CALM: the bodies over the server's 7 MiB limit are sent whole.
    session = connectHttp2(`https://127.0.0.1:${server.port}`, { ca: certs.caPem, maxSessionMemory: 64 });
    session.on('error', () => {});
  }
  return session;
}

function send(sent: Sent): Promise<Answer> {
  const started = performance.now();
  const method = sent.method ?? 'POST';
  const headers: Record<string, string> = sent.type === undefined ? {} : { 'content-type': sent.type };
  const answer = new Promise<Omit<Answer, 'ms'>>((resolve, reject) => {
    if (sent.protocol === 'h2') {
      const stream = h2Session().request({ ':method': method, ':path': sent.path, ...headers });
      let response: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      stream.on('response', (h) => (response = h));
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('end', () =>
        response[':status'] === undefined
          ? reject(new Error('the stream ended without a response'))
          : resolve({
              status: Number(response[':status']),
              type: String(response['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
      );
      stream.on('error', reject);
      // Node's client ends a GET's stream with its headers.
      if (method !== 'GET') stream.end(sent.body);
    } else {
      const req = httpsRequest(
        { host: '127.0.0.1', port: server.port, path: sent.path, method, agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: String(res.headers['content-type'] ?? ''),
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(sent.body);
    }
  });
  return answer.then((a) => {
    const ms = performance.now() - started;
    stats.requests++;
    stats.maxMs = Math.max(stats.maxMs, ms);
    stats.byStatus.set(a.status, (stats.byStatus.get(a.status) ?? 0) + 1);
    return { ...a, ms };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// What a well-formed answer is

const PATCH_OPS = new Set(['add', 'remove', 'replace', 'test', 'move', 'copy']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 6901: "" or "/"-separated tokens, "~" only as ~0 or ~1. */
function isJsonPointer(p: unknown): p is string {
  return typeof p === 'string' && (p === '' || (p.startsWith('/') && !/~(?![01])/.test(p)));
}

/** Applies RFC 6902 add, replace and remove to `doc` (own properties only), throwing where the API server would fail. */
function applyPatch(doc: unknown, ops: readonly Record<string, unknown>[]): void {
  for (const op of ops) {
    const tokens = (op['path'] as string)
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop();
    if (last === undefined) throw new Error(`${String(op['op'])} of the whole document`);
    let parent: unknown = doc;
    for (const t of tokens) {
      if (Array.isArray(parent) && /^(0|[1-9]\d*)$/.test(t) && Number(t) < parent.length) parent = parent[Number(t)];
      else if (isObject(parent) && Object.hasOwn(parent, t)) parent = parent[t];
      else throw new Error(`path ${String(op['path'])}: no ${t}`);
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (!/^(0|[1-9]\d*|-)$/.test(last) || index > parent.length || (op['op'] !== 'add' && index >= parent.length))
        throw new Error(`path ${String(op['path'])}: no index ${last}`);
      if (op['op'] === 'add') parent.splice(index, 0, op['value']);
      else if (op['op'] === 'replace') parent[index] = op['value'];
      else if (op['op'] === 'remove') parent.splice(index, 1);
    } else if (isObject(parent)) {
      if (op['op'] !== 'add' && !Object.hasOwn(parent, last))
        throw new Error(`path ${String(op['path'])}: ${op['op'] as string} of a missing member`);
      if (op['op'] === 'remove') delete parent[last];
      else
        Object.defineProperty(parent, last, {
          value: op['value'],
          enumerable: true,
          writable: true,
          configurable: true,
        });
    } else throw new Error(`path ${String(op['path'])}: the parent is not a container`);
  }
}

/** What the server must have understood the body as: JSON.parse's reading (the last of duplicate keys wins). */
function parsedRequest(body: string | Buffer): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(body.toString());
    return isObject(json) && isObject(json['request']) ? json['request'] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every answer is a 4xx with a text reason, or a 200 AdmissionReview for the request's uid with a boolean `allowed`
 * and, when there is one, a base64 JSON Patch of valid operations that applies to the object sent.
 */
function expectWellFormed(
  sent: Sent,
  answer: Answer,
  expected: 'admission' | 'any',
): Record<string, unknown> | undefined {
  const where = `${sent.protocol} ${sent.path}: ${answer.status} ${answer.body.slice(0, 300)}`;
  if (answer.ms >= MAX_REQUEST_MS) throw new Error(`${where}: took ${answer.ms.toFixed(0)} ms`);
  if (answer.status !== 200) {
    if (expected === 'admission') throw new Error(`${where}: expected an AdmissionReview answer`);
    if (answer.status < 400 || answer.status > 499) throw new Error(`${where}: neither 200 nor 4xx`);
    if (!answer.type.startsWith('text/plain') || answer.body.trim() === '') throw new Error(`${where}: no text reason`);
    return undefined;
  }
  const request = parsedRequest(sent.body);
  if (!request) throw new Error(`${where}: 200 for a body without a request`);
  if (answer.type !== 'application/json') throw new Error(`${where}: content-type ${answer.type}`);
  const review: unknown = JSON.parse(answer.body);
  if (!isObject(review) || review['apiVersion'] !== 'admission.k8s.io/v1' || review['kind'] !== 'AdmissionReview')
    throw new Error(`${where}: not an AdmissionReview`);
  const response = review['response'];
  if (!isObject(response)) throw new Error(`${where}: no response`);
  if (response['uid'] !== request['uid']) throw new Error(`${where}: uid ${JSON.stringify(request['uid'])} not kept`);
  if (typeof response['allowed'] !== 'boolean') throw new Error(`${where}: allowed is not a boolean`);
  if (response['allowed']) stats.allowed++;
  else stats.denied++;
  if (response['patch'] !== undefined) stats.patched++;
  const status = response['status'];
  if (status !== undefined && (!isObject(status) || typeof status['message'] !== 'string'))
    throw new Error(`${where}: malformed status`);
  if (response['allowed'] === false && (!isObject(status) || status['message'] === ''))
    throw new Error(`${where}: a denial without a message`);
  const warnings = response['warnings'];
  if (warnings !== undefined && (!Array.isArray(warnings) || !warnings.every((w) => typeof w === 'string')))
    throw new Error(`${where}: malformed warnings`);
  if (response['patch'] !== undefined) {
    if (response['patchType'] !== 'JSONPatch' || typeof response['patch'] !== 'string')
      throw new Error(`${where}: malformed patch`);
    if (response['allowed'] !== true) throw new Error(`${where}: a patch on a denial`);
    const ops: unknown = JSON.parse(Buffer.from(response['patch'], 'base64').toString('utf8'));
    if (!Array.isArray(ops) || ops.length === 0) throw new Error(`${where}: the patch is not a list of operations`);
    for (const op of ops) {
      if (!isObject(op) || !PATCH_OPS.has(op['op'] as string) || !isJsonPointer(op['path']))
        throw new Error(`${where}: invalid operation ${JSON.stringify(op)}`);
      if (['add', 'replace', 'test'].includes(op['op'] as string) && !Object.hasOwn(op, 'value'))
        throw new Error(`${where}: ${op['op'] as string} without a value`);
    }
    try {
      applyPatch(request['object'], ops as Record<string, unknown>[]);
    } catch (e) {
      throw new Error(`${where}: the patch does not apply to the object: ${(e as Error).message}`);
    }
  }
  return response;
}

/** Sends one case, checks its answer, then that the server still serves /healthz and logged no bug. */
async function exchange(sent: Sent, expected: 'admission' | 'any'): Promise<Record<string, unknown> | undefined> {
  const before = errors.length;
  const response = expectWellFormed(sent, await send(sent), expected);
  const health = await send({ path: '/healthz', body: '', protocol: sent.protocol, method: 'GET' });
  if (health.status !== 200) throw new Error(`/healthz answered ${health.status} after the case`);
  if (errors.length > before) throw new Error(`the server logged a bug: ${JSON.stringify(errors.slice(before))}`);
  if ('polluted' in {}) throw new Error('Object.prototype was polluted');
  return response;
}

// ---------------------------------------------------------------------------------------------------------------
// Generators

const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];
const BIDI = ['\u202e', '\u202d', '\u202a', '\u2066', '\u2067', '\u2068', '\u2069', '\u061c', '\u200e', '\u200f'];
const CONTROL = ['\u0000', '\n', '\r', '\t', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029', '\ud800', '\udfff'];
const ODD_CHARS = [...ZERO_WIDTH, ...BIDI, ...CONTROL, 'а', 'ｒ', 'İ', 'ß', '\u0301', '😀', '{{', '}}', '%', '\\', '"'];
const HEX = (n: number) => 'a'.repeat(n);

const plausibleImage = fc
  .record({
    registry: fc.constantFrom(
      'registry.example/',
      'ghcr.io/',
      'docker.io/',
      'localhost:5000/',
      '127.0.0.1:1/',
      '[::1]:5000/',
      'REGISTRY.EXAMPLE/',
      '',
    ),
    repository: fc.constantFrom('signed/app', 'team/app', 'library/nginx', 'skip/x', 'a/b/c/d/e/f', 'app', 'signed'),
    tag: fc.constantFrom('', ':v1', ':latest', ':1.0.0-rc.1', `:${'t'.repeat(128)}`, `:${'t'.repeat(129)}`),
    digest: fc.constantFrom('', `@${SIGNED_DIGEST}`, `@${DIGEST_B}`, `@sha256:${HEX(63)}`, `@sha512:${HEX(128)}`),
  })
  .map(({ registry, repository, tag, digest }) => `${registry}${repository}${tag}${digest}`);

/** Image strings that are almost references, or nothing like one. */
const nearMiss = fc.constantFrom(
  '',
  ' ',
  'registry.example/app@sha256:',
  'registry.example/app@sha256:abc',
  'registry.example/app:',
  ':v1',
  `@sha256:${HEX(64)}`,
  'registry.example//app',
  `registry.example/app:v1@sha256:${'A'.repeat(64)}`,
  'http://registry.example/signed/app',
  'registry.example:99999/app',
  'registry.example:-1/app',
  'registry.example/-app',
  'registry.example/app/',
  ' registry.example/signed/app',
  'registry.example/signed/app:v1 ',
  '../../etc/passwd',
  'registry.example/app@@sha256:x',
  'registry.example/app:v1:v2',
  'registry.example/APP',
  '{{ request.object }}',
  '{{ to_string(request) }}',
  '$(IMAGE)',
  '*',
  'registry.example/*',
  'registry.example/signed/app#frag',
  'registry.example/signed/app?x=1',
  'user:pass@registry.example/app',
  'registry.example/signed/app@sha256:' + SIGNED_DIGEST.slice(7).toUpperCase(),
);

const oddChar = fc.constantFrom(...ODD_CHARS);

/** A plausible reference with odd characters spliced in: control, zero-width, bidi, homoglyphs, lone surrogates. */
const spliced = fc
  .tuple(plausibleImage, fc.array(fc.tuple(fc.nat(), oddChar), { minLength: 1, maxLength: 4 }))
  .map(([image, inserts]) =>
    inserts.reduce((s, [at, c]) => {
      const i = at % (s.length + 1);
      return s.slice(0, i) + c + s.slice(i);
    }, image),
  );

const longImage = fc
  .tuple(fc.constantFrom('registry.example/', 'registry.example/signed/', ''), fc.integer({ min: 256, max: 100_000 }))
  .chain(([prefix, n]) =>
    fc
      .constantFrom('a', 'a/', 'signed/', ':', '@', '\u200b', '😀', '.')
      .map((unit) => prefix + unit.repeat(Math.ceil(n / unit.length))),
  );

const unicodeString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: oddChar, maxLength: 20 }),
);

/** A non-string where a string belongs. */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.array(plausibleImage, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), plausibleImage, { maxKeys: 3 }),
);

const hostileImage: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: plausibleImage, weight: 4 },
  { arbitrary: spliced, weight: 3 },
  { arbitrary: nearMiss, weight: 2 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: longImage, weight: 1 },
  { arbitrary: wrongType, weight: 2 },
);

const hostileString: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom('web', 'default', 'security', 'kube-system', ''), weight: 3 },
  { arbitrary: unicodeString, weight: 2 },
  { arbitrary: fc.constantFrom('{{ request.object }}', '{{ @ }}', "{{ repeat('x', `100000`) }}", '../..'), weight: 1 },
  { arbitrary: wrongType, weight: 1 },
);

const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

/** `value` with own members named like Object.prototype's, as JSON.parse would make them. */
const withProtoKeys = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc
    .tuple(
      arb,
      fc.array(
        fc.tuple(
          fc.constantFrom(...PROTO_KEYS),
          fc.constantFrom<unknown>({ polluted: true }, { prototype: { polluted: true } }, 'x', null, []),
        ),
        { maxLength: 2 },
      ),
    )
    .map(([value, keys]) => {
      if (!isObject(value)) return value;
      const copy: Record<string, unknown> = { ...value };
      for (const [k, v] of keys)
        Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
      return copy as T;
    });

const container = withProtoKeys(
  fc.record(
    {
      name: hostileString,
      image: hostileImage,
      env: fc.oneof(fc.constant([{ name: 'A', value: 'b' }]), wrongType),
    },
    { requiredKeys: ['image'] },
  ),
);
const brokenContainer: fc.Arbitrary<unknown> = fc.oneof(container, { arbitrary: wrongType, weight: 1 });
const containers = fc.oneof(
  { arbitrary: fc.array(brokenContainer, { maxLength: 6 }), weight: 5 },
  { arbitrary: wrongType, weight: 1 },
);

const podSpec: fc.Arbitrary<unknown> = withProtoKeys(
  fc.record(
    {
      containers,
      initContainers: containers,
      ephemeralContainers: containers,
      imagePullSecrets: fc.oneof(
        fc.constant([{ name: 'pull' }]),
        fc.array(fc.record({ name: hostileString })),
        wrongType,
      ),
    },
    { requiredKeys: ['containers'] },
  ),
);

/** Forged kyverno.io/verify-images and -scoped annotations, and others. */
const annotations: fc.Arbitrary<unknown> = withProtoKeys(
  fc.record(
    {
      'kyverno.io/verify-images': fc.oneof(
        fc.constantFrom(
          '{"registry.example/team/app:v1":"pass"}',
          `{"registry.example/team/app@${DIGEST_B}":"pass"}`,
          '{"*":"pass"}',
          '{',
          '"pass"',
          'null',
          '[]',
        ),
        fc
          .dictionary(fc.oneof(plausibleImage, unicodeString), fc.constantFrom('pass', 'skip', 'fail', 1, null))
          .map((m) => JSON.stringify(m)),
        wrongType,
      ),
      'kyverno.io/verify-images-scoped': fc.oneof(
        fc.constantFrom(
          JSON.stringify({
            version: 1,
            policies: { '/fuzz-enforce': { 'check-signed': { 'registry.example/team/app:v1': 'pass' } } },
          }),
          JSON.stringify({ version: 2, policies: null }),
          JSON.stringify({ version: 1, policies: { __proto__: { polluted: true } } }),
          '{"version":1,"policies":{"/fuzz-enforce":{"check-signed":{"registry.example/team/app:v1":"pass","registry.example/team/app:v1":"fail"}}}}',
          '{"version":1',
        ),
        wrongType,
      ),
      other: hostileString,
    },
    { requiredKeys: [] },
  ),
);

const metadata: fc.Arbitrary<unknown> = fc.oneof(
  withProtoKeys(
    fc.record(
      {
        name: hostileString,
        namespace: hostileString,
        labels: fc.oneof(fc.record({ tier: hostileString }), wrongType),
        annotations: fc.oneof({ arbitrary: annotations, weight: 4 }, { arbitrary: wrongType, weight: 1 }),
      },
      { requiredKeys: [] },
    ),
  ),
  wrongType,
);

/** Where a Pod template sits in each controller kind, per Kyverno's built-in extractors. */
const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};
const KIND_GROUPS: Readonly<Record<string, string>> = {
  Pod: '',
  Deployment: 'apps',
  DaemonSet: 'apps',
  StatefulSet: 'apps',
  ReplicaSet: 'apps',
  ReplicationController: '',
  Job: 'batch',
  CronJob: 'batch',
  Task: 'example.dev',
  ConfigMap: '',
};
const KINDS = Object.keys(KIND_GROUPS);

/** An object of `shape`'s kind, its Pod template intact or broken at one level (replaced by junk). */
const workload = (shape: string): fc.Arbitrary<unknown> =>
  fc
    .record({
      metadata,
      spec: podSpec,
      steps: fc.array(fc.record({ name: hostileString, image: hostileImage }), { maxLength: 4 }),
      breakAt: fc.option(fc.nat(), { freq: 3 }),
      junk: wrongType,
    })
    .map(({ metadata: meta, spec, steps, breakAt, junk }) => {
      if (shape === 'Task') return { apiVersion: 'example.dev/v1', kind: 'Task', metadata: meta, spec: { steps } };
      const path = [...(TEMPLATE_PATHS[shape] ?? ['spec', 'template']), 'spec'];
      let inner: unknown = spec;
      const broken = breakAt === null ? -1 : breakAt % (path.length + 1);
      for (let i = path.length - 1; i >= 0; i--) {
        inner = i === broken ? junk : { [path[i]!]: inner, ...(i === 0 ? {} : { metadata: { labels: { app: 'x' } } }) };
      }
      return {
        apiVersion: 'v1',
        kind: shape,
        metadata: meta,
        ...(broken === path.length ? { spec: junk } : (inner as object)),
      };
    });

interface Envelope {
  readonly apiVersion: 'admission.k8s.io/v1';
  readonly kind: 'AdmissionReview';
  readonly request: Record<string, unknown>;
}

/** A valid AdmissionReview envelope around a hostile object: the server must answer it with a review. */
const envelope = (operation: fc.Arbitrary<string>, oldObject: (object: unknown) => fc.Arbitrary<unknown>) =>
  fc
    .record({
      uid: fc.oneof(
        fc.uuid(),
        unicodeString.filter((s) => s !== ''),
      ),
      kind: fc.constantFrom(...KINDS),
      shape: fc.option(fc.constantFrom(...KINDS), { freq: 4 }),
      operation,
      namespace: fc.option(fc.oneof(fc.constantFrom('default', 'security', 'kube-system'), unicodeString), {
        nil: undefined,
      }),
      name: fc.option(unicodeString, { nil: undefined }),
      username: fc.oneof(fc.constantFrom('system:serviceaccount:default:sa', 'admin'), unicodeString),
      groups: fc.array(unicodeString, { maxLength: 3 }),
      dryRun: fc.boolean(),
    })
    .chain((r) =>
      workload(r.shape ?? r.kind).chain((object) =>
        oldObject(object).map((old): Envelope => ({
          apiVersion: 'admission.k8s.io/v1',
          kind: 'AdmissionReview',
          request: {
            uid: r.uid,
            kind: { group: KIND_GROUPS[r.kind], version: 'v1', kind: r.kind },
            resource: { group: KIND_GROUPS[r.kind], version: 'v1', resource: `${r.kind.toLowerCase()}s` },
            operation: r.operation,
            ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
            ...(r.name === undefined ? {} : { name: r.name }),
            userInfo: { username: r.username, groups: r.groups },
            object,
            ...(old === undefined ? {} : { oldObject: old }),
            dryRun: r.dryRun,
          },
        })),
      ),
    );

const target = fc.record({ path: fc.constantFrom(...PATHS), protocol: fc.constantFrom<Protocol>('h2', 'h1') });

/** JSON text of `value` in which object members are repeated with decoy values, before or after the real one. */
function withDuplicateKeys(value: unknown, seed: number, density: number): string {
  let state = seed >>> 0 || 1;
  const random = () => (state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32;
  const DECOYS = ['null', '1', '"x"', '[]', '{}', '{"uid":"decoy"}', 'true', '"registry.example/signed/app:v1"'];
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
    if (!isObject(v)) return JSON.stringify(v) ?? 'null';
    const members: string[] = [];
    for (const [k, member] of Object.entries(v)) {
      const real = `${JSON.stringify(k)}:${write(member)}`;
      if (random() < density) {
        const decoy = `${JSON.stringify(k)}:${DECOYS[Math.floor(random() * DECOYS.length)]!}`;
        members.push(...(random() < 0.5 ? [decoy, real] : [real, decoy]));
      } else members.push(real);
    }
    return `{${members.join(',')}}`;
  };
  return write(value);
}

/** A JSON value nested `depth` deep, as text (JSON.stringify would recurse): arrays, objects, or both. */
function nested(depth: number, style: 'array' | 'object' | 'mixed', leaf: string): string {
  const open = { array: '[', object: '{"a":', mixed: '[{"x":' }[style];
  const close = { array: ']', object: '}', mixed: '}]' }[style];
  return open.repeat(depth) + leaf + close.repeat(depth);
}

// ---------------------------------------------------------------------------------------------------------------
// Properties

const SEED = process.env['FUZZ_SEED'] === undefined ? {} : { seed: Number(process.env['FUZZ_SEED']) };
/** FUZZ_VERBOSE=1 lists every failing value met while shrinking, the first being the one found. */
const VERBOSE = process.env['FUZZ_VERBOSE'] === undefined ? {} : { verbose: Number(process.env['FUZZ_VERBOSE']) };
/** Runs at most this long in all; jest's timeout for each property. */
const PROPERTY_TIMEOUT_MS = 120_000;
/**
 * A run (one case and its /healthz) that has not ended after `timeout` fails, and so does a property still running,
 * shrinking included, after `interruptAfterTimeLimit`: fast-check then reports the seed, not jest's bare timeout.
 */
const params = (numRuns: number): fc.Parameters<unknown> => ({
  numRuns,
  timeout: 10_000,
  interruptAfterTimeLimit: PROPERTY_TIMEOUT_MS - 15_000,
  markInterruptAsFailure: true,
  ...SEED,
  ...VERBOSE,
});

describe('the admission webhook under hostile AdmissionReviews', () => {
  it(
    'answers every workload of every controller kind, with broken templates and hostile images, with a review for its uid',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          envelope(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'), () => fc.constant(undefined)),
          target,
          async (review, { path, protocol }) => {
            await exchange({ path, protocol, body: JSON.stringify(review), type: 'application/json' }, 'admission');
          },
        ),
        params(3_500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers an UPDATE with a hostile oldObject and forged verify-images annotations, and never admits an unsigned image because of them',
    async () => {
      const oldObject = (object: unknown) =>
        fc.oneof(
          fc.constant(object),
          fc.constant(undefined),
          wrongType,
          workload('Pod'),
          fc.jsonValue({ maxDepth: 4 }),
        );
      await fc.assert(
        fc.asyncProperty(
          envelope(fc.constant('UPDATE'), oldObject),
          fc.boolean(),
          target,
          async (review, plant, { path, protocol }) => {
            // Plant a Pod with one unsigned image the Enforce policy covers, which the annotations of the new object
            // claim passed; the old object (as the API server sends it) carries no scoped record of it.
            const forged = plant && review.request['kind'] !== undefined;
            const request = forged
              ? {
                  ...review.request,
                  kind: { group: '', version: 'v1', kind: 'Pod' },
                  object: {
                    metadata: {
                      name: 'forged',
                      annotations: {
                        'kyverno.io/verify-images': '{"registry.example/team/app:v1":"pass"}',
                        'kyverno.io/verify-images-scoped': JSON.stringify({
                          version: 1,
                          policies: { '/fuzz-enforce': { 'check-signed': { 'registry.example/team/app:v1': 'pass' } } },
                        }),
                      },
                    },
                    spec: { containers: [{ name: 'c', image: 'registry.example/team/app:v1' }] },
                  },
                  oldObject: { metadata: { name: 'forged' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
                }
              : review.request;
            const response = await exchange(
              { path, protocol, body: JSON.stringify({ ...review, request }), type: 'application/json' },
              'admission',
            );
            if (forged && (path === '/mutate' || path === '/mutate/fail') && response?.['allowed'] !== false)
              throw new Error('a forged annotation admitted an unsigned image');
          },
        ),
        params(1_500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers a wrong type anywhere in the envelope with a 4xx reason or a review for its uid',
    async () => {
      const PLACES = [
        [],
        ['apiVersion'],
        ['kind'],
        ['request'],
        ['request', 'uid'],
        ['request', 'kind'],
        ['request', 'kind', 'kind'],
        ['request', 'kind', 'group'],
        ['request', 'resource'],
        ['request', 'subResource'],
        ['request', 'operation'],
        ['request', 'namespace'],
        ['request', 'name'],
        ['request', 'userInfo'],
        ['request', 'userInfo', 'username'],
        ['request', 'userInfo', 'groups'],
        ['request', 'dryRun'],
        ['request', 'options'],
        ['request', 'object'],
        ['request', 'object', 'metadata'],
        ['request', 'object', 'metadata', 'annotations'],
        ['request', 'object', 'metadata', 'labels'],
        ['request', 'object', 'spec'],
        ['request', 'oldObject'],
      ] as const;
      const anyJson = fc.oneof(wrongType, fc.jsonValue({ maxDepth: 3 }), unicodeString);
      await fc.assert(
        fc.asyncProperty(
          envelope(fc.constantFrom('CREATE', 'UPDATE'), () => fc.constant(undefined)),
          fc.array(fc.tuple(fc.constantFrom(...PLACES), anyJson), { minLength: 1, maxLength: 3 }),
          target,
          async (review, replacements, { path, protocol }) => {
            let body: unknown = structuredClone(review);
            for (const [place, value] of replacements) {
              // A copy: fast-check hands out the same instance again (fc.constant), and later steps write into it.
              const copy: unknown = structuredClone(value);
              if (place.length === 0) {
                body = copy;
                continue;
              }
              let parent: unknown = body;
              for (const step of place.slice(0, -1)) parent = isObject(parent) ? parent[step] : undefined;
              if (isObject(parent)) parent[place[place.length - 1]!] = copy;
            }
            await exchange({ path, protocol, body: JSON.stringify(body) ?? 'null', type: 'application/json' }, 'any');
          },
        ),
        params(2_500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers bodies that are not JSON, truncated, with duplicate keys or under a wrong content-type',
    async () => {
      const review = envelope(fc.constantFrom('CREATE', 'UPDATE'), () => fc.constant(undefined));
      const body = fc.oneof(
        // Not JSON at all: text, bytes that are not UTF-8, JSON-like keywords.
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.constantFrom(
          '',
          ' ',
          'null',
          'true',
          '0',
          '[]',
          '{}',
          '"AdmissionReview"',
          'NaN',
          '{"a":1}garbage',
          '\ufeff{}',
        ),
        // A review cut short anywhere.
        fc.tuple(review, fc.double({ min: 0, max: 1, noNaN: true })).map(([r, at]) => {
          const text = JSON.stringify(r);
          return text.slice(0, Math.floor(text.length * at));
        }),
        // Duplicate keys at every level, decoys before or after the real member.
        fc
          .tuple(review, fc.nat(), fc.constantFrom(0.05, 0.3, 1))
          .map(([r, seed, density]) => withDuplicateKeys(r, seed, density)),
        // A whole review, to be sent under a content-type that is not JSON's.
        review.map((r) => JSON.stringify(r)),
      );
      const type = fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json;charset=utf-16',
        'APPLICATION/JSON',
        'application/json-patch+json',
        'application/yaml',
        'text/plain',
        'multipart/form-data; boundary=x',
        '',
        undefined,
      );
      await fc.assert(
        fc.asyncProperty(body, type, target, async (sent, contentType, { path, protocol }) => {
          await exchange({ path, protocol, body: sent, type: contentType }, 'any');
        }),
        params(2_500),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers values nested past any recursion limit, wherever they sit',
    async () => {
      const PLACES = [
        'request.object.spec',
        'request.object.spec.containers',
        'request.object.spec.containers.0.image',
        'request.object.metadata.annotations',
        'request.object.metadata.labels.tier',
        'request.oldObject',
        'request.kind',
        'request.userInfo',
        'request.options',
        'request',
      ];
      const MARKER = 'nested-value-goes-here-7f3a';
      await fc.assert(
        fc.asyncProperty(
          envelope(fc.constantFrom('CREATE', 'UPDATE'), () => fc.constant(undefined)),
          fc.constantFrom(...PLACES),
          fc.integer({ min: 1_000, max: 400_000 }),
          fc.constantFrom('array', 'object', 'mixed'),
          fc.constantFrom('1', '"registry.example/signed/app:v1"', '{"image":"registry.example/team/app:v1"}'),
          target,
          async (review, place, depth, style, leaf, { path, protocol }) => {
            const copy = structuredClone(review) as unknown as Record<string, unknown>;
            const steps = place.split('.');
            let parent: unknown = copy;
            for (const step of steps.slice(0, -1)) {
              if (Array.isArray(parent) && parent.length === 0) parent.push({});
              const next: unknown =
                isObject(parent) || Array.isArray(parent) ? (parent as Record<string, unknown>)[step] : undefined;
              if (!isObject(next) && !Array.isArray(next))
                (parent as Record<string, unknown>)[step] = step === 'containers' ? [{}] : {};
              parent = (parent as Record<string, unknown>)[step];
            }
            (parent as Record<string, unknown>)[steps[steps.length - 1]!] = MARKER;
            const text = JSON.stringify(copy).replace(JSON.stringify(MARKER), nested(depth, style, leaf));
            await exchange({ path, protocol, body: text, type: 'application/json' }, 'any');
          },
        ),
        params(150),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    'answers huge arrays: thousands of containers, groups, annotations and secrets',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          envelope(fc.constantFrom('CREATE', 'UPDATE'), () => fc.constant(undefined)),
          fc.constantFrom('containers', 'initContainers', 'imagePullSecrets', 'groups', 'annotations', 'env'),
          fc.integer({ min: 1_000, max: 60_000 }),
          fc.array(plausibleImage, { minLength: 1, maxLength: 50 }),
          target,
          async (review, where, count, images, { path, protocol }) => {
            const request = { ...review.request };
            const many = <T>(make: (i: number) => T) => Array.from({ length: count }, (_, i) => make(i));
            const pod = (spec: object) => ({ metadata: { name: 'huge' }, spec });
            const image = (i: number) => images[i % images.length]!;
            if (where === 'groups') request['userInfo'] = { username: 'u', groups: many((i) => `g${i}`) };
            else {
              request['kind'] = { group: '', version: 'v1', kind: 'Pod' };
              request['object'] =
                where === 'containers'
                  ? pod({ containers: many((i) => ({ name: `c${i}`, image: image(i) })) })
                  : where === 'initContainers'
                    ? pod({
                        containers: [{ name: 'c', image: image(0) }],
                        initContainers: many((i) => ({ name: `i${i}`, image: image(i) })),
                      })
                    : where === 'imagePullSecrets'
                      ? pod({
                          containers: [{ name: 'c', image: image(0) }],
                          imagePullSecrets: many((i) => ({ name: `s${i}` })),
                        })
                      : where === 'env'
                        ? pod({
                            containers: [
                              { name: 'c', image: image(0), env: many((i) => ({ name: `E${i}`, value: 'v' })) },
                            ],
                          })
                        : {
                            metadata: {
                              name: 'huge',
                              annotations: Object.fromEntries(many((i) => [`a${i}`, image(i)])),
                            },
                            spec: { containers: [{ name: 'c', image: image(0) }] },
                          };
            }
            await exchange(
              { path, protocol, body: JSON.stringify({ ...review, request }), type: 'application/json' },
              'any',
            );
          },
        ),
        params(120),
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('ends with the process up and no bug logged', async () => {
    const health = await send({ path: '/healthz', body: '', protocol: 'h1', method: 'GET' });
    expect(health.status).toBe(200);
    expect(errors).toEqual([]);
  });
});

describe('the admission webhook pinning a signed image', () => {
  // Found by the fuzzer: the patch added /metadata/annotations to whatever /metadata was. The API server always
  // sends an object's metadata as an object, but the webhook must never answer with a patch that cannot apply
  // (webhook/verify-annotations.ts toAnnotationPatches now writes /metadata when it is missing or no object).
  it.each([
    { kind: 'Pod', group: '', what: 'absent', meta: undefined },
    { kind: 'Pod', group: '', what: 'null', meta: null },
    { kind: 'Task', group: 'example.dev', what: 'a list', meta: [] },
    { kind: 'Task', group: 'example.dev', what: 'a string', meta: 'x' },
  ])('answers a $kind whose metadata is $what with a patch that applies to it', async ({ kind, group, meta }) => {
    const object = {
      ...(meta === undefined ? {} : { metadata: meta }),
      spec:
        kind === 'Pod'
          ? { containers: [{ name: 'web', image: 'registry.example/signed/app' }] }
          : { steps: [{ name: 'web', image: 'registry.example/signed/app' }] },
    };
    const body = JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: { uid: 'u', kind: { group, version: 'v1', kind }, namespace: 'default', operation: 'CREATE', object },
    });
    const answer = await send({ path: '/mutate', protocol: 'h2', body, type: 'application/json' });
    expect(answer.status).toBe(200);
    const response = (JSON.parse(answer.body) as { response: { allowed: boolean; patch?: string } }).response;
    if (response.patch === undefined) return;
    const ops = JSON.parse(Buffer.from(response.patch!, 'base64').toString()) as Record<string, unknown>[];
    expect(() => applyPatch(structuredClone(object), ops)).not.toThrow();
  });
});
