// The record that lets kube-apiserver skip the validating webhook (issue 14: one call to the webhook per admission
// instead of two). The mutating webhook, once it has admitted an object, runs the validating webhook's checks on the
// object as it will leave /mutate; when they pass, it writes the object's images into an annotation of its own, and
// the validating webhook is registered with a matchCondition (CEL, evaluated inside kube-apiserver) that calls it only
// when the images of the object it sees are not exactly those. So the webhook is still called whenever anything
// after /mutate changed an image (another mutating webhook, after the reinvocation), and whenever /mutate did not
// write the record; its answer for the images /mutate left is known already.
//
// The record is never trusted more than the verify-images annotations it stands beside: /mutate overwrites it, or
// removes it, on every object it is called for, so a forged one survives only where the validating webhook would
// read a forged verify-images annotation too (a mutating webhook with failurePolicy Ignore that the API server
// skipped). It is kept per failure policy, as each validating webhook answers for the policies of its own.
//
// The encoding is the same here and in the CEL expression, and tells lists apart: every image is preceded by a space
// and has `%` and ` ` escaped (a container without an image is `%00`), after a version prefix, so that a record can
// only equal the record of the same images in the same order. Only the kinds whose images are read without
// imageExtractors have one (the CEL gives `''`, which no record equals, for the others).
import type { FailurePolicy } from '../policy/index.js';

/** The annotation /mutate writes for the validating webhook of each failure policy. */
export const VALIDATED_IMAGES_ANNOTATIONS: Readonly<Record<FailurePolicy, string>> = {
  Fail: 'imprimatur.io/validated-images-fail',
  Ignore: 'imprimatur.io/validated-images-ignore',
};

const VERSION = 'v1:';

/** Where a kind keeps its Pod spec, as a path of field names from the object. */
const POD_SPEC_PATHS: ReadonlyMap<string, readonly string[]> = new Map([
  ['/Pod', ['spec']],
  ['/ReplicationController', ['spec', 'template', 'spec']],
  ['apps/Deployment', ['spec', 'template', 'spec']],
  ['apps/DaemonSet', ['spec', 'template', 'spec']],
  ['apps/StatefulSet', ['spec', 'template', 'spec']],
  ['apps/ReplicaSet', ['spec', 'template', 'spec']],
  ['batch/Job', ['spec', 'template', 'spec']],
  ['batch/CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec']],
]);

/** The container lists of a Pod spec, in the order the record lists their images. */
const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * The record of an object's images, or undefined for a kind that has none or an object whose Pod spec is not where
 * its kind keeps it. `kind` is the request's (group and kind).
 */
export function toValidatedImages(
  kind: { readonly group: string; readonly kind: string },
  object: unknown,
): string | undefined {
  const path = POD_SPEC_PATHS.get(`${kind.group}/${kind.kind}`);
  if (!path) return undefined;
  let spec: unknown = object;
  for (const field of path) {
    spec = isRecord(spec) && Object.hasOwn(spec, field) ? spec[field] : undefined;
    if (!isRecord(spec)) return undefined;
  }
  const specRecord = spec as Record<string, unknown>;
  let out = VERSION;
  for (const list of CONTAINER_LISTS) {
    if (!Object.hasOwn(specRecord, list)) continue;
    const containers = specRecord[list];
    if (!Array.isArray(containers)) return undefined;
    for (const c of containers as unknown[]) {
      if (!isRecord(c)) return undefined;
      const image = Object.hasOwn(c, 'image') ? c['image'] : undefined;
      if (image === undefined) out += ' %00';
      else if (typeof image === 'string') out += ` ${escape(image)}`;
      else return undefined;
    }
  }
  return out;
}

/**
 * The validating webhook's matchCondition: true (call the webhook) unless the object's images are those recorded in
 * `annotation`. Every step is guarded, as an error in a matchCondition fails a request under failurePolicy Fail and
 * skips the webhook under Ignore.
 */
export function toValidationNeededCondition(annotation: string): {
  readonly name: string;
  readonly expression: string;
} {
  const images = (spec: string) =>
    `'${VERSION}' + ${CONTAINER_LISTS.map(
      (list) =>
        `(has(${spec}.${list}) ? ${spec}.${list}.map(c, ' ' + (has(c.image) ? ` +
        `c.image.replace('%', '%25').replace(' ', '%20') : '%00')).join('') : '')`,
    ).join(' + ')}`;
  const guarded = (fields: readonly string[]) => {
    const steps = fields.map((_, i) => `has(object.${fields.slice(0, i + 1).join('.')})`);
    return `(${steps.join(' && ')}) ? ${images(`object.${fields.join('.')}`)} : ''`;
  };
  const byKind = [...POD_SPEC_PATHS]
    .map(([key, fields]) => {
      const [group, kind] = key.split('/') as [string, string];
      return `${GROUP} == '${group}' && request.kind.kind == '${kind}' ? (${guarded(fields)})`;
    })
    .join(' : ');
  const recorded = `object.metadata.annotations['${annotation}']`;
  return {
    name: 'imprimatur.io/images-changed-after-mutation',
    expression:
      `!((!has(request.subResource) || request.subResource == '') && has(object.metadata) && ` +
      `has(object.metadata.annotations) && ` +
      `'${annotation}' in object.metadata.annotations && ${recorded} == (${byKind} : ''))`,
  };
}

/** The request's API group: kube-apiserver leaves out the fields of `request` that are empty (the core group's). */
const GROUP = `(has(request.kind.group) ? request.kind.group : '')`;

/** `%` and ` ` escaped, so that a space only ever separates images. */
function escape(image: string): string {
  return image.replaceAll('%', '%25').replaceAll(' ', '%20');
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
