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

/** The patches that write both annotations, first creating the annotations map when the object has none. */
export function toAnnotationPatches(object: unknown, verified: readonly ImageVerification[]): JsonPatchOperation[] {
  if (verified.length === 0) return [];
  const flat = Object.create(null) as Record<string, VerifyStatus>;
  const scoped = Object.create(null) as Record<string, Record<string, Record<string, VerifyStatus>>>;
  for (const v of verified) {
    // A failure anywhere is what the image is (Kyverno's map keeps the last; the worst is the honest one).
    if (flat[v.image] !== 'fail') flat[v.image] = v.status;
    const rules = (scoped[v.policy] ??= Object.create(null) as Record<string, Record<string, VerifyStatus>>);
    (rules[v.rule] ??= Object.create(null) as Record<string, VerifyStatus>)[v.image] = v.status;
  }
  const patches: JsonPatchOperation[] = [];
  if (!hasAnnotations(object)) patches.push({ op: 'add', path: '/metadata/annotations', value: {} });
  patches.push(
    { op: 'add', path: `/metadata/annotations/${escapePointer(VERIFY_IMAGES_ANNOTATION)}`, value: toSortedJson(flat) },
    {
      op: 'add',
      path: `/metadata/annotations/${escapePointer(VERIFY_IMAGES_SCOPED_ANNOTATION)}`,
      value: toSortedJson({ version: 1, policies: scoped }),
    },
  );
  return patches;
}

/**
 * What the old object's scoped annotation says of an image for a policy's rule: pass or skip lets an UPDATE that did
 * not change the image through without verifying it again. Anything malformed says nothing.
 */
export function readScopedStatus(
  object: unknown,
  policy: string,
  rule: string,
  image: string,
): VerifyStatus | undefined {
  const annotations = child(child(object, 'metadata'), 'annotations');
  const text = annotations?.[VERIFY_IMAGES_SCOPED_ANNOTATION];
  if (typeof text !== 'string' || text.length > 256 * 1024) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { version?: unknown }).version !== 1)
    return undefined;
  const status = child(child(child(parsed, 'policies'), policy), rule)?.[image];
  return status === 'pass' || status === 'skip' || status === 'fail' ? status : undefined;
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

/**
 * JSON with object keys sorted, as Go's encoding/json writes maps. Written directly rather than through a
 * JSON.stringify replacer, which copied every nested map once per admission: the annotations were a fifth of a warm
 * admission's cost. Values are our own strings, numbers and maps.
 */
function toSortedJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  const keys = Object.keys(value).sort();
  const parts = keys.map((k) => `${JSON.stringify(k)}:${toSortedJson((value as Record<string, unknown>)[k])}`);
  return `{${parts.join(',')}}`;
}
