// The annotations Kyverno writes on every object it admitted after verifying images (kyverno-verifyimages.md §3.5):
//   kyverno.io/verify-images         {"<image>":"pass"|"skip"|"fail"}                      (JSON, keys sorted)
//   kyverno.io/verify-images-scoped  {"version":1,"policies":{"<ns>/<policy>":{"<rule>":{"<image>":"pass"}}}}
// where <image> is Kyverno's string of the image after digest pinning (registry/path@digest), and a ClusterPolicy's
// namespace is empty ("/check-image"). They are written, never trusted: what the incoming object carries is
// overwritten, and only the old object's scoped annotation of an UPDATE is read, for an image that did not change,
// as Kyverno 1.19 does.
import type { JsonPatchOperation } from './responses.js';

export const VERIFY_IMAGES_ANNOTATION = 'kyverno.io/verify-images';
export const VERIFY_IMAGES_SCOPED_ANNOTATION = 'kyverno.io/verify-images-scoped';

export type VerifyStatus = 'pass' | 'skip' | 'fail';

export interface ImageVerification {
  /** `<namespace>/<name>`; the namespace is empty for a ClusterPolicy. */
  readonly policy: string;
  readonly rule: string;
  readonly image: string;
  readonly status: VerifyStatus;
}

/**
 * What an admission verified, as the annotations record it: per image (the worst status wins, as a failure anywhere is
 * what the image is; Kyverno's map keeps the last) and per policy, rule and image (the last recorded wins). Maps
 * rather than objects: 20 policies × 3 images are recorded on every admission.
 */
export class VerificationRecord {
  readonly #flat = new Map<string, VerifyStatus>();
  readonly #scoped = new Map<string, Map<string, Map<string, VerifyStatus>>>();

  add(policy: string, rule: string, image: string, status: VerifyStatus): void {
    if (this.#flat.get(image) !== 'fail') this.#flat.set(image, status);
    let rules = this.#scoped.get(policy);
    if (!rules) this.#scoped.set(policy, (rules = new Map()));
    let images = rules.get(rule);
    if (!images) rules.set(rule, (images = new Map()));
    images.set(image, status);
  }

  get isEmpty(): boolean {
    return this.#flat.size === 0;
  }

  /** The kyverno.io/verify-images value. */
  toFlatJson(): string {
    return toSortedJson(this.#flat, toStatusJson);
  }

  /** The kyverno.io/verify-images-scoped value: `version` sorts after `policies`, as Go writes the map. */
  toScopedJson(): string {
    const policies = toSortedJson(this.#scoped, (rules) =>
      toSortedJson(rules, (images) => toSortedJson(images, toStatusJson)),
    );
    return `{"policies":${policies},"version":1}`;
  }
}

/** The patches that write both annotations, first creating the annotations map when the object has none. */
export function toAnnotationPatches(
  object: unknown,
  verified: VerificationRecord | readonly ImageVerification[],
): JsonPatchOperation[] {
  const record = verified instanceof VerificationRecord ? verified : toRecord(verified);
  if (record.isEmpty) {
    // Nothing this admission verified stands behind a record the object brought: it goes, or the validating
    // webhook's `required` would read a forged "pass" (an entry that only pins digests records nothing).
    const annotations = child(child(object, 'metadata'), 'annotations');
    return [
      ...(annotations && Object.hasOwn(annotations, VERIFY_IMAGES_ANNOTATION)
        ? [{ op: 'remove' as const, path: FLAT_PATH }]
        : []),
      ...(annotations && Object.hasOwn(annotations, VERIFY_IMAGES_SCOPED_ANNOTATION)
        ? [{ op: 'remove' as const, path: SCOPED_PATH }]
        : []),
    ];
  }
  const patches: JsonPatchOperation[] = [];
  // An object without metadata (or with something else there) gets one: a patch that cannot apply would fail the
  // request at the API server however the admission was decided.
  if (child(object, 'metadata') === undefined)
    patches.push({ op: 'add', path: '/metadata', value: { annotations: {} } });
  else if (!hasAnnotations(object)) patches.push({ op: 'add', path: '/metadata/annotations', value: {} });
  patches.push(
    { op: 'add', path: FLAT_PATH, value: record.toFlatJson() },
    { op: 'add', path: SCOPED_PATH, value: record.toScopedJson() },
  );
  return patches;
}

/**
 * The patches that make `annotation` say `value` on `object` (creating metadata and its annotations when missing),
 * or, with no value, remove it when the object has it.
 */
export function toValidatedImagesPatches(
  object: unknown,
  annotation: string,
  value: string | undefined,
): JsonPatchOperation[] {
  const path = `/metadata/annotations/${escapePointer(annotation)}`;
  if (value === undefined) {
    const annotations = child(child(object, 'metadata'), 'annotations');
    return annotations && Object.hasOwn(annotations, annotation) ? [{ op: 'remove', path }] : [];
  }
  if (child(object, 'metadata') === undefined) {
    return [{ op: 'add', path: '/metadata', value: { annotations: { [annotation]: value } } }];
  }
  if (!hasAnnotations(object)) return [{ op: 'add', path: '/metadata/annotations', value: { [annotation]: value } }];
  return [{ op: 'add', path, value }];
}

function toRecord(verified: readonly ImageVerification[]): VerificationRecord {
  const record = new VerificationRecord();
  for (const v of verified) record.add(v.policy, v.rule, v.image, v.status);
  return record;
}

/** What an object's scoped annotation says of an image for a policy's rule. */
export type ScopedRecordReader = (policy: string, rule: string, image: string) => VerifyStatus | undefined;

const NOTHING_RECORDED: ScopedRecordReader = () => undefined;

/**
 * The object's kyverno.io/verify-images-scoped annotation, parsed once however many rules and images are looked up
 * in it: the old object's for an UPDATE that kept an image (pass or skip lets it through without verifying again),
 * the new object's for the validating webhook's `required`. The object is the requester's: only own members are
 * followed, and anything malformed records nothing.
 */
export function readScopedRecord(object: unknown): ScopedRecordReader {
  const policies = readScopedPolicies(object);
  if (!policies) return NOTHING_RECORDED;
  return (policy, rule, image) => {
    const images = child(child(policies, policy), rule);
    const status = images && Object.hasOwn(images, image) ? images[image] : undefined;
    return status === 'pass' || status === 'skip' || status === 'fail' ? status : undefined;
  };
}

/** Entries read back from an object's scoped annotation, at most: far above 20 policies × 3 images. */
const MAX_KEPT_ENTRIES = 10_000;

/**
 * Every entry of the object's scoped annotation (policy → rule → image → status), for the webhook that keeps the
 * entries of another webhook's policies (mutate.ts); undefined when it is absent or malformed, and nothing beyond
 * MAX_KEPT_ENTRIES. Only well-formed statuses are read.
 */
export function readScopedEntries(object: unknown): ImageVerification[] | undefined {
  const policies = readScopedPolicies(object);
  if (!policies) return undefined;
  const entries: ImageVerification[] = [];
  for (const policy of Object.keys(policies)) {
    const rules = child(policies, policy) ?? {};
    for (const rule of Object.keys(rules)) {
      for (const [image, status] of Object.entries(child(rules, rule) ?? {})) {
        if (entries.length >= MAX_KEPT_ENTRIES) return entries;
        if (status === 'pass' || status === 'skip' || status === 'fail') entries.push({ policy, rule, image, status });
      }
    }
  }
  return entries;
}

/** The `policies` map of the object's scoped annotation (version 1, at most 256 KiB), or undefined. */
function readScopedPolicies(object: unknown): Record<string, unknown> | undefined {
  const annotations = child(child(object, 'metadata'), 'annotations');
  const text =
    annotations && Object.hasOwn(annotations, VERIFY_IMAGES_SCOPED_ANNOTATION)
      ? annotations[VERIFY_IMAGES_SCOPED_ANNOTATION]
      : undefined;
  if (typeof text !== 'string' || text.length > 256 * 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !Object.hasOwn(parsed, 'version')) return undefined;
  if ((parsed as { version: unknown }).version !== 1) return undefined;
  return child(parsed, 'policies');
}

function hasAnnotations(object: unknown): boolean {
  return child(child(object, 'metadata'), 'annotations') !== undefined;
}

function child(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key))
    return undefined;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** RFC 6901: `~` and `/` in a member name. */
function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

const FLAT_PATH = `/metadata/annotations/${escapePointer(VERIFY_IMAGES_ANNOTATION)}`;
const SCOPED_PATH = `/metadata/annotations/${escapePointer(VERIFY_IMAGES_SCOPED_ANNOTATION)}`;

const STATUS_JSON: Readonly<Record<VerifyStatus, string>> = { pass: '"pass"', skip: '"skip"', fail: '"fail"' };

function toStatusJson(status: VerifyStatus): string {
  return STATUS_JSON[status];
}

/**
 * A map as JSON with its keys sorted, as Go's encoding/json writes maps, written directly: the annotations were a
 * fifth of a warm admission's cost when made through JSON.stringify with a sorting replacer.
 */
function toSortedJson<V>(map: ReadonlyMap<string, V>, toValueJson: (value: V) => string): string {
  const keys = [...map.keys()].sort();
  let json = '{';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) json += ',';
    json += `${JSON.stringify(keys[i])}:${toValueJson(map.get(keys[i]!)!)}`;
  }
  return `${json}}`;
}
