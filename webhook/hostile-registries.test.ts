// Hostile registries seen through the webhook (issue 14, point 6, "Registries"): the real HTTPS webhook server in
// process (startWebhook), a RuleCache of ClusterPolicies compiled by pkg/policy's `compile` (one Fail + Enforce, one
// Ignore + Enforce, both over the hostile registry's images, webhookTimeoutSeconds 5), the real RegistryClient as
// cmd/main.ts builds it (plainHttpForLoopback), and a scripted registry on 127.0.0.1 (node:http) whose behaviour is
// chosen by the first segment of the repository: `127.0.0.1:<port>/<scenario>/app:v1`.
//
// Each scenario sends a Pod CREATE AdmissionReview over HTTPS to /mutate/fail, then to /mutate/ignore (the order the
// API server calls them in), and asserts:
//   - the outcome: under Fail, denied with the DENY_LEADS words of the problem's class (pkg/conditions/reasons.ts);
//     under Ignore, what failurePolicy says: an error reason (RegistryError, Timeout) admits with a warning, a
//     failure reason (SignatureNotFound, LimitExceeded, ...) denies, since the policy is in Enforce;
//   - the time: every answer before the policy's webhook timeout (5 s);
//   - the cost: the bytes and requests the hostile registry actually sent and served, and the growth of the
//     process's heap and RSS around the scenario (the registry runs in this process too, so the bound covers both).
import { jest } from '@jest/globals';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSilentLogger } from '../pkg/log/index.js';
import { computeDigest, parseDockerConfigJson, RegistryClient } from '../pkg/oci/index.js';
import { compile, RuleCache, type CompiledPolicy } from '../pkg/policy/index.js';
import { createServingCertificates, type ServingCertificates } from '../pkg/tls/index.js';
import { startWebhook, type RunningServer } from './index.js';

// Two scenarios wait for the 4 s deadline twice (Fail, then Ignore).
jest.setTimeout(20_000);

const REVIEW = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'));

/** The policies' webhookTimeoutSeconds: every answer must come before it. */
const TIMEOUT_SECONDS = 5;
const TIMEOUT_MS = TIMEOUT_SECONDS * 1000;
const MiB = 1024 * 1024;
/** The most a scenario's registry may send, and the process's heap and RSS may grow by, over both admissions. */
const SENT_BOUND = 64 * MiB;
const HEAP_BOUND = 64 * MiB;
const RSS_BOUND = 128 * MiB;
const PEAK_HEAP_BOUND = 128 * MiB;

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
const BUNDLE_ARTIFACT_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

const SIGNER = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const KEY_PEM = SIGNER.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const USERNAME = 'robot';
const PASSWORD = 'hostile-registry-password';

// ---------------------------------------------------------------------------------------------------------------
// The scripted registry.

interface Stats {
  requests: number;
  /** Body bytes written (declared lengths that were never sent do not count). */
  bytes: number;
  readonly seen: string[];
  readonly authorizations: (string | undefined)[];
}

const newStats = (): Stats => ({ requests: 0, bytes: 0, seen: [], authorizations: [] });

interface Stored {
  readonly body: Buffer;
  readonly contentType: string;
}

/** What one repository holds: manifests by tag or digest, blobs by digest. */
class Repo {
  readonly manifests = new Map<string, Stored>();
  readonly blobs = new Map<string, Buffer>();

  putManifest(body: Buffer, contentType: string, tag?: string): string {
    const digest = computeDigest(body);
    this.manifests.set(digest, { body, contentType });
    if (tag) this.manifests.set(tag, { body, contentType });
    return digest;
  }

  /** An image manifest under `tag`; returns its digest. */
  putImage(tag: string, note: string): string {
    return this.putManifest(
      json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [], annotations: { note } }),
      OCI_MANIFEST,
      tag,
    );
  }

  /** cosign's legacy sha256-<hex>.sig manifest for `digest`, with one layer signed by SIGNER. */
  sign(digest: string): { layerDigest: string } {
    const payload = json({
      critical: {
        identity: { 'docker-reference': 'hostile/app' },
        image: { 'docker-manifest-digest': digest },
        type: 'cosign container image signature',
      },
      optional: null,
    });
    const layerDigest = computeDigest(payload);
    this.blobs.set(layerDigest, payload);
    const signature = sign('sha256', payload, SIGNER.privateKey).toString('base64');
    const layer = {
      mediaType: SIMPLE_SIGNING,
      digest: layerDigest,
      size: payload.length,
      annotations: { [SIGNATURE_ANNOTATION]: signature },
    };
    this.manifests.set(`${digest.replace(':', '-')}.sig`, {
      body: json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [layer] }),
      contentType: OCI_MANIFEST,
    });
    return { layerDigest };
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** A request as a scenario sees it: `/v2/<scenario>/app/<kind>/<reference>` taken apart. */
interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly kind: 'manifests' | 'blobs' | 'referrers';
  readonly reference: string;
  readonly query: URLSearchParams;
  readonly repo: Repo;
  readonly stats: Stats;
}

/** Answers a call and returns true, or returns false to let the repository's content answer it. */
type Behaviour = (call: Call) => boolean;

interface Scenario {
  readonly repo: Repo;
  readonly stats: Stats;
  behaviour?: Behaviour;
}

class HostileRegistry {
  readonly scenarios = new Map<string, Scenario>();
  /** Requests for paths outside any scenario (the token realm), by path. */
  readonly other = newStats();
  host = '';
  readonly #server: Server;
  /** Every body still being pumped, stopped at close. */
  readonly #open = new Set<ServerResponse>();

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
    this.#server.keepAliveTimeout = 1000;
  }

  async start(address = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, address, resolve));
    const bound = this.#server.address();
    this.host = `${address}:${typeof bound === 'object' && bound ? bound.port : 0}`;
    return this;
  }

  close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    return new Promise((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  scenario(name: string, behaviour?: Behaviour): Scenario {
    const s: Scenario = { repo: new Repo(), stats: newStats(), ...(behaviour ? { behaviour } : {}) };
    this.scenarios.set(name, s);
    return s;
  }

  /** Writes `chunk`, counted against the scenario; false when the socket wants a drain. */
  static write(stats: Stats, res: ServerResponse, chunk: Buffer | string): boolean {
    stats.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return res.write(chunk);
  }

  /** A whole answer, its body counted. */
  static send(
    stats: Stats,
    res: ServerResponse,
    status: number,
    headers: Record<string, string | number>,
    body?: Buffer | string,
  ): void {
    const bytes = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...(bytes ? { 'content-length': bytes.length } : { 'content-length': 0 }), ...headers });
    if (bytes && res.req.method !== 'HEAD') HostileRegistry.write(stats, res, bytes);
    res.end();
  }

  /** A body of `chunk`s written as fast as the reader takes them, until `limit` bytes or the reader leaves. */
  pump(stats: Stats, res: ServerResponse, limit = Number.POSITIVE_INFINITY): void {
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    let closed = false;
    this.#open.add(res);
    res.on('close', () => {
      closed = true;
      this.#open.delete(res);
    });
    const go = () => {
      while (!closed && sent < limit) {
        sent += chunk.length;
        if (!HostileRegistry.write(stats, res, chunk)) return void res.once('drain', go);
      }
      if (!closed) res.end();
    };
    go();
  }

  /** One byte every `intervalMs`, of a body declared `length` long. */
  trickle(stats: Stats, res: ServerResponse, intervalMs: number): void {
    this.#open.add(res);
    const timer = setInterval(() => HostileRegistry.write(stats, res, '{'), intervalMs);
    res.on('close', () => {
      clearInterval(timer);
      this.#open.delete(res);
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://registry');
    const match = /^\/v2\/([^/]+)\/app\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    const scenario = match ? this.scenarios.get(match[1]!) : undefined;
    const stats = scenario?.stats ?? this.other;
    stats.requests++;
    stats.seen.push(`${req.method} ${url.pathname}${url.search}`);
    stats.authorizations.push(req.headers['authorization']);
    if (url.pathname === '/v2/') return HostileRegistry.send(stats, res, 200, {});
    if (url.pathname === '/token')
      return HostileRegistry.send(
        stats,
        res,
        200,
        { 'content-type': 'application/json' },
        json({ token: 'a-token', expires_in: 300 }),
      );
    if (!match || !scenario) return notFound(stats, res);
    const call: Call = {
      req,
      res,
      method: req.method ?? 'GET',
      kind: match[2] as Call['kind'],
      reference: decodeURIComponent(match[3]!),
      query: url.searchParams,
      repo: scenario.repo,
      stats,
    };
    if (scenario.behaviour?.(call)) return;
    serveContent(call);
  }
}

function notFound(stats: Stats, res: ServerResponse, code = 'MANIFEST_UNKNOWN'): void {
  HostileRegistry.send(
    stats,
    res,
    404,
    { 'content-type': 'application/json' },
    json({ errors: [{ code, message: 'unknown' }] }),
  );
}

/** What an honest registry without the referrers API answers from a repository's content. */
function serveContent(call: Call): void {
  const { repo, stats, res, kind, reference } = call;
  if (kind === 'referrers') return notFound(stats, res, 'NAME_UNKNOWN');
  if (kind === 'blobs') {
    const blob = repo.blobs.get(reference);
    if (!blob) return notFound(stats, res, 'BLOB_UNKNOWN');
    return HostileRegistry.send(stats, res, 200, { 'content-type': 'application/octet-stream' }, blob);
  }
  const manifest = repo.manifests.get(reference);
  if (!manifest) return notFound(stats, res);
  HostileRegistry.send(
    stats,
    res,
    200,
    { 'content-type': manifest.contentType, 'docker-content-digest': computeDigest(manifest.body) },
    manifest.body,
  );
}

/** A HEAD of the tag that names no digest, so that the client resolves with a GET the scenario then answers. */
function headWithoutDigest(call: Call): boolean {
  if (call.kind !== 'manifests' || call.method !== 'HEAD' || call.reference !== 'v1') return false;
  call.res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': 0 }).end();
  return true;
}

/** The GET of the tag (after headWithoutDigest). */
const isTagGet = (call: Call) => call.kind === 'manifests' && call.method === 'GET' && call.reference === 'v1';
/** The GET of the legacy signature tag. */
const isSigGet = (call: Call) => call.kind === 'manifests' && call.method === 'GET' && call.reference.endsWith('.sig');

// ---------------------------------------------------------------------------------------------------------------
// The webhook, its policies and an HTTPS client.

let certs: ServingCertificates;
let registry: HostileRegistry;
/** Another host, where the registry redirects blobs: 127.0.0.2 (loopback, but another origin than 127.0.0.1). */
let cdn: HostileRegistry;
let webhook: RunningServer;
let agent: Agent;
let client: RegistryClient;

function policy(name: string, failurePolicy: 'Fail' | 'Ignore', host: string): CompiledPolicy {
  const compiled = compile({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1' },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy,
      webhookTimeoutSeconds: TIMEOUT_SECONDS,
      rules: [
        {
          name: 'verify',
          match: { any: [{ resources: { kinds: ['Pod'] } }] },
          verifyImages: [
            {
              imageReferences: [`${host}/*`],
              attestors: [{ entries: [{ keys: { publicKeys: KEY_PEM, rekor: { ignoreTlog: true } } }] }],
            },
          ],
        },
      ],
    },
  });
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return compiled.value;
}

interface Answer {
  readonly status: number;
  readonly allowed: boolean;
  readonly message: string;
  readonly warnings: readonly string[];
  readonly pinned: string | undefined;
  readonly ms: number;
}

// A collection before and after each scenario, so that growth is what stays, not garbage not yet collected; the
// flag set at run time, so that the suite runs with the project's usual command line.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

let uids = 0;

/** A Pod CREATE naming `image`, sent over HTTPS to `path`, decoded by the server as the API server would send it. */
async function admit(path: '/mutate/fail' | '/mutate/ignore', image: string): Promise<Answer> {
  const review = structuredClone(REVIEW) as {
    request: { uid: string; object: { spec: { containers: { image: string }[] } } };
  };
  review.request.uid = `00000000-0000-4000-8000-${String(++uids).padStart(12, '0')}`;
  review.request.object.spec.containers[0]!.image = image;
  const body = JSON.stringify(review);
  const started = performance.now();
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: webhook.port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  const ms = performance.now() - started;
  if (status !== 200) return { status, allowed: false, message: text, warnings: [], pinned: undefined, ms };
  const answer = JSON.parse(text) as {
    response: { uid: string; allowed: boolean; status?: { message: string }; warnings?: string[]; patch?: string };
  };
  expect(answer.response.uid).toBe(review.request.uid);
  const patch = answer.response.patch
    ? (JSON.parse(Buffer.from(answer.response.patch, 'base64').toString()) as { path: string; value?: unknown }[])
    : [];
  const pinned = patch.find((p) => p.path === '/spec/containers/0/image')?.value;
  return {
    status,
    allowed: answer.response.allowed,
    message: answer.response.status?.message ?? '',
    warnings: answer.response.warnings ?? [],
    pinned: typeof pinned === 'string' ? pinned : undefined,
    ms,
  };
}

interface Run {
  readonly image: string;
  readonly fail: Answer;
  readonly ignore: Answer;
  readonly stats: Stats;
  readonly heapGrowth: number;
  readonly rssGrowth: number;
  readonly peakHeapGrowth: number;
  readonly peakRssGrowth: number;
}

const report: {
  scenario: string;
  fail: string;
  ignore: string;
  ms: string;
  requests: number;
  sent: number;
  heapMiB: number;
  peakHeapMiB: number;
  peakRssMiB: number;
}[] = [];

/** Both admissions of the scenario's image, with what they cost; asserts the answers came in time and cheaply. */
async function run(name: string, options: { peakBounded?: boolean } = {}): Promise<Run> {
  const scenario = registry.scenarios.get(name);
  if (!scenario) throw new Error(`no scenario ${name}`);
  const image = `${registry.host}/${name}/app:v1`;
  collect();
  const before = process.memoryUsage();
  // The peak, sampled while the admissions run: what a memory limit would meet.
  let peakRss = before.rss;
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss);
    peakHeap = Math.max(peakHeap, now.heapUsed);
  }, 20);
  const fail = await admit('/mutate/fail', image);
  const ignore = await admit('/mutate/ignore', image);
  clearInterval(sampler);
  collect();
  const after = process.memoryUsage();
  const result: Run = {
    image,
    fail,
    ignore,
    stats: scenario.stats,
    heapGrowth: after.heapUsed - before.heapUsed,
    rssGrowth: after.rss - before.rss,
    peakHeapGrowth: peakHeap - before.heapUsed,
    peakRssGrowth: peakRss - before.rss,
  };
  const shown = (a: Answer) =>
    a.status !== 200
      ? `HTTP ${a.status}`
      : a.allowed
        ? a.warnings.length > 0
          ? 'admitted+warning'
          : 'admitted'
        : 'denied';
  report.push({
    scenario: name,
    fail: shown(fail),
    ignore: shown(ignore),
    ms: `${Math.round(fail.ms)}/${Math.round(ignore.ms)}`,
    requests: scenario.stats.requests,
    sent: scenario.stats.bytes,
    heapMiB: Math.round(result.heapGrowth / MiB),
    peakHeapMiB: Math.round(result.peakHeapGrowth / MiB),
    peakRssMiB: Math.round(result.peakRssGrowth / MiB),
  });
  // Answered, well-formed, before the webhook timeout, with bounded cost: whatever the scenario.
  for (const answer of [fail, ignore]) {
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(TIMEOUT_MS);
  }
  expect(scenario.stats.bytes).toBeLessThan(SENT_BOUND);
  expect(result.heapGrowth).toBeLessThan(HEAP_BOUND);
  if (options.peakBounded !== false) expectBoundedPeak(result);
  return result;
}

/** The most the process grew by while the scenario ran (the scripted registry, in this process, included). */
function expectBoundedPeak(r: Run): void {
  expect(r.peakHeapGrowth).toBeLessThan(PEAK_HEAP_BOUND);
  expect(r.peakRssGrowth).toBeLessThan(RSS_BOUND);
}

/** The deny message as one line: it is wrapped for kubectl. */
const flat = (message: string) => message.replace(/\s+/g, ' ');

/** `image verification failed for <image>...: <lead>`: the deny message's words for the problem's class. */
function expectDenied(answer: Answer, lead: string): void {
  expect(answer.allowed).toBe(false);
  expect(flat(answer.message)).toContain('image verification failed for');
  expect(flat(answer.message)).toContain(`: ${lead}`);
}

/** An error reason under failurePolicy Ignore: admitted, unpinned, with a warning that says why. */
function expectAdmittedWithWarning(answer: Answer, lead: string): void {
  expect(answer.allowed).toBe(true);
  expect(answer.pinned).toBeUndefined();
  expect(answer.warnings.some((w) => w.includes('hostile-ignore') && w.includes(lead))).toBe(true);
}

/** A registry error: Fail denies saying so, Ignore admits with a warning. */
function expectRegistryError(r: Run, detail?: string): void {
  expectDenied(r.fail, 'registry error');
  if (detail) expect(flat(r.fail.message)).toContain(detail);
  expectAdmittedWithWarning(r.ignore, 'registry error');
}

/** A failure reason (the registry's content decided it): denied under both failure policies, as the policy enforces. */
function expectFailureBoth(r: Run, lead: string): void {
  expectDenied(r.fail, lead);
  expectDenied(r.ignore, lead);
}

// ---------------------------------------------------------------------------------------------------------------
// The scenarios' content and behaviour, set up once the registry's address is known.

/** Digests the scenarios' assertions need. */
const digests: Record<string, string> = {};

function setUpScenarios(): void {
  const r = registry;

  // Control: an honest, signed image is admitted and pinned under both, so every denial below is the hostility's.
  {
    const { repo } = r.scenario('signed');
    digests['signed'] = repo.putImage('v1', 'signed');
    repo.sign(digests['signed']);
  }

  // 1. A manifest declared 100 MiB long, its bytes written as fast as the reader takes them.
  r.scenario('huge-manifest', (call) => {
    if (headWithoutDigest(call)) return true;
    if (!isTagGet(call)) return false;
    call.res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': 100 * MiB });
    r.pump(call.stats, call.res, 100 * MiB);
    return true;
  });

  // 2. A manifest whose body never ends (chunked, no length).
  r.scenario('endless-manifest', (call) => {
    if (headWithoutDigest(call)) return true;
    if (!isTagGet(call)) return false;
    call.res.writeHead(200, { 'content-type': OCI_MANIFEST });
    r.pump(call.stats, call.res);
    return true;
  });

  // 3. A manifest whose content does not hash to the digest the registry claims for it.
  {
    const s = r.scenario('wrong-digest', (call) => {
      if (headWithoutDigest(call)) return true;
      if (!isTagGet(call)) return false;
      const body = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [] });
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        { 'content-type': OCI_MANIFEST, 'docker-content-digest': digests['wrong-digest']! },
        body,
      );
      return true;
    });
    digests['wrong-digest'] = s.repo.putImage('signed-one', 'signed');
    s.repo.sign(digests['wrong-digest']);
  }

  // 4. HEAD and GET disagree: HEAD names the signed image's digest, a GET of the tag would serve another, unsigned.
  {
    const s = r.scenario('head-get-disagree', (call) => {
      if (!isTagGet(call)) return false;
      const other = json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: EMPTY_CONFIG,
        layers: [],
        annotations: { note: 'unsigned' },
      });
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        { 'content-type': OCI_MANIFEST, 'docker-content-digest': computeDigest(other) },
        other,
      );
      return true;
    });
    digests['head-get-disagree'] = s.repo.putImage('v1', 'signed');
    s.repo.sign(digests['head-get-disagree']);
  }

  // 5. The signature layer's blob does not hash to its digest: the signature is not read, nothing else is found.
  {
    const s = r.scenario('sig-blob-mismatch');
    const digest = s.repo.putImage('v1', 'signed');
    const { layerDigest } = s.repo.sign(digest);
    s.repo.blobs.set(layerDigest, json({ critical: { image: { 'docker-manifest-digest': digest } }, forged: true }));
  }

  // 6. An index that "lists itself": every manifest the repository is asked for, by tag or digest, is the same index,
  // whose one entry is a digest the registry answers with that index again.
  {
    const looping = sha256Of('loop');
    const index = json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [{ mediaType: OCI_INDEX, digest: looping, size: 200 }],
    });
    r.scenario('index-loop', (call) => {
      if (call.kind !== 'manifests') return false;
      const claimed = call.reference.startsWith('sha256:') ? call.reference : computeDigest(index);
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        { 'content-type': OCI_INDEX, 'docker-content-digest': claimed },
        index,
      );
      return true;
    });
  }

  // 7. A chain of 64 nested indexes behind the tag, each a real index of the next.
  {
    const s = r.scenario('index-chain');
    let next = s.repo.putImage('leaf', 'the bottom of the chain');
    for (let depth = 63; depth >= 0; depth--) {
      const body = json({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: depth === 63 ? OCI_MANIFEST : OCI_INDEX, digest: next, size: 300 }],
      });
      next = s.repo.putManifest(body, OCI_INDEX, depth === 0 ? 'v1' : undefined);
    }
  }

  // 8. The tag resolves (by GET: HEAD names no digest) to an index of 1,000 platform manifests, signed at the index.
  {
    const s = r.scenario('platforms-1000', headWithoutDigest);
    const manifests = Array.from({ length: 1000 }, (_, i) => ({
      mediaType: OCI_MANIFEST,
      digest: s.repo.putImage(`p${i}`, `platform ${i}`),
      size: 200,
      platform: { os: 'linux', architecture: `arch${i}` },
    }));
    digests['platforms-1000'] = s.repo.putManifest(
      json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
      OCI_INDEX,
      'v1',
    );
    s.repo.sign(digests['platforms-1000']);
  }

  // 9. 10,000 referrers in one page of the referrers API, bundles that are never there.
  {
    const s = r.scenario('referrers-10k', (call) => {
      if (call.kind !== 'referrers') return false;
      const manifests = Array.from({ length: 10_000 }, (_, i) => ({
        mediaType: OCI_MANIFEST,
        artifactType: BUNDLE_ARTIFACT_TYPE,
        digest: sha256Of(`referrer ${i}`),
        size: 500,
      }));
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        { 'content-type': OCI_INDEX },
        json({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
      );
      return true;
    });
    s.repo.putImage('v1', 'unsigned');
  }

  // 10. A .sig manifest of 5,000 signature layers (junk signatures).
  {
    const s = r.scenario('sig-5000-layers');
    const digest = s.repo.putImage('v1', 'unsigned');
    const layers = Array.from({ length: 5000 }, (_, i) => ({
      mediaType: SIMPLE_SIGNING,
      digest: sha256Of(`layer ${i}`),
      size: 300,
      annotations: { [SIGNATURE_ANNOTATION]: 'AAAA' },
    }));
    s.repo.manifests.set(`${digest.replace(':', '-')}.sig`, {
      body: json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers }),
      contentType: OCI_MANIFEST,
    });
  }

  // 11. Referrers pagination that never ends: each page one new referrer and a Link to a page never seen before.
  {
    const s = r.scenario('endless-pagination', (call) => {
      if (call.kind !== 'referrers') return false;
      const n = Number(call.query.get('page') ?? '0');
      const page = json({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, artifactType: BUNDLE_ARTIFACT_TYPE, digest: sha256Of(`page ${n}`), size: 500 },
        ],
      });
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        {
          'content-type': OCI_INDEX,
          link: `</v2/endless-pagination/app/referrers/${call.reference}?page=${n + 1}>; rel="next"`,
        },
        page,
      );
      return true;
    });
    s.repo.putImage('v1', 'unsigned');
  }

  // 12. A manifest trickled one byte every 100 ms: the deadline, not the registry, ends it.
  r.scenario('slow-body', (call) => {
    if (headWithoutDigest(call)) return true;
    if (!isTagGet(call)) return false;
    call.res.writeHead(200, { 'content-type': OCI_MANIFEST, 'content-length': 100_000 });
    r.trickle(call.stats, call.res, 100);
    return true;
  });

  // 13. The registry wants credentials, and redirects its blobs to another host (a CDN): the blob is fetched there
  // without them, and the signed image is admitted.
  {
    const basic = `Basic ${Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64')}`;
    const s = r.scenario('blob-redirect', (call) => {
      if (call.req.headers['authorization'] !== basic) {
        HostileRegistry.send(call.stats, call.res, 401, { 'www-authenticate': 'Basic realm="hostile"' });
        return true;
      }
      if (call.kind !== 'blobs') return false;
      call.res
        .writeHead(307, { location: `http://${cdn.host}/v2/cdn/app/blobs/${call.reference}`, 'content-length': 0 })
        .end();
      return true;
    });
    digests['blob-redirect'] = s.repo.putImage('v1', 'signed');
    s.repo.sign(digests['blob-redirect']);
  }

  // 14. A redirect to the cloud metadata service, a link-local address (refused: the registry is on loopback).
  {
    const s = r.scenario('redirect-link-local', (call) => {
      if (!isSigGet(call)) return false;
      call.res
        .writeHead(307, {
          location: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
          'content-length': 0,
        })
        .end();
      return true;
    });
    s.repo.sign(s.repo.putImage('v1', 'signed'));
  }

  // 15. A redirect to a host name that resolves to a private address (checked where it is resolved, on connect).
  {
    const s = r.scenario('redirect-private-name', (call) => {
      if (!isSigGet(call)) return false;
      call.res
        .writeHead(307, {
          location: `http://metadata.hostile.test:${registry.host.split(':')[1]}/v2/`,
          'content-length': 0,
        })
        .end();
      return true;
    });
    s.repo.sign(s.repo.putImage('v1', 'signed'));
  }

  // 16. A token realm on the metadata service's link-local address.
  r.scenario('token-realm-link-local', (call) => {
    HostileRegistry.send(call.stats, call.res, 401, {
      'www-authenticate': 'Bearer realm="http://169.254.169.254/token",service="hostile"',
    });
    return true;
  });

  // 17. A token realm named by a host that resolves to a private address.
  r.scenario('token-realm-private-name', (call) => {
    HostileRegistry.send(call.stats, call.res, 401, {
      'www-authenticate': 'Bearer realm="http://internal.hostile.test/token",service="hostile"',
    });
    return true;
  });

  // 18. A 401 loop: a token is handed out (the realm is the registry's own, on loopback), and refused every time.
  r.scenario('auth-loop', (call) => {
    HostileRegistry.send(call.stats, call.res, 401, {
      'www-authenticate': `Bearer realm="http://${registry.host}/token",service="hostile"`,
    });
    return true;
  });

  // 19. 429 with a Retry-After of a day.
  r.scenario('retry-after-huge', (call) => {
    HostileRegistry.send(
      call.stats,
      call.res,
      429,
      { 'retry-after': '86400', 'content-type': 'application/json' },
      json({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }),
    );
    return true;
  });

  // 20. A storm of 503s.
  r.scenario('server-error-storm', (call) => {
    HostileRegistry.send(call.stats, call.res, 503, { 'content-type': 'text/plain' }, 'unavailable');
    return true;
  });

  // 21. Garbage where JSON belongs.
  r.scenario('garbage-json', (call) => {
    if (headWithoutDigest(call)) return true;
    if (!isTagGet(call)) return false;
    HostileRegistry.send(
      call.stats,
      call.res,
      200,
      { 'content-type': OCI_MANIFEST },
      '{"schemaVersion": 2, "mediaType": \u0000\u00ff}}]]',
    );
    return true;
  });

  // 22. A manifest served as text/html, its own mediaType saying otherwise.
  r.scenario('wrong-content-type', (call) => {
    if (headWithoutDigest(call)) return true;
    if (!isTagGet(call)) return false;
    const body = json({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: EMPTY_CONFIG, layers: [] });
    HostileRegistry.send(call.stats, call.res, 200, { 'content-type': 'text/html' }, body);
    return true;
  });

  // 23. A redirect loop: the manifest redirects to itself, forever.
  r.scenario('redirect-loop', (call) => {
    if (call.kind !== 'manifests') return false;
    call.res.writeHead(302, { location: call.req.url ?? '/', 'content-length': 0 }).end();
    return true;
  });

  // 24. A signature manifest of 100,000 nested arrays.
  {
    const s = r.scenario('nested-json', (call) => {
      if (!isSigGet(call)) return false;
      HostileRegistry.send(
        call.stats,
        call.res,
        200,
        { 'content-type': OCI_MANIFEST },
        '['.repeat(100_000) + ']'.repeat(100_000),
      );
      return true;
    });
    s.repo.putImage('v1', 'unsigned');
  }
}

function sha256Of(text: string): string {
  return computeDigest(Buffer.from(text));
}

beforeAll(async () => {
  certs = await createServingCertificates({ hosts: ['127.0.0.1'], validityDays: 1, now: new Date() });
  registry = await new HostileRegistry().start('127.0.0.1');
  cdn = await new HostileRegistry().start('127.0.0.2');
  const blobs = cdn.scenario('cdn');
  setUpScenarios();
  // The CDN holds the redirecting scenario's blobs.
  for (const [digest, blob] of registry.scenarios.get('blob-redirect')!.repo.blobs) blobs.repo.blobs.set(digest, blob);

  const credentials = parseDockerConfigJson(
    JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64') } } }),
  );
  if (!credentials.ok) throw new Error(credentials.error);
  // As cmd/main.ts builds it; DNS is the one thing faked, so that names can resolve to internal addresses.
  client = new RegistryClient({
    plainHttpForLoopback: true,
    userAgent: 'imprimatur-webhook',
    credentials: credentials.value,
    resolveHost: async (hostname) => {
      if (hostname === 'metadata.hostile.test') return ['10.0.0.7'];
      if (hostname === 'internal.hostile.test') return ['192.168.1.1'];
      if (hostname === 'localhost') return ['127.0.0.1'];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    },
  });
  const cache = new RuleCache();
  cache.upsert(policy('hostile-fail', 'Fail', registry.host));
  cache.upsert(policy('hostile-ignore', 'Ignore', registry.host));
  cache.markWarm();
  webhook = await startWebhook({
    cache,
    tls: certs,
    host: '127.0.0.1',
    port: 0,
    log: createSilentLogger(),
    verification: { registry: client },
  });
  agent = new Agent({ keepAlive: true, ca: certs.caPem, ALPNProtocols: ['http/1.1'] });
});

afterAll(async () => {
  agent?.destroy();
  await webhook?.close();
  await registry?.close();
  await cdn?.close();
  if (process.env['HOSTILE_REPORT']) console.table(report);
});

// ===============================================================================================================

describe('The webhook against a hostile registry', () => {
  it('admits and pins an honest signed image under both failure policies (the control)', async () => {
    const r = await run('signed');
    for (const answer of [r.fail, r.ignore]) {
      expect(answer.allowed).toBe(true);
      expect(answer.pinned).toBe(`${r.image}@${digests['signed']}`);
    }
  });

  describe('huge or endless manifests', () => {
    it('refuses a manifest declared 100 MiB long without reading it (registry error: TOO_LARGE)', async () => {
      const r = await run('huge-manifest');
      expectRegistryError(r);
      expect(flat(r.fail.message)).toMatch(/too large|larger than|over the|exceeds/i);
    });

    it('stops reading an endless manifest body at the limit (registry error)', async () => {
      const r = await run('endless-manifest');
      expectRegistryError(r);
      expect(flat(r.fail.message)).toMatch(/too large|larger than|over the|exceeds/i);
    });
  });

  describe('wrong digests', () => {
    it('denies a manifest whose content does not hash to the digest the registry claims (DIGEST_MISMATCH)', async () => {
      const r = await run('wrong-digest');
      expectRegistryError(r, 'hashes to');
    });

    it('pins what HEAD named and verified when a GET of the tag would disagree, and never reads the tag again', async () => {
      const r = await run('head-get-disagree');
      for (const answer of [r.fail, r.ignore]) {
        expect(answer.allowed).toBe(true);
        expect(answer.pinned).toBe(`${r.image}@${digests['head-get-disagree']}`);
      }
      expect(r.stats.seen).not.toContain('GET /v2/head-get-disagree/app/manifests/v1');
    });

    it('does not take a signature whose blob does not hash to its layer digest (signature not found)', async () => {
      const r = await run('sig-blob-mismatch');
      expectFailureBoth(r, 'signature not found');
      expect(flat(r.fail.message)).toContain('does not match its digest');
    });
  });

  describe('indexes', () => {
    it('denies an index that lists itself, with a handful of requests (it is never walked)', async () => {
      const r = await run('index-loop');
      expectFailureBoth(r, 'signature not found');
      expect(r.stats.requests).toBeLessThan(20);
    });

    it('denies behind a chain of 64 nested indexes, with a handful of requests', async () => {
      const r = await run('index-chain');
      expectFailureBoth(r, 'signature not found');
      expect(r.stats.requests).toBeLessThan(20);
    });

    it('admits a tag that resolves to an index of 1,000 platform manifests, signed at the index', async () => {
      const r = await run('platforms-1000');
      for (const answer of [r.fail, r.ignore]) {
        expect(answer.allowed).toBe(true);
        expect(answer.pinned).toBe(`${r.image}@${digests['platforms-1000']}`);
      }
    });
  });

  describe('thousands of referrers or signature layers', () => {
    it('denies 10,000 referrers within the request budget (LimitExceeded: signature not found)', async () => {
      const r = await run('referrers-10k');
      expectFailureBoth(r, 'signature not found');
      expect(flat(r.fail.message)).toContain('registry requests reached the limit of 200');
      // Two admissions, each within its budget of 200 requests.
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 200);
    });

    it('refuses a .sig manifest of 5,000 layers, over the 1,000-entry limit (registry error)', async () => {
      const r = await run('sig-5000-layers');
      expectRegistryError(r);
      expect(r.stats.requests).toBeLessThan(20);
    });
  });

  describe('pagination that never ends', () => {
    // Each page holds one referrer and links to a page never seen before, so neither the loop check nor the
    // 10,000-referrer cap stops it soon. Run once; the two tests below read the same run.
    let paged: Promise<Run> | undefined;
    const endless = () => (paged ??= run('endless-pagination', { peakBounded: false }));

    it('is answered before the deadline, with bounded bytes and retained memory', async () => {
      // run() asserts the deadline, the bytes sent and the heap retained after a collection.
      const r = await endless();
      expect(r.fail.allowed).toBe(false);
    });

    it('stops within the 200-request budget and denies under both failure policies', async () => {
      // The defence: pkg/cosign/discover.ts #referrers passes the requests left in the budget as listReferrers'
      // maxPages, and pkg/oci/registry-client.ts #readReferrerPages ends the list there (truncated). Without it the
      // pages were followed until the deadline (~4,000 requests per admission), a Timeout (an error, which the Ignore
      // policy admits) where a single page of 10,000 referrers is LimitExceeded; and ~300 MiB of peak heap growth.
      const r = await endless();
      // 200 per verification, and the few reads before its budget starts (the tag's digest, resolved once per
      // admission for every rule).
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 205);
      expectFailureBoth(r, 'signature not found');
      expectBoundedPeak(r);
    });
  });

  describe('slow bodies', () => {
    it('answers a manifest trickled a byte every 100 ms at the deadline (timed out)', async () => {
      const r = await run('slow-body');
      expectDenied(r.fail, 'timed out');
      expectAdmittedWithWarning(r.ignore, 'timed out');
      // The deadline is the timeout less a fifth: 4 s of 5.
      expect(r.fail.ms).toBeGreaterThan(3500);
      expect(r.stats.bytes).toBeLessThan(100);
    });
  });

  describe('redirects', () => {
    it('follows a blob redirect to another host without the credentials, and admits the signed image', async () => {
      const r = await run('blob-redirect');
      for (const answer of [r.fail, r.ignore]) {
        expect(answer.allowed).toBe(true);
        expect(answer.pinned).toBe(`${r.image}@${digests['blob-redirect']}`);
      }
      const atCdn = cdn.scenarios.get('cdn')!.stats;
      expect(atCdn.requests).toBeGreaterThan(0);
      expect(atCdn.authorizations.every((a) => a === undefined)).toBe(true);
      // The registry itself did get them, so the CDN's lack of them is the defence's.
      expect(r.stats.authorizations.some((a) => a?.startsWith('Basic '))).toBe(true);
    });

    it('refuses a redirect to the link-local metadata address before connecting (registry error)', async () => {
      const r = await run('redirect-link-local');
      expectRegistryError(r, 'link-local');
      expect(flat(r.fail.message)).not.toContain('169.254');
    });

    it('refuses a redirect to a name that resolves to a private address (registry error)', async () => {
      const r = await run('redirect-private-name');
      expectRegistryError(r, 'cannot reach the server the registry redirected to');
      expect(flat(r.fail.message)).not.toMatch(/10\.0\.0\.7|ERR_ADDRESS_REFUSED/);
    });

    it('gives up on a redirect loop after the hop limit (registry error)', async () => {
      const r = await run('redirect-loop');
      expectRegistryError(r);
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 12);
    });
  });

  describe('token realms and authentication', () => {
    it('refuses a token realm on the link-local metadata address (registry error)', async () => {
      const r = await run('token-realm-link-local');
      expectRegistryError(r, 'token realm');
      expect(flat(r.fail.message)).not.toContain('169.254');
    });

    it('refuses a token realm named by a host that resolves to a private address (registry error)', async () => {
      const r = await run('token-realm-private-name');
      expectRegistryError(r, 'token service');
      expect(flat(r.fail.message)).not.toContain('192.168');
    });

    it('stops a 401 loop after one token (registry error: UNAUTHORIZED)', async () => {
      const r = await run('auth-loop');
      expectRegistryError(r);
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 4);
    });
  });

  describe('rate limits and server errors', () => {
    it('does not wait a day for Retry-After (registry error, answered at once)', async () => {
      const r = await run('retry-after-huge');
      expectRegistryError(r);
      expect(r.fail.ms).toBeLessThan(1000);
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 2);
    });

    it('gives up on a storm of 503s after its retries (registry error)', async () => {
      const r = await run('server-error-storm');
      expectRegistryError(r);
      expect(r.stats.requests).toBeLessThanOrEqual(2 * 4);
    });
  });

  describe('malformed answers', () => {
    it('denies garbage where a manifest belongs (registry error)', async () => {
      const r = await run('garbage-json');
      expectRegistryError(r, 'not valid JSON');
    });

    it('reads a manifest served as text/html by the mediaType it declares, and finds no signature', async () => {
      // The client takes the document's own mediaType when the header disagrees; what matters is that nothing
      // unsigned gets through: the image has no signature, so it is denied under both.
      const r = await run('wrong-content-type');
      expectFailureBoth(r, 'signature not found');
    });

    it('denies a signature manifest of 100,000 nested arrays without a 500 (registry error)', async () => {
      const r = await run('nested-json');
      expectRegistryError(r);
    });
  });
});
