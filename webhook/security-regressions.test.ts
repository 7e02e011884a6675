// Security regressions (issue 14, point 6): each a CVE or a known regression of a comparable system, replayed through
// the whole admission path: handleMutate (and handleValidate after it, with /mutate's patch applied, where the
// record matters), policies compiled by pkg/policy's `compile`, signatures made here with node:crypto, and the
// registry at the deps boundary: in memory (pkg/cosign/testdata/fake-registry.ts) where the defence is above the
// registry client, and the real RegistryClient against a registry on 127.0.0.1 (node:http) where the defence is in
// the client (sizes, digests of what it reads, redirects, credentials).
//
// Every test names, in a comment, the product code that is the defence, and why the assertion fails without it. Each
// that denies also shows, beside it, that the same setup admits an honest image, so the denial is the defence's and
// not a broken fixture's.
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { VerificationCache } from '../pkg/cache/index.js';
import type { ImageRegistry } from '../pkg/cosign/index.js';
import { createSilentLogger } from '../pkg/log/index.js';
import {
  computeDigest,
  parseDockerConfigJson,
  RegistryClient,
  type DockerConfig,
  type OciFailure,
} from '../pkg/oci/index.js';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { ok } from '../pkg/result/index.js';
/* eslint-disable @typescript-eslint/no-restricted-imports -- test fixtures: the in-memory registry, signed bundles, a test CA and log */
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  DSSE_MEDIA_TYPE,
  FakeRegistry,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
} from '../pkg/cosign/testdata/fake-registry.js';
import {
  IN_TOTO_PAYLOAD_TYPE,
  keyBundle,
  keylessBundle,
  preAuthenticationEncoding,
  statement,
  toBlob,
} from '../pkg/cosign/testdata/signed-bundles.js';
import { createTestCa, type TestCa, type TestLeaf } from '../pkg/trust/testdata/test-ca.js';
import { createTestLog } from '../pkg/trust/testdata/test-log.js';
/* eslint-enable @typescript-eslint/no-restricted-imports */
import { decodeAdmissionReview, type AdmissionRequest } from './admission-review.js';
import { VALIDATED_IMAGES_ANNOTATIONS } from '../pkg/validated-images/index.js';
import { handleMutate, type MutateDeps } from './mutate.js';
import type { AdmissionResponse } from './responses.js';
import { handleValidate } from './validate.js';
import type { PassCache } from './verify-images.js';

const REVIEW = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'));
const SCOPED = 'kyverno.io/verify-images-scoped';
const FLAT = 'kyverno.io/verify-images';
const IMAGE = 'registry.example/team/app:v1';
const SIGNED = computeDigest(Buffer.from('the signed image'));
const UNSIGNED = computeDigest(Buffer.from('an unsigned image the tag was moved to'));
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

const SIGNER = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_PEM = SIGNER.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const KEY_ATTESTORS = [{ entries: [{ keys: { publicKeys: KEY_PEM, rekor: { ignoreTlog: true } } }] }];

// ---------------------------------------------------------------------------------------------------------------
// Admission requests, policies, deps and patches.

interface PodOptions {
  readonly annotations?: Record<string, string>;
  readonly operation?: 'CREATE' | 'UPDATE';
  readonly oldObject?: unknown;
}

function pod(image: string, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'c', image }] },
  };
}

function podRequest(image: string, options: PodOptions = {}): AdmissionRequest {
  const decoded = decodeAdmissionReview(REVIEW);
  if (!decoded.ok) throw new Error(decoded.error);
  return {
    ...decoded.value.request,
    name: 'web',
    namespace: 'default',
    operation: options.operation ?? 'CREATE',
    object: pod(image, options.annotations),
    ...(options.oldObject ? { oldObject: options.oldObject } : {}),
  };
}

function policy(
  entry: object,
  spec: object = {},
  options: { name?: string; compileOptions?: Parameters<typeof compile>[1] } = {},
): CompiledPolicy {
  const name = options.name ?? 'check-image';
  const compiled = compile(
    {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name, uid: `uid-${name}`, resourceVersion: '1' },
      spec: {
        validationFailureAction: 'Enforce',
        webhookTimeoutSeconds: 10,
        rules: [{ name: 'verify', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [entry] }],
        ...spec,
      },
    },
    options.compileOptions,
  );
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

function deps(
  policies: readonly CompiledPolicy[],
  registry: ImageRegistry,
  extra: Partial<MutateDeps> = {},
): MutateDeps {
  return { policies: () => policies, registry, log: createSilentLogger(), now: Date.now, ...extra };
}

function validateDeps(policies: readonly CompiledPolicy[]) {
  return { policies: () => policies, log: createSilentLogger(), now: Date.now };
}

interface PatchOp {
  readonly op: string;
  readonly path: string;
  readonly value?: unknown;
}

function patchOf(response: AdmissionResponse): PatchOp[] {
  return response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString()) as PatchOp[]) : [];
}

function pinnedImage(response: AdmissionResponse): unknown {
  return patchOf(response).find((p) => p.path === '/spec/containers/0/image')?.value;
}

/** The object as the API server stores it after /mutate's patch: the `add`, `replace` and `remove` it writes. */
function applyPatch(object: unknown, ops: readonly PatchOp[]): unknown {
  const copy = structuredClone(object) as Record<string, unknown>;
  for (const op of ops) {
    if (op.op !== 'add' && op.op !== 'replace' && op.op !== 'remove')
      throw new Error(`unexpected patch operation ${op.op}`);
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    let at = copy as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) at = at[key] as Record<string, unknown>;
    if (op.op === 'remove') {
      if (!Object.hasOwn(at, keys.at(-1)!)) throw new Error(`remove of a missing member: ${op.path}`);
      delete at[keys.at(-1)!];
    } else at[keys.at(-1)!] = structuredClone(op.value);
  }
  return copy;
}

/** The request the validating webhook gets: the same request, with the object /mutate's patch made. */
function afterMutate(request: AdmissionRequest, response: AdmissionResponse): AdmissionRequest {
  return { ...request, object: applyPatch(request.object, patchOf(response)) };
}

// ---------------------------------------------------------------------------------------------------------------
// What signers make.

/** cosign's simple-signing payload for `digest`, with the `optional` annotations `cosign sign -a` writes. */
function payload(digest: string, optional: Record<string, string> | null = null): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': 'registry.example/team/app' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional,
    }),
  );
}

/** A legacy .sig layer: `body` signed by `key`. */
function sigLayer(body: Buffer, key: KeyObject = SIGNER.privateKey, annotations: Record<string, string> = {}) {
  return {
    payload: body,
    annotations: { [SIGNATURE_ANNOTATION]: sign('sha256', body, key).toString('base64'), ...annotations },
  };
}

/** A DSSE envelope over an in-toto statement of `predicateType` about `digest`, signed by SIGNER (cosign attest). */
function attestation(digest: string, predicateType: string, predicate: unknown): Buffer {
  const body = Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v0.1',
      predicateType,
      subject: [{ name: 'registry.example/team/app', digest: { sha256: digest.slice('sha256:'.length) } }],
      predicate,
    }),
  );
  const sig = sign('sha256', preAuthenticationEncoding(IN_TOTO_PAYLOAD_TYPE, body), SIGNER.privateKey);
  return Buffer.from(
    JSON.stringify({
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: body.toString('base64'),
      signatures: [{ keyid: '', sig: sig.toString('base64') }],
    }),
  );
}

/** A registry in memory holding the image SIGNED, signed by SIGNER in the legacy layout. */
function signedRegistry(): FakeRegistry {
  const registry = new FakeRegistry(SIGNED);
  registry.putSignatures([sigLayer(payload(SIGNED))]);
  return registry;
}

/**
 * A registry whose tag names SIGNED when first asked and `moved` ever after: a tag moved after verification, or a
 * hostile registry (CVE-2022-47633's) answering the verification and a later lookup differently. A reference with a
 * digest resolves to that digest, as the real client's does (it checks the content against it). Signatures are
 * `registry`'s, which keys them by digest.
 */
function movingTag(registry: FakeRegistry, moved = UNSIGNED): ImageRegistry & { resolved: number } {
  const moving = {
    resolved: 0,
    resolveDigest: async (...args: Parameters<ImageRegistry['resolveDigest']>) => {
      const [ref] = args;
      const answer = await registry.resolveDigest(...args);
      if (!answer.ok) return answer;
      const digest = ref.digest ?? (moving.resolved++ === 0 ? SIGNED : moved);
      return ok({ ...answer.value, digest });
    },
    getManifest: registry.getManifest.bind(registry),
    getBlob: registry.getBlob.bind(registry),
    listReferrers: registry.listReferrers.bind(registry),
  };
  return moving;
}

// ---------------------------------------------------------------------------------------------------------------
// A registry on 127.0.0.1, for the defences of the real registry client.

interface Blob {
  readonly body: Buffer;
  readonly contentType: string;
}

/** Answers a request and returns true, or returns false to leave it to the registry. */
type Handler = (req: IncomingMessage, res: ServerResponse) => boolean;

class HttpRegistry {
  readonly requests: { method: string; path: string; authorization: string | undefined }[] = [];
  /** Manifests by `<repository>/<reference>` (a tag or a digest). */
  readonly manifests = new Map<string, Blob>();
  readonly blobs = new Map<string, Buffer>();
  /** Bytes written by the endless bodies served so far. */
  endlessBytes = 0;
  intercept: Handler | undefined;
  readonly #server: Server;
  host = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        authorization: req.headers['authorization'],
      });
      if (this.intercept?.(req, res)) return;
      this.#serve(req, res);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    this.host = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  /** An image manifest under `tag` (and its digest); returns its digest. */
  putImage(repository: string, tag: string, note: string): string {
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: EMPTY_CONFIG,
        layers: [],
        annotations: { note },
      }),
    );
    const digest = computeDigest(bytes);
    const manifest = { body: bytes, contentType: OCI_MANIFEST };
    this.manifests.set(`${repository}/${tag}`, manifest);
    this.manifests.set(`${repository}/${digest}`, manifest);
    return digest;
  }

  /** The sha256-<hex>.sig (or .att) manifest of `digest`, with these layers; their blobs stored unless `size` lies. */
  putLayers(
    repository: string,
    digest: string,
    suffix: '.sig' | '.att',
    layers: readonly { body: Buffer; mediaType: string; annotations: Record<string, string>; size?: number }[],
  ): void {
    const descriptors = layers.map((l) => {
      const layerDigest = computeDigest(l.body);
      this.blobs.set(layerDigest, l.body);
      return { mediaType: l.mediaType, digest: layerDigest, size: l.size ?? l.body.length, annotations: l.annotations };
    });
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: descriptors }),
    );
    this.manifests.set(`${repository}/${digest.replace(':', '-')}${suffix}`, {
      body: bytes,
      contentType: OCI_MANIFEST,
    });
  }

  /** A body that never ends, written as fast as the reader takes it; counted in endlessBytes. */
  endless(res: ServerResponse, contentType = 'application/octet-stream'): void {
    res.writeHead(200, { 'content-type': contentType });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let closed = false;
    res.on('close', () => (closed = true));
    const pump = () => {
      while (!closed) {
        this.endlessBytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    pump();
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    if (path === '/v2/') return void res.writeHead(200, { 'content-length': 0 }).end();
    const match = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
    const notFound = () => {
      const body = JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'unknown' }] });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    };
    if (!match) return notFound();
    const [, repository, kind, reference] = match as unknown as [string, string, string, string];
    if (kind === 'referrers') return notFound();
    if (kind === 'blobs') {
      const blob = this.blobs.get(reference);
      if (!blob) return notFound();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
      return void res.end(blob);
    }
    const manifest = this.manifests.get(`${repository}/${reference}`);
    if (!manifest) return notFound();
    res.writeHead(200, {
      'content-type': manifest.contentType,
      'content-length': manifest.body.length,
      'docker-content-digest': computeDigest(manifest.body),
    });
    res.end(req.method === 'HEAD' ? undefined : manifest.body);
  }
}

function client(...registries: HttpRegistry[]): RegistryClient {
  return new RegistryClient({
    insecureRegistries: registries.map((r) => r.host),
    requestTimeoutMs: 5000,
    maxRetries: 0,
  });
}

function credentialsFor(host: string, username: string, password: string): DockerConfig {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  const config = parseDockerConfigJson(JSON.stringify({ auths: { [host]: { auth } } }));
  if (!config.ok) throw new Error(config.error);
  return config.value;
}

/** The image `team/app:v1` on `registry`, signed by SIGNER in the legacy layout; returns its digest. */
function putSignedImage(registry: HttpRegistry, note = 'signed'): string {
  const digest = registry.putImage('team/app', 'v1', note);
  const layer = sigLayer(payload(digest));
  registry.putLayers('team/app', digest, '.sig', [
    { body: layer.payload, mediaType: SIMPLE_SIGNING_MEDIA_TYPE, annotations: layer.annotations },
  ]);
  return digest;
}

// ===============================================================================================================

describe('Regression: a signature replayed onto another digest', () => {
  // The defence: pkg/cosign/check-claims.ts, checkClaims. A signature verifies with the key whatever image it was
  // made for; only the digest it names (simple-signing's critical.image.docker-manifest-digest, a bundle statement's
  // subject) binds it to this image. Without those two comparisons each signature below verifies with the policy's
  // key, and the Pod is admitted.
  const enforce = () => policy({ imageReferences: ['registry.example/*'], attestors: KEY_ATTESTORS });

  it('denies a legacy .sig signature copied from another image, with DigestMismatch', async () => {
    const replayed = new FakeRegistry(UNSIGNED);
    replayed.putSignatures([sigLayer(payload(SIGNED))]);
    const response = await handleMutate(podRequest(IMAGE), deps([enforce()], replayed));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(
      `invalid signature: sha256-${UNSIGNED.slice(7)}.sig layer 0: the signature is for ${SIGNED}, not ${UNSIGNED}`,
    );
    // The same signature, on the image it was made for, is admitted and pinned.
    const honest = await handleMutate(podRequest(IMAGE), deps([enforce()], signedRegistry()));
    expect(pinnedImage(honest)).toBe(`${IMAGE}@${SIGNED}`);
  });

  it('denies a Sigstore bundle whose statement names another image, with DigestMismatch', async () => {
    const bundle = (subject: string) => toBlob(keyBundle(SIGNER.privateKey, statement(subject)));
    const replayed = new FakeRegistry(UNSIGNED);
    replayed.putBundle(bundle(SIGNED));
    const response = await handleMutate(podRequest(IMAGE), deps([enforce()], replayed));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/invalid signature: referrer sha256:\w+: the signature is for/);
    expect(response.status?.message).toContain(`not ${UNSIGNED}`);
    const honest = new FakeRegistry(SIGNED);
    honest.putBundle(bundle(SIGNED));
    expect(pinnedImage(await handleMutate(podRequest(IMAGE), deps([enforce()], honest)))).toBe(`${IMAGE}@${SIGNED}`);
  });

  it('denies a signature for this image made with other annotations than the policy requires', async () => {
    // The defence: the same checkClaims, findAnnotationMismatch (pkg/cosign/annotations.ts): the annotations are
    // read from what was signed, so a staging signature cannot be replayed where prod is required.
    const required = policy({
      imageReferences: ['registry.example/*'],
      attestors: [
        { entries: [{ keys: { publicKeys: KEY_PEM, rekor: { ignoreTlog: true } }, annotations: { env: 'prod' } }] },
      ],
    });
    const staging = new FakeRegistry(SIGNED);
    staging.putSignatures([sigLayer(payload(SIGNED, { env: 'staging' }))]);
    const response = await handleMutate(podRequest(IMAGE), deps([required], staging));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('missing or incorrect annotation');
    const prod = new FakeRegistry(SIGNED);
    prod.putSignatures([sigLayer(payload(SIGNED, { env: 'prod' }))]);
    expect((await handleMutate(podRequest(IMAGE), deps([required], prod))).allowed).toBe(true);
  });
});

describe('CVE-2022-47633: a tag moved after verification', () => {
  // Kyverno 1.8.3–1.8.4 verified one digest and pinned another, looked up separately: a registry answering the
  // second lookup with an unsigned image got it admitted. The defence: webhook/verify-images.ts, AdmissionRun#resolve
  // (the tag is resolved once per admission, for every rule that names the image) and AdmissionRun#passed (the pin is
  // the digest #verifyEntry returned, the one whose signatures were checked). A second lookup, for the pin or for the
  // second policy, would get UNSIGNED here: the pin would say so, and `resolved` would be 2 or 3.
  const entry = { imageReferences: ['registry.example/*'], attestors: KEY_ATTESTORS };

  it('pins the digest it verified, resolving the tag once for every policy that names the image', async () => {
    const policies = [policy(entry, {}, { name: 'first' }), policy(entry, {}, { name: 'second' })];
    const registry = movingTag(signedRegistry());
    const request = podRequest(IMAGE);
    const response = await handleMutate(request, deps(policies, registry));
    expect(response.allowed).toBe(true);
    expect(registry.resolved).toBe(1);
    expect(pinnedImage(response)).toBe(`${IMAGE}@${SIGNED}`);
    // The validating webhook, with the object as the patch left it, finds both policies' records for that image.
    expect(handleValidate(afterMutate(request, response), validateDeps(policies)).allowed).toBe(true);
  });

  it('denies the next admission of the tag, which now names an unsigned image', async () => {
    const registry = movingTag(signedRegistry());
    expect((await handleMutate(podRequest(IMAGE), deps([policy(entry)], registry))).allowed).toBe(true);
    const moved = await handleMutate(podRequest(IMAGE), deps([policy(entry)], registry));
    expect(moved.allowed).toBe(false);
    expect(moved.status?.message).toContain('signature not found');
  });
});

describe('CVE-2023-47630: a digest that does not match', () => {
  // Kyverno < 1.10.5 took the registry's word for the digest of a manifest fetched by digest: a Pod naming an
  // unsigned image by digest was verified against whatever signed manifest the registry served instead. The defence:
  // pkg/oci/registry-client.ts, RegistryClient#getManifest, which resolveDigest calls for a reference with a digest:
  // the digest is the one asked for (`expected = byDigest ? reference : …`), and the content must hash to it
  // (`matchesDigest(res.body, expected)`, DIGEST_MISMATCH) and the Docker-Content-Digest agree with it. A client
  // that took the registry's digest (the header, or the hash of what it served) would resolve SIGNED here, whose
  // signature verifies; the Pod keeps its own digest (nothing to pin) and is admitted running the unsigned image. The
  // message pins the content check itself: without it the deny would be a plain "signature not found".
  let registry: HttpRegistry;
  let signed: string;
  let unsigned: string;

  beforeAll(async () => {
    registry = await new HttpRegistry().start();
    signed = putSignedImage(registry);
    unsigned = registry.putImage('team/evil', 'v1', 'unsigned');
    // The registry answers the unsigned digest with the signed manifest, under its honest Docker-Content-Digest.
    registry.manifests.set(`team/app/${unsigned}`, registry.manifests.get(`team/app/${signed}`)!);
  });
  afterAll(() => registry.close());

  const entry = { imageReferences: ['*'], attestors: KEY_ATTESTORS };

  it('denies under failurePolicy Fail, naming the mismatch', async () => {
    const image = `${registry.host}/team/app@${unsigned}`;
    const response = await handleMutate(podRequest(image), deps([policy(entry)], client(registry)));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('registry error');
    expect(response.status?.message).toContain(`manifest content hashes to ${signed}, not ${unsigned}`);
    // The signed image, named by its own digest, is admitted: the signature and the registry are sound.
    const honest = await handleMutate(
      podRequest(`${registry.host}/team/app@${signed}`),
      deps([policy(entry)], client(registry)),
    );
    expect(honest.allowed).toBe(true);
  });

  it('under failurePolicy Ignore, records the image as failed, so the validating webhook denies it', async () => {
    const ignore = policy(entry, { failurePolicy: 'Ignore' });
    const request = podRequest(`${registry.host}/team/app@${unsigned}`);
    const response = await handleMutate(request, deps([ignore], client(registry)));
    expect(response.allowed).toBe(true);
    expect(response.warnings?.[0]).toContain('DIGEST_MISMATCH');
    const validated = handleValidate(afterMutate(request, response), validateDeps([ignore]));
    expect(validated.allowed).toBe(false);
    expect(validated.status?.message).toContain(`unverified image ${registry.host}/team/app@${unsigned}`);
  });
});

describe('CVE-2023-42813..42816: unbounded sizes', () => {
  // Kyverno's Notary verifier read attestation layers (42813) and signature blobs (42816) whole, and every referrer
  // listed (42814, 42815): a registry could stall or exhaust every admission. The defences are in the registry
  // client and the verification's work budget, named per case. Each policy here has failurePolicy Ignore: without the
  // bound the read goes on until the request times out (5 s) or the admission's deadline passes (8 s of the 10 s
  // timeout), an error (TIMEOUT, Timeout) that Ignore admits; with it the read stops at once, what could not be read
  // is no signature (a definitive failure), and Enforce denies. The time and the bytes the registry managed to send
  // are asserted too.
  let registry: HttpRegistry;
  let digest: string;
  const CODE_REVIEW = 'https://example.com/CodeReview/v1';

  beforeEach(async () => {
    registry = await new HttpRegistry().start();
    digest = registry.putImage('team/app', 'v1', 'image');
  });
  afterEach(() => registry.close());

  const signatures = () => policy({ imageReferences: ['*'], attestors: KEY_ATTESTORS }, { failurePolicy: 'Ignore' });
  const attestations = () =>
    policy(
      { imageReferences: ['*'], attestations: [{ type: CODE_REVIEW, attestors: KEY_ATTESTORS }] },
      { failurePolicy: 'Ignore' },
    );

  async function admit(compiled: CompiledPolicy) {
    const started = performance.now();
    const response = await handleMutate(podRequest(`${registry.host}/team/app:v1`), deps([compiled], client(registry)));
    return { response, ms: performance.now() - started };
  }

  /** Serves the blob of every layer without end, whatever size its descriptor declares. */
  const endlessBlobs = () => {
    registry.intercept = (req, res) => {
      if (!req.url?.includes('/blobs/')) return false;
      registry.endless(res);
      return true;
    };
  };

  it('stops reading a signature blob at its declared size (CVE-2023-42816)', async () => {
    // The defence: pkg/oci/bounded-body.ts, readBounded, with the layer's declared size as the limit
    // (pkg/cosign/discover.ts, #readBlobs → #options(c.layer.size)).
    const layer = sigLayer(payload(digest));
    registry.putLayers('team/app', digest, '.sig', [
      { body: layer.payload, mediaType: SIMPLE_SIGNING_MEDIA_TYPE, annotations: layer.annotations },
    ]);
    expect((await admit(signatures())).response.allowed).toBe(true);
    endlessBlobs();
    const { response, ms } = await admit(signatures());
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('signature not found');
    expect(response.status?.message).toContain('TOO_LARGE');
    expect(ms).toBeLessThan(3000);
    expect(registry.endlessBytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('stops reading an attestation layer at its declared size (CVE-2023-42813)', async () => {
    // The defence: as above, readBounded under #readBlobs, for the .att layers discoverAttestations reads.
    registry.putLayers('team/app', digest, '.att', [
      {
        body: attestation(digest, CODE_REVIEW, { reviewed: true }),
        mediaType: DSSE_MEDIA_TYPE,
        annotations: { predicateType: CODE_REVIEW },
      },
    ]);
    expect((await admit(attestations())).response.allowed).toBe(true);
    endlessBlobs();
    const { response, ms } = await admit(attestations());
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('attestation not found');
    expect(response.status?.message).toContain('TOO_LARGE');
    expect(ms).toBeLessThan(3000);
    expect(registry.endlessBytes).toBeLessThan(16 * 1024 * 1024);
  });

  it('does not read a layer that declares more than a signature can need', async () => {
    // The defence: pkg/cosign/discover.ts, #readBlobs (`c.layer.size > ARTIFACT_BYTES`, 1 MiB): not even requested.
    const layer = sigLayer(payload(digest));
    registry.putLayers('team/app', digest, '.sig', [
      {
        body: layer.payload,
        mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
        annotations: layer.annotations,
        size: 512 * 1024 * 1024,
      },
    ]);
    endlessBlobs();
    const { response, ms } = await admit(signatures());
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('over the 1048576-byte limit');
    expect(registry.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(0);
    expect(ms).toBeLessThan(3000);
  });

  it('stops following referrers that never end (CVE-2023-42814, CVE-2023-42815)', async () => {
    // The defences: pkg/oci/registry-client.ts, RegistryClient#listReferrers with ReferrersReader (at most 10,000
    // referrers and the byte budget, across pages; a page already followed ends the list), and
    // pkg/cosign/budget.ts, WorkBudget (200 requests per verification), which stops discovery reading their
    // manifests. Without them every page and every referrer is read until the deadline.
    let page = 0;
    registry.intercept = (req, res) => {
      const url = req.url ?? '';
      if (url.includes('/referrers/')) {
        const manifests = Array.from({ length: 1000 }, (_, i) => ({
          mediaType: OCI_MANIFEST,
          digest: computeDigest(Buffer.from(`referrer ${page}/${i}`)),
          size: 400,
          artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        }));
        page++;
        const body = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
        res.writeHead(200, {
          'content-type': OCI_INDEX,
          'content-length': Buffer.byteLength(body),
          link: `</v2/team/app/referrers/${digest}?page=${page}>; rel="next"`,
        });
        res.end(body);
        return true;
      }
      return false;
    };
    const { response, ms } = await admit(signatures());
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('signature not found');
    expect(response.status?.message).toContain('was read before registry requests reached the limit of 200');
    expect(response.status?.message).toContain('more referrers than are listed');
    // 10 pages of 1,000: the 10,000 referrers OciLimits.maxReferrers allows.
    expect(page).toBeLessThanOrEqual(10);
    expect(registry.requests.length).toBeLessThanOrEqual(210);
    expect(ms).toBeLessThan(5000);
  });
});

describe('CVE-2025-29778: an identity check skipped for a certificate', () => {
  // Kyverno < 1.14 returned early from matchSignatures when an attestor had only subjectRegExp or issuerRegExp, so a
  // certificate of any identity, from the trusted CA, verified. The defence: pkg/cosign/identity.ts, checkIdentity
  // (`if (subject || subjectRegExp)`, and the issuerRegExp check), called for every certificate by
  // pkg/cosign/check-certificate.ts. Without it the attacker's certificate below, issued by the same trusted CA and
  // logged in the trusted log, verifies.
  const ISSUER = 'https://issuer.example';
  const log = createTestLog();
  let ca: TestCa;
  let developer: TestLeaf;
  let attacker: TestLeaf;

  beforeAll(async () => {
    ca = await createTestCa();
    developer = await ca.issue({ email: 'dev@example.com', issuer: ISSUER });
    attacker = await ca.issue({ email: 'attacker@evil.example', issuer: 'https://evil.example' });
  });

  const keyless = (constraint: object) =>
    policy(
      {
        imageReferences: ['registry.example/*'],
        attestors: [{ entries: [{ keyless: { ...constraint, roots: ca.rootPem, ctlog: { ignoreSCT: true } } }] }],
      },
      {},
      { compileOptions: { trustRoot: log.trustRoot } },
    );

  const LAYOUTS = [
    {
      layout: 'a Sigstore bundle',
      registry: (leaf: TestLeaf) => {
        const registry = new FakeRegistry(SIGNED);
        registry.putBundle(toBlob(keylessBundle(leaf, log, statement(SIGNED))));
        return registry;
      },
    },
    {
      layout: 'a legacy .sig layer with its certificate',
      registry: (leaf: TestLeaf) => {
        const body = payload(SIGNED);
        const signature = sign('sha256', body, leaf.privateKey);
        const registry = new FakeRegistry(SIGNED);
        registry.putSignatures([
          {
            payload: body,
            annotations: {
              [SIGNATURE_ANNOTATION]: signature.toString('base64'),
              [CERTIFICATE_ANNOTATION]: leaf.pem,
              [BUNDLE_ANNOTATION]: log.logSignature({ payload: body, signature, signerPem: leaf.pem }),
            },
          },
        ]);
        return registry;
      },
    },
  ];
  const CONSTRAINTS = [
    { only: 'subjectRegExp', constraint: { subjectRegExp: '^dev@example\\.com$' }, detail: 'subject mismatch' },
    { only: 'issuerRegExp', constraint: { issuerRegExp: '^https://issuer\\.example$' }, detail: 'issuer mismatch' },
  ];

  describe.each(LAYOUTS)('in $layout', ({ registry }) => {
    it.each(CONSTRAINTS)(
      'denies another identity’s certificate against an attestor with only $only',
      async ({ constraint, detail }) => {
        const response = await handleMutate(podRequest(IMAGE), deps([keyless(constraint)], registry(attacker)));
        expect(response.allowed).toBe(false);
        expect(response.status?.message).toContain('invalid signature');
        expect(response.status?.message).toContain(detail);
        const honest = await handleMutate(podRequest(IMAGE), deps([keyless(constraint)], registry(developer)));
        expect(pinnedImage(honest)).toBe(`${IMAGE}@${SIGNED}`);
      },
    );
  });
});

describe('CVE-2022-35930: missing attestations admitted', () => {
  // policy-controller < 0.2.1 admitted an image that had validly signed attestations, none of the predicate type the
  // policy asked for. The defence: pkg/cosign/check-attestations.ts, checkAttestationStatements (the candidates are
  // the statements whose signed predicateType is the one asked for; none is AttestationNotFound). The provenance
  // attestation here declares no type on its layer, so discovery reads it and only that filter keeps it from being
  // checked as the code review. Behind it, checkClaims (pkg/cosign/check-claims.ts) refuses a statement of another
  // type than the one asked for, so without the filter the image is still denied, but as an invalid attestation
  // signature: the message pins the filter, `allowed` either of the two.
  const CODE_REVIEW = 'https://example.com/CodeReview/v1';
  const PROVENANCE = 'https://slsa.dev/provenance/v1';
  const requiresReview = () =>
    policy({
      imageReferences: ['registry.example/*'],
      attestors: KEY_ATTESTORS,
      attestations: [{ type: CODE_REVIEW, attestors: KEY_ATTESTORS }],
    });

  function attested(...types: string[]): FakeRegistry {
    const registry = signedRegistry();
    if (types.length > 0) {
      registry.putAttestations(
        types.map((type) => ({ envelope: attestation(SIGNED, type, { builder: 'ci' }), annotations: {} })),
      );
    }
    return registry;
  }

  it('denies a signed image whose only signed attestation is of another type', async () => {
    const response = await handleMutate(podRequest(IMAGE), deps([requiresReview()], attested(PROVENANCE)));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain(`attestation not found`);
    expect(response.status?.message).toContain(CODE_REVIEW);
    const reviewed = await handleMutate(podRequest(IMAGE), deps([requiresReview()], attested(PROVENANCE, CODE_REVIEW)));
    expect(pinnedImage(reviewed)).toBe(`${IMAGE}@${SIGNED}`);
  });

  it('denies a signed image with no attestations at all', async () => {
    const response = await handleMutate(podRequest(IMAGE), deps([requiresReview()], attested()));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('attestation not found');
  });
});

describe('CVE-2026-122321: a cache keyed by tag that admits a moved tag', () => {
  // Kyverno 1.18.0–1.19.1 cached a pass by the image as written (the tag) and, on a hit, pinned whatever the tag named
  // now. The defences: webhook/verify-images.ts, AdmissionRun#checkNow (a hit is answered with #passed(entry, image,
  // hit.digest): the digest the pass was verified for, kept by pkg/cache/verification-cache.ts) and the cache key
  // (toCacheKey over image.written, which holds a digest when the Pod names one). Re-resolving on a hit pins UNSIGNED;
  // a key without the digest answers `app:v1@UNSIGNED` from the pass of `app:v1`, and admits it.
  const entry = { imageReferences: ['registry.example/*'], attestors: KEY_ATTESTORS };

  it('pins the verified digest from the cache after the tag moved, and verifies the new digest when named', async () => {
    const cache: PassCache = new VerificationCache({ now: Date.now });
    const registry = movingTag(signedRegistry());
    const policies = [policy(entry)];
    const first = await handleMutate(podRequest(IMAGE), deps(policies, registry, { cache }));
    expect(pinnedImage(first)).toBe(`${IMAGE}@${SIGNED}`);

    const request = podRequest(IMAGE);
    const second = await handleMutate(request, deps(policies, registry, { cache }));
    expect(pinnedImage(second)).toBe(`${IMAGE}@${SIGNED}`);
    expect(registry.resolved).toBe(1);
    expect(handleValidate(afterMutate(request, second), validateDeps(policies)).allowed).toBe(true);

    const named = await handleMutate(podRequest(`${IMAGE}@${UNSIGNED}`), deps(policies, registry, { cache }));
    expect(named.allowed).toBe(false);
    expect(named.status?.message).toContain('signature not found');
  });
});

describe('Regression: a forged verify-images annotation', () => {
  // The annotations record what /mutate verified, and the validating webhook reads them from the object it is given
  // (as Kyverno's does): a record the requester wrote must never count. kyverno#16336 (a forged outcome admitted when
  // the mutating webhook errored under Ignore); Kyverno ≤ 1.12 skipped images the new object's annotation called
  // verified.
  const entry = { imageReferences: ['registry.example/*'], attestors: KEY_ATTESTORS };
  const forged = {
    [FLAT]: JSON.stringify({ [IMAGE]: 'pass', [`registry.example/team/app@${UNSIGNED}`]: 'pass' }),
    [SCOPED]: JSON.stringify({
      version: 1,
      policies: { '/check-image': { verify: { [IMAGE]: 'pass', [`registry.example/team/app@${UNSIGNED}`]: 'pass' } } },
    }),
  };

  it('verifies an image the object claims was verified, and denies it', async () => {
    // The defence: webhook/verify-images.ts, AdmissionRun#checkNow, which reads the record of an unchanged image from
    // the old object of an UPDATE only (`readScopedRecord(this.#input.request.oldObject)`). Reading the new object's
    // would answer `pass` without a registry call, and admit.
    const unsigned = new FakeRegistry(UNSIGNED);
    for (const request of [
      podRequest(IMAGE, { annotations: forged }),
      podRequest(IMAGE, { annotations: forged, operation: 'UPDATE', oldObject: pod(IMAGE) }),
    ]) {
      unsigned.calls.length = 0;
      const response = await handleMutate(request, deps([policy(entry)], unsigned));
      expect(response.allowed).toBe(false);
      expect(response.status?.message).toContain('signature not found');
      expect(unsigned.calls).toContain('resolveDigest');
    }
  });

  it('drops a forged record when the rule verifies nothing, so `required` still denies', async () => {
    // The defence: webhook/verify-annotations.ts, toAnnotationPatches: with an empty record (a digest-only entry
    // verifies nothing, so records nothing), the annotations the object brought are removed. Without it, the forged
    // `pass` survives /mutate, and handleValidate reads it and admits what it refuses without one
    // (validate.test.ts, 'refuses a digest-only entry that requires a record').
    const digestOnly = policy({ imageReferences: ['registry.example/*'] });
    const request = podRequest(IMAGE, { annotations: forged });
    const response = await handleMutate(request, deps([digestOnly], new FakeRegistry(UNSIGNED)));
    expect(response.allowed).toBe(true);
    expect(pinnedImage(response)).toBe(`${IMAGE}@${UNSIGNED}`);
    const validated = handleValidate(afterMutate(request, response), validateDeps([digestOnly]));
    expect(validated.allowed).toBe(false);
    // Named as Kyverno names a pinned image: without the tag beside the digest.
    expect(validated.status?.message).toContain(`unverified image ${IMAGE.replace(/:v1$/, '')}@${UNSIGNED}`);
  });

  it('overwrites a forged record when failurePolicy Ignore admits, so the validating webhook denies', async () => {
    // The defence: webhook/verify-annotations.ts, toAnnotationPatches, called by handleMutate with this admission's
    // VerificationRecord only: both annotations are replaced, and the error is recorded as `fail`. If the incoming
    // entries survived (merged, or no patch written), handleValidate would read the forged `pass` and admit.
    const unreachable: OciFailure = {
      code: 'NETWORK',
      message: 'NETWORK: registry.example: cannot reach',
      registry: 'r',
    };
    const down = new FakeRegistry(UNSIGNED);
    down.resolveFailure = unreachable;
    // verifyDigest off, so that the validating webhook's answer is `required`'s, which reads the record.
    const ignore = policy({ ...entry, verifyDigest: false }, { failurePolicy: 'Ignore' });
    const request = podRequest(IMAGE, { annotations: forged });
    const response = await handleMutate(request, deps([ignore], down));
    expect(response.allowed).toBe(true);
    expect(response.warnings).toHaveLength(1);
    const stored = afterMutate(request, response);
    const annotations = (stored.object as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect(JSON.parse(annotations[SCOPED]!)).toEqual({
      version: 1,
      policies: { '/check-image': { verify: { [IMAGE]: 'fail' } } },
    });
    expect(JSON.parse(annotations[FLAT]!)).toEqual({ [IMAGE]: 'fail' });
    const validated = handleValidate(stored, validateDeps([ignore]));
    expect(validated.allowed).toBe(false);
    expect(validated.status?.message).toContain(`unverified image ${IMAGE}`);
  });
});

describe('Regression: a forged record of validated images', () => {
  // kube-apiserver skips the validating webhook when an object's images are those its record of validated images
  // lists (pkg/validated-images, a matchCondition): a record the requester wrote must never reach it. Both webhooks
  // must then be called: /mutate removes the record it did not write, and writes one only when the validating checks
  // pass on the object it leaves.
  const annotationOf = (request: AdmissionRequest, key: string) =>
    (request.object as { metadata: { annotations?: Record<string, string> } }).metadata.annotations?.[key];

  it.each([
    ['Fail', 'an entry that verifies nothing, with required'],
    ['Ignore', 'a registry that cannot be reached, under failurePolicy Ignore'],
  ] as const)(
    'removes it (%s webhook: %s), so the validating webhook is called and denies',
    async (failurePolicy, _why) => {
      // The defence: webhook/mutate.ts, recordValidatedImages, which runs the validating checks (passesValidation) on
      // the object it leaves and otherwise removes the record. Without it, the forged record survives, kube-apiserver
      // skips handleValidate, and the Pod is admitted unverified.
      const key = VALIDATED_IMAGES_ANNOTATIONS[failurePolicy];
      const registry = new FakeRegistry(UNSIGNED);
      const entry =
        failurePolicy === 'Fail'
          ? { imageReferences: ['registry.example/*'] }
          : { imageReferences: ['registry.example/*'], attestors: KEY_ATTESTORS, verifyDigest: false };
      if (failurePolicy === 'Ignore') {
        registry.resolveFailure = {
          code: 'NETWORK',
          message: 'NETWORK: registry.example: cannot reach',
          registry: 'r',
        };
      }
      const checked = policy(entry, { failurePolicy });
      const request = podRequest(IMAGE, { annotations: { [key]: `v1: ${IMAGE}@${UNSIGNED}`, [`${key}x`]: 'kept' } });
      const response = await handleMutate(request, deps([checked], registry, { validatedImagesAnnotation: key }));
      expect(response.allowed).toBe(true);
      const stored = afterMutate(request, response);
      expect(annotationOf(stored, key)).toBeUndefined();
      expect(annotationOf(stored, `${key}x`)).toBe('kept');
      const validated = handleValidate(stored, validateDeps([checked]));
      expect(validated.allowed).toBe(false);
      expect(validated.status?.message).toContain('unverified image');
    },
  );
});

describe('Regression: credentials sent to another host', () => {
  // A Pod's pull Secrets (here, the admission's credentials) are for the registry they name, and only for it:
  // Connaisseur sent them to any host with the registry's name as a prefix, and a registry that redirects (to a CDN,
  // or to a server of the attacker's) must not pass them on. The defences: pkg/oci/transport.ts,
  // RegistryTransport#attempt (a hop to another origin goes without credentials, `sendAuth = false`, and no
  // Authorization is set off the registry's origin), RegistryTransport#withRetries (a 401 from another origin is
  // not answered), and pkg/oci/docker-config.ts (credentials are looked up by exact host).
  let registry: HttpRegistry;
  let elsewhere: HttpRegistry;
  const PASSWORD = 's3cret';

  beforeEach(async () => {
    registry = await new HttpRegistry().start();
    elsewhere = await new HttpRegistry().start();
  });
  afterEach(async () => {
    await registry.close();
    await elsewhere.close();
  });

  const entry = { imageReferences: ['*'], attestors: KEY_ATTESTORS };
  const basic = () => `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;
  /** The registry asks for Basic credentials, and sends every blob read to `elsewhere`. */
  function privateRegistryRedirectingBlobs(): void {
    registry.intercept = (req, res) => {
      if (req.headers['authorization'] !== basic()) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"', 'content-length': 0 }).end();
        return true;
      }
      if (!req.url?.includes('/blobs/')) return false;
      res.writeHead(307, { location: `http://${elsewhere.host}${req.url}`, 'content-length': 0 }).end();
      return true;
    };
  }
  const leaked = () => [...registry.requests, ...elsewhere.requests].filter((r) => r.authorization !== undefined);
  const admit = (image: string) =>
    handleMutate(
      podRequest(image),
      deps([policy(entry)], client(registry, elsewhere), {
        credentials: credentialsFor(registry.host, 'alice', PASSWORD),
      }),
    );

  it('sends none to the server a blob read is redirected to, and verifies what it serves', async () => {
    const digest = putSignedImage(registry);
    elsewhere.blobs.clear();
    for (const [d, blob] of registry.blobs) elsewhere.blobs.set(d, blob);
    privateRegistryRedirectingBlobs();
    const response = await admit(`${registry.host}/team/app:v1`);
    expect(response.allowed).toBe(true);
    expect(pinnedImage(response)).toBe(`${registry.host}/team/app:v1@${digest}`);
    expect(elsewhere.requests.length).toBeGreaterThan(0);
    expect(elsewhere.requests.every((r) => r.authorization === undefined)).toBe(true);
    expect(registry.requests.some((r) => r.authorization === basic())).toBe(true);
  });

  it('does not answer a challenge from the server a redirect led to', async () => {
    putSignedImage(registry);
    privateRegistryRedirectingBlobs();
    elsewhere.intercept = (_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="cdn"', 'content-length': 0 }).end();
      return true;
    };
    const response = await admit(`${registry.host}/team/app:v1`);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('registry error');
    // One read, not answered: RegistryTransport#withRetries answering the challenge would authenticate and send the
    // read again (through the registry, to here), and #attempt is then all that keeps the credentials back.
    expect(elsewhere.requests).toHaveLength(1);
    expect(elsewhere.requests[0]!.authorization).toBeUndefined();
  });

  it('sends none to another registry that asks for them', async () => {
    putSignedImage(elsewhere);
    elsewhere.intercept = (req, res) => {
      if (req.headers['authorization']) return false;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="evil"', 'content-length': 0 }).end();
      return true;
    };
    const response = await admit(`${elsewhere.host}/team/app:v1`);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('UNAUTHORIZED');
    expect(elsewhere.requests.length).toBeGreaterThan(0);
    expect(leaked()).toEqual([]);
  });
});
