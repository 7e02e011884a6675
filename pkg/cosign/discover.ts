// Finds an image's signatures and reads each into a signed artifact, once, for every attestor and rule that asks.
// cosign stores them in three ways (cosign-formats.md §1, §4):
//   - layers of the manifest tagged sha256-<hex>.sig (legacy), in the image's repository or the signature
//     repository a policy names (what COSIGN_REPOSITORY writes);
//   - the same layers in a manifest stored as an OCI 1.1 referrer of artifact type
//     application/vnd.dev.cosign.artifact.sig.v1+json (cosign --registry-referrers-mode=oci-1-1);
//   - Sigstore bundles, one per referrer manifest (cosign v3's default), found through the referrers API or its tag
//     fallback.
// Attestations are stored the same three ways: DSSE envelope layers of the manifest tagged sha256-<hex>.att (and
// of referrer manifests of an attestation artifact type), and Sigstore bundles whose statement has a predicate type
// other than cosign sign's. discoverAttestations reads those, as discoverSignatures reads signatures. An entry of
// type SigstoreBundle asks for bundles alone (DiscoverDeps.layouts), as Kyverno reads them: no legacy tag is asked for.
//
// Whoever can push to the repository decides what is there, so discovery is bounded by the verification's budget
// (bytes, requests, artifacts) and looks first where real signatures are likely: referrers that declare another
// predicate type (attestations) are not read for signatures, and blobs are read smallest first, so a flood of
// large junk neither fills memory nor keeps a small real signature from being read. A blob that cannot be read
// (missing, too large, wrong digest, not a bundle) is a problem noted for the message, not an error: other
// signatures may still verify. A registry that fails transiently is remembered, so that an image nothing verified
// for is reported as a registry error (failurePolicy decides) rather than as unsigned.
import type { ImageRef } from '../imageref/index.js';
import type { CallOptions, Descriptor, DockerConfig, OciFailure, RegistryClient } from '../oci/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { WorkBudget, WorkKind } from './budget.js';
import { BUNDLE_MEDIA_TYPE_PREFIX, BUNDLE_PREDICATE_TYPE_ANNOTATION, toBundleArtifact } from './bundle-artifact.js';
import { failure, fromRegistryFailure, type VerifyFailure } from './failure.js';
import { isDsseLayer, PREDICATE_TYPE_ANNOTATION, toDsseArtifacts } from './dsse-artifact.js';
import { isSignatureLayer, toLegacyArtifact } from './legacy-artifact.js';
import type { SignedArtifact } from './signed-artifact.js';
import { COSIGN_SIGN_PREDICATE_TYPE } from './statement.js';

export const LEGACY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
/**
 * Referrer manifests of DSSE attestation layers: cosign's artifact type for attestations, and the in-toto type that
 * its WriteAttestationsReferrer gives them.
 */
export const LEGACY_ATTESTATION_ARTIFACT_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.dev.cosign.artifact.att.v1+json',
  'application/vnd.in-toto+json',
]);

export type SignatureRegistry = Pick<RegistryClient, 'getManifest' | 'getBlob' | 'listReferrers'>;

/** Where the signatures of one image digest live. */
export interface SignatureLocation {
  /** The image's repository, or the signature repository; tag and digest are ignored. */
  readonly repository: ImageRef;
  readonly digest: string;
}

export interface DiscoverDeps {
  readonly registry: SignatureRegistry;
  readonly budget: WorkBudget;
  readonly signal?: AbortSignal;
  /** Credentials for this image's registries (a Pod's pull secrets); the client's own when absent. */
  readonly credentials?: DockerConfig;
  /** Read the registries as insecure calls (CallOptions.insecure: Kyverno's allowInsecureRegistry). */
  readonly insecure?: boolean;
  /**
   * Which layouts are read: every one cosign writes (`all`, the default: an entry of type Cosign), or Sigstore bundles
   * alone (`bundles`: type SigstoreBundle, which Kyverno reads only as bundles found through the referrers), with no
   * request for the legacy tag and no legacy referrer manifest read.
   */
  readonly layouts?: SignatureLayouts;
}

export type SignatureLayouts = 'all' | 'bundles';

export interface Discovery {
  readonly artifacts: readonly SignedArtifact[];
  /** Things found that could not be read as signatures, for the message when nothing verifies. */
  readonly problems: readonly string[];
  /** A transient registry failure met while reading signatures, when there was one. */
  readonly registryFailure?: OciFailure;
  /** The limit that stopped discovery before it read everything offered, when one did. */
  readonly stoppedBy?: WorkKind;
  /** registry/repository, for messages. */
  readonly where: string;
}

/** A signature blob is a few hundred bytes to a few kilobytes; 1 MiB leaves room for large annotation maps. */
const ARTIFACT_BYTES = 1024 * 1024;
/** A referrer manifest is under 1 KiB; a .sig manifest with a thousand keyless layers is a few MiB. */
const REFERRER_MANIFEST_BYTES = 64 * 1024;
const SIG_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Reads in flight at once, per verification; the client limits each registry as a whole too. */
const PARALLEL_READS = 4;
/** Problems quoted in a message, at most. */
const MAX_PROBLEMS = 5;

/** Codes that say something about the content (it is not there, or not what it claims): not worth failing over. */
const CONTENT_CODES: ReadonlySet<OciFailure['code']> = new Set<OciFailure['code']>([
  'MANIFEST_UNKNOWN',
  'BLOB_UNKNOWN',
  'DIGEST_MISMATCH',
  'TOO_LARGE',
  'BAD_RESPONSE',
]);

interface BlobCandidate {
  readonly order: number;
  readonly source: string;
  readonly layer: Descriptor;
  /** For bundles: the referrer manifest's digest, which names the artifact. */
  readonly referrer?: string;
}

/** What one discovery looks for: signatures or attestations, each where cosign stores them. */
interface Sought {
  readonly noun: 'signatures' | 'attestations';
  /** The legacy tag's suffix. */
  readonly suffix: '.sig' | '.att';
  /** Whether a layer of the legacy manifest (or of a legacy referrer manifest) holds one. */
  readonly isLayer: (layer: Descriptor) => boolean;
  /** Artifact types of referrer manifests laid out as the legacy manifest. */
  readonly legacyArtifactTypes: ReadonlySet<string>;
  /** Whether a bundle whose predicate type is declared as `declared` (undefined: not declared) may be one. */
  readonly wantsBundle: (declared: string | undefined) => boolean;
  /** Reads a legacy layer's blob. */
  readonly toArtifacts: (source: string, layer: Descriptor, blob: Uint8Array) => Result<SignedArtifact[], string>;
}

const SIGNATURES: Sought = {
  noun: 'signatures',
  suffix: '.sig',
  isLayer: isSignatureLayer,
  legacyArtifactTypes: new Set([LEGACY_SIGNATURE_ARTIFACT_TYPE]),
  wantsBundle: (declared) => declared === undefined || declared === COSIGN_SIGN_PREDICATE_TYPE,
  toArtifacts: (source, layer, blob) => ok([toLegacyArtifact(source, layer, blob)]),
};

/**
 * Attestations, of the predicate types asked for when given: an envelope or bundle that declares another type is not
 * read (its declaration is unsigned, but a type it lies about would not be taken anyway: the checks read the type
 * from the signed statement).
 */
function attestationsOf(predicateTypes: ReadonlySet<string> | undefined): Sought {
  const wanted = (declared: string | undefined) =>
    declared === undefined || predicateTypes === undefined || predicateTypes.has(declared);
  return {
    noun: 'attestations',
    suffix: '.att',
    isLayer: (layer) => isDsseLayer(layer) && wanted(layer.annotations?.[PREDICATE_TYPE_ANNOTATION]),
    legacyArtifactTypes: LEGACY_ATTESTATION_ARTIFACT_TYPES,
    wantsBundle: (declared) => declared !== COSIGN_SIGN_PREDICATE_TYPE && wanted(declared),
    toArtifacts: toDsseArtifacts,
  };
}

export async function discoverSignatures(
  location: SignatureLocation,
  deps: DiscoverDeps,
): Promise<Result<Discovery, VerifyFailure>> {
  return new DiscoveryRun(location, deps, SIGNATURES).run();
}

/**
 * The attestations of a digest: legacy .att layers, attestation referrers and attestation bundles, each read into
 * signed artifacts (one per envelope signature). With `predicateTypes`, those that declare another type are left
 * unread; the checks pick the types they ask for from the signed statements.
 */
export async function discoverAttestations(
  location: SignatureLocation,
  deps: DiscoverDeps,
  predicateTypes?: ReadonlySet<string>,
): Promise<Result<Discovery, VerifyFailure>> {
  return new DiscoveryRun(location, deps, attestationsOf(predicateTypes)).run();
}

class DiscoveryRun {
  readonly #image: ImageRef;
  readonly #digest: string;
  readonly #deps: DiscoverDeps;
  readonly #where: string;
  readonly #sought: Sought;
  /** Sigstore bundles alone (DiscoverDeps.layouts): no legacy tag, no legacy referrer manifest. */
  readonly #bundlesOnly: boolean;
  readonly #problems: string[] = [];
  #registryFailure: OciFailure | undefined;
  #stoppedBy: WorkKind | undefined;
  /** A limit that left something unread, reported once the reading that is still allowed is done. */
  #pendingStop: WorkKind | undefined;

  constructor(location: SignatureLocation, deps: DiscoverDeps, sought: Sought) {
    this.#sought = sought;
    const { registry, repository } = location.repository;
    this.#image = { registry, repository };
    this.#digest = location.digest;
    this.#deps = deps;
    this.#bundlesOnly = deps.layouts === 'bundles';
    this.#where = `${registry}/${repository}`;
  }

  async run(): Promise<Result<Discovery, VerifyFailure>> {
    const sought = this.#sought;
    const tag = `${this.#digest.replace(':', '-')}${sought.suffix}`;
    const [sig, referrers] = await Promise.all([
      this.#bundlesOnly ? ok(undefined) : this.#sigManifest(tag),
      this.#referrers(),
    ]);
    if (!sig.ok) return sig;
    if (!referrers.ok) return referrers;
    const candidates: BlobCandidate[] = [];
    const add = (source: string, layer: Descriptor, referrer?: string) =>
      candidates.push({ order: candidates.length, source, layer, ...(referrer ? { referrer } : {}) });
    for (const [i, layer] of (sig.value ?? []).entries()) {
      if (sought.isLayer(layer)) add(`${tag} layer ${i}`, layer);
    }
    // The .sig layers are known already and cost a request each: read them before the referrers can spend the
    // budget. Then the referrer manifests, with a quarter of the requests left kept back for their blobs, so that a
    // flood of referrers cannot leave nothing to read a signature with.
    const artifacts = await this.#readBlobs(candidates.splice(0));
    const manifests = await this.#referrerManifests(referrers.value, Math.ceil(this.#deps.budget.left('requests') / 4));
    if (!manifests.ok) return manifests;
    for (const m of manifests.value) {
      if (m.kind === 'bundle') add(`referrer ${m.digest}`, m.layers[0]!, m.digest);
      else m.layers.forEach((layer, i) => sought.isLayer(layer) && add(`referrer ${m.digest} layer ${i}`, layer));
    }
    artifacts.push(...(await this.#readBlobs(candidates)));
    if (this.#pendingStop) this.#stoppedBy ??= this.#pendingStop;
    if (this.#deps.signal?.aborted) {
      return err(failure('Timeout', `the deadline passed while ${this.#sought.noun} were read from ${this.#where}`));
    }
    return ok({
      artifacts,
      problems: this.#problems.slice(0, MAX_PROBLEMS),
      ...(this.#registryFailure ? { registryFailure: this.#registryFailure } : {}),
      ...(this.#stoppedBy ? { stoppedBy: this.#stoppedBy } : {}),
      where: this.#where,
    });
  }

  /** The .sig manifest's layers; none when there is no such tag. */
  async #sigManifest(tag: string): Promise<Result<readonly Descriptor[] | undefined, VerifyFailure>> {
    const budget = this.#deps.budget;
    if (budget.left('requests') === 0) return ok(this.#stop('requests', undefined));
    const maxBytes = Math.min(SIG_MANIFEST_BYTES, budget.left('bytes'));
    const fetched = await this.#deps.registry.getManifest(this.#image, tag, this.#options(maxBytes));
    if (!fetched.ok) {
      if (fetched.error.code === 'MANIFEST_UNKNOWN' || fetched.error.code === 'NAME_UNKNOWN') return ok(undefined);
      return this.#fatal(fetched.error);
    }
    budget.charge('bytes', fetched.value.bytes.byteLength);
    const m = fetched.value.manifest;
    return ok(m.kind === 'manifest' ? m.layers : undefined);
  }

  async #referrers(): Promise<Result<readonly Descriptor[], VerifyFailure>> {
    const budget = this.#deps.budget;
    if (budget.left('requests') === 0) return ok(this.#stop('requests', []));
    const listed = await this.#deps.registry.listReferrers(this.#image, this.#digest, {
      ...this.#options(budget.left('bytes')),
      // Pages past the request budget are never asked for: a list that never ends stops here, not at the deadline.
      maxPages: budget.left('requests'),
    });
    if (!listed.ok) {
      if (listed.error.code === 'NAME_UNKNOWN' || listed.error.code === 'MANIFEST_UNKNOWN') return ok([]);
      return this.#fatal(listed.error);
    }
    budget.charge('bytes', listed.value.bytesRead ?? 0);
    if (listed.value.truncated) this.#problems.push(`more referrers than are listed; the first ones were read`);
    return ok(listed.value.descriptors);
  }

  /**
   * The referrer manifests that may hold what is sought: legacy manifests of its artifact type, and bundles that do
   * not declare a predicate type it does not want (for signatures, cosign sign's; for attestations, any other). Those
   * that declare one are read first; `reserve` requests are left unspent for the blobs.
   */
  async #referrerManifests(
    descriptors: readonly Descriptor[],
    reserve: number,
  ): Promise<Result<{ kind: 'bundle' | 'legacy'; digest: string; layers: readonly Descriptor[] }[], VerifyFailure>> {
    const sought = this.#sought;
    const isLegacy = (d: Descriptor) =>
      !this.#bundlesOnly && d.artifactType !== undefined && sought.legacyArtifactTypes.has(d.artifactType);
    const wanted = descriptors
      .filter((d) => isLegacy(d) || mayBeBundle(d, sought))
      .map((d, order) => ({ d, order, rank: d.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION] ? 0 : 1 }))
      .sort((a, b) => a.rank - b.rank || a.order - b.order);
    const found: { order: number; kind: 'bundle' | 'legacy'; digest: string; layers: readonly Descriptor[] }[] = [];
    const budget = this.#deps.budget;
    let reserveReached = false;
    await forEachBounded(wanted, PARALLEL_READS, async ({ d, order }) => {
      if (this.#stoppedBy || reserveReached) return;
      const size = Math.min(d.size, REFERRER_MANIFEST_BYTES);
      if (d.size > REFERRER_MANIFEST_BYTES) return void this.#problem(`referrer ${d.digest}: manifest too large`);
      if (budget.left('requests') <= reserve) {
        reserveReached = true;
        return;
      }
      if (!budget.take('bytes', size)) return void this.#stop('bytes', undefined);
      const fetched = await this.#deps.registry.getManifest(this.#image, d.digest, this.#options(size));
      if (!fetched.ok) return void this.#unreadable(`referrer ${d.digest}`, fetched.error);
      const m = fetched.value.manifest;
      if (m.kind !== 'manifest') return;
      if (isLegacy(d)) {
        found.push({ order, kind: 'legacy', digest: d.digest, layers: m.layers });
        return;
      }
      const declared = m.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION];
      const [layer] = m.layers;
      if (m.layers.length !== 1 || !layer!.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) return;
      if (!sought.wantsBundle(declared)) return;
      found.push({ order, kind: 'bundle', digest: d.digest, layers: m.layers });
    });
    if (this.#deps.signal?.aborted) {
      return err(failure('Timeout', `the deadline passed while ${this.#sought.noun} were read from ${this.#where}`));
    }
    // Manifests were left unread to keep requests for blobs: the reading stopped at the request limit, though the
    // blobs of what was read are still read.
    if (reserveReached) this.#pendingStop ??= 'requests';
    return ok(found.sort((a, b) => a.order - b.order));
  }

  /** Reads the blobs, smallest first, within the budget; returns the artifacts in the order they were listed. */
  async #readBlobs(candidates: readonly BlobCandidate[]): Promise<SignedArtifact[]> {
    const budget = this.#deps.budget;
    const bySize = [...candidates].sort((a, b) => a.layer.size - b.layer.size || a.order - b.order);
    const read: { order: number; artifact: SignedArtifact }[] = [];
    await forEachBounded(bySize, PARALLEL_READS, async (c) => {
      if (this.#stoppedBy || this.#deps.signal?.aborted) return;
      if (c.layer.size > ARTIFACT_BYTES) {
        return void this.#problem(`${c.source}: ${c.layer.size} bytes, over the ${ARTIFACT_BYTES}-byte limit`);
      }
      if (budget.left('artifacts') === 0) return void this.#stop('artifacts', undefined);
      if (budget.left('requests') === 0) return void this.#stop('requests', undefined);
      if (!budget.take('bytes', c.layer.size)) return void this.#stop('bytes', undefined);
      budget.take('artifacts');
      const blob = await this.#deps.registry.getBlob(this.#image, c.layer.digest, this.#options(c.layer.size));
      if (!blob.ok) return void this.#unreadable(c.source, blob.error);
      const artifacts =
        c.referrer === undefined
          ? this.#sought.toArtifacts(c.source, c.layer, blob.value)
          : toBundleArtifacts(c.source, c.referrer, blob.value);
      if (artifacts.ok) read.push(...artifacts.value.map((artifact) => ({ order: c.order, artifact })));
      else this.#problem(artifacts.error);
      // Parsing a bundle of up to 1 MiB takes milliseconds; other admissions go between two of them.
      await new Promise((resolve) => setImmediate(resolve));
    });
    return read.sort((a, b) => a.order - b.order).map((r) => r.artifact);
  }

  /** Every HTTP request a call sends (tokens, redirects, retries, pages) is charged to the budget. */
  #options(maxBytes: number): CallOptions {
    const { signal, credentials, budget, insecure } = this.#deps;
    return {
      maxBytes,
      onRequest: () => budget.charge('requests', 1),
      ...(signal ? { signal } : {}),
      ...(credentials ? { credentials } : {}),
      ...(insecure === true ? { insecure } : {}),
    };
  }

  #fatal(f: OciFailure): Result<never, VerifyFailure> {
    if (f.code === 'TIMEOUT' && this.#deps.signal?.aborted) {
      return err(failure('Timeout', `the deadline passed while ${this.#sought.noun} were read from ${this.#where}`));
    }
    return err(fromRegistryFailure(f));
  }

  #unreadable(source: string, f: OciFailure): void {
    if (CONTENT_CODES.has(f.code)) this.#problem(`${source}: ${f.message}`);
    else this.#registryFailure ??= f;
  }

  #problem(text: string): void {
    this.#problems.push(text);
  }

  #stop<T>(kind: WorkKind, value: T): T {
    this.#stoppedBy ??= kind;
    return value;
  }
}

/** A referrer that may be a sought bundle: it says it is a bundle, or says nothing, and declares no unwanted type. */
function mayBeBundle(d: Descriptor, sought: Sought): boolean {
  if (d.artifactType !== undefined && !d.artifactType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) return false;
  return sought.wantsBundle(d.annotations?.[BUNDLE_PREDICATE_TYPE_ANNOTATION]);
}

/** A bundle blob as the one artifact it holds. */
function toBundleArtifacts(source: string, digest: string, blob: Uint8Array): Result<SignedArtifact[], string> {
  const bundle = toBundleArtifact(source, digest, blob);
  return bundle.ok ? ok([bundle.value]) : bundle;
}

/** Runs `fn` over `items` with at most `limit` at a time, in order of start. */
async function forEachBounded<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
