// The images of an admitted object, found the way Kyverno finds them (pkg/utils/api/image.go: extract,
// ExtractImagesFromResource; shared/reference/kyverno-verifyimages.md §3.2), each with the JSON pointer a digest
// patch replaces. The object is what the AdmissionReview carried: for a custom resource, whatever its author wrote.
// So the walk follows only the extractors' paths, reads only own members, bounds its work by counts (entries under
// '*', images, pull secrets) rather than by the object's size, and reports a bad shape as an error value naming the
// pointer, quoted through pkg/text. It never throws.
//
// Where this differs from Kyverno, it is to keep an image from going unverified:
// - an image field that holds something other than a string (or null) is an error, where Kyverno skips it;
// - every image found is returned: Kyverno files images in a map by extractor name and key, so two containers with
//   one name (possible until validation, which runs after the mutating webhooks) or two extractors with one name
//   hide all but the last;
// - pointers escape '~' and '/' in member names (RFC 6901), which Kyverno writes raw.
import {
  applyImageTransform,
  EACH,
  type CompiledImageExtractor,
  type CompiledImageExtractors,
} from '../pkg/policy/index.js';
import { parseImageRef, type ImageRef } from '../pkg/imageref/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { quoteText, sanitizeText } from '../pkg/text/index.js';

/** Images one object may carry; far above any real pod (Kubernetes has no limit, but a node could not run them). */
export const MAX_EXTRACTED_IMAGES = 1000;
/** Array elements and object members that '*' may visit in one object, whether or not they hold an image. */
export const MAX_SEARCHED_ENTRIES = 10_000;
/** imagePullSecrets entries read in one object. */
export const MAX_PULL_SECRET_ENTRIES = 1000;

export interface ExtractedImage {
  /** RFC 6901 pointer to the image string, e.g. /spec/template/spec/containers/0/image: where a digest patch goes. */
  readonly pointer: string;
  /** The string as the object has it, before any transform. */
  readonly written: string;
  /** The image, after the extractor's transform, parsed. */
  readonly ref: ImageRef;
  /** 'initContainers', 'containers', 'ephemeralContainers', or a custom extractor's name ('custom' by default). */
  readonly extractor: string;
  /** The container's name, the custom extractor's key field, or, with no key configured, the pointer. */
  readonly key: string;
}

export interface ExtractedImages {
  /** In Kyverno's order: extractor by extractor, each in document order. */
  readonly images: readonly ExtractedImage[];
  /**
   * Names from imagePullSecrets lists met on the way to the images (a pod spec's, and at any other level walked, as
   * Kyverno collects them), first seen first, without repeats. Only names a Secret could have are kept.
   */
  readonly imagePullSecrets: readonly string[];
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Kyverno's BuildStandardExtractors: each container list below the pod spec, keyed by container name. */
function standardExtractors(...podSpec: string[]): readonly CompiledImageExtractor[] {
  return CONTAINER_LISTS.map((list) => ({ name: list, fields: [...podSpec, list, EACH], value: 'image', key: 'name' }));
}

const POD = standardExtractors('spec');
const POD_CONTROLLER = standardExtractors('spec', 'template', 'spec');
const CRON_JOB = standardExtractors('spec', 'jobTemplate', 'spec', 'template', 'spec');

/** Kyverno's registeredExtractors. A Pod's pods/ephemeralcontainers subresource is a Pod too. */
const BUILT_IN: CompiledImageExtractors = new Map([
  ['Pod', POD],
  ['DaemonSet', POD_CONTROLLER],
  ['Deployment', POD_CONTROLLER],
  ['ReplicaSet', POD_CONTROLLER],
  ['ReplicationController', POD_CONTROLLER],
  ['StatefulSet', POD_CONTROLLER],
  ['Job', POD_CONTROLLER],
  ['CronJob', CRON_JOB],
]);

/**
 * The images in `object`, an object of kind `kind` (without group or version). The rule's extractors for the kind,
 * when it has some, replace the built-in ones, as in Kyverno; a kind with neither has no images. The first problem
 * met is the error.
 */
export function extractImages(
  kind: string,
  object: unknown,
  extractors?: CompiledImageExtractors,
): Result<ExtractedImages, string> {
  const list = extractors?.get(kind) ?? BUILT_IN.get(kind);
  if (list === undefined) return ok({ images: [], imagePullSecrets: [] });
  if (list.length === 0) return err(`no extractors found for ${sanitizeText(kind, 64)}`);
  const walk = new Walk();
  for (const extractor of list) {
    const problem = walk.run(extractor, object);
    if (problem !== undefined) return err(problem);
  }
  return ok(walk.result());
}

/** One extraction's state: what was found, and the budgets spent. An error is the returned string. */
class Walk {
  readonly #images: ExtractedImage[] = [];
  readonly #secrets = new Set<string>();
  /** Objects whose imagePullSecrets were read: a pod spec is on the way of all three container lists. */
  readonly #read = new Set<object>();
  #entries = 0;
  #secretEntries = 0;

  run(extractor: CompiledImageExtractor, object: unknown): string | undefined {
    return this.#visit(extractor, object, 0, []);
  }

  result(): ExtractedImages {
    return { images: this.#images, imagePullSecrets: [...this.#secrets] };
  }

  /** `node` is at `path`, and `fields[depth]` is the next step. Recurses once per field: at most MAX_PATH_FIELDS. */
  #visit(extractor: CompiledImageExtractor, node: unknown, depth: number, path: string[]): string | undefined {
    // A missing member, or null, holds no images (Kyverno: obj == nil).
    if (node === undefined || node === null) return undefined;
    const field = extractor.fields[depth];
    if (field === EACH) {
      if (Array.isArray(node)) {
        for (let i = 0; i < node.length; i++) {
          const problem = this.#spend() ?? this.#visit(extractor, node[i], depth + 1, [...path, String(i)]);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      if (isObject(node)) {
        for (const member in node) {
          if (!Object.hasOwn(node, member)) continue;
          const problem = this.#spend() ?? this.#visit(extractor, node[member], depth + 1, [...path, member]);
          if (problem !== undefined) return problem;
        }
        return undefined;
      }
      return `invalid type: ${place(path)} is ${quoteText(node)}, not an array or an object`;
    }
    if (!isObject(node)) return `invalid image config: ${place(path)} is ${quoteText(node)}, not an object`;
    const problem = this.#readPullSecrets(node);
    if (problem !== undefined) return problem;
    if (field === undefined) return this.#take(extractor, node, path);
    return this.#visit(extractor, own(node, field), depth + 1, [...path, field]);
  }

  #spend(): string | undefined {
    this.#entries++;
    return this.#entries > MAX_SEARCHED_ENTRIES
      ? `too many entries: the object has more than ${MAX_SEARCHED_ENTRIES} to search for images`
      : undefined;
  }

  /** The image of one reached object (a container), if it has one. */
  #take(extractor: CompiledImageExtractor, node: Record<string, unknown>, path: string[]): string | undefined {
    const pointer = toPointer([...path, extractor.value]);
    let key = pointer;
    if (extractor.key !== undefined) {
      // Kyverno checks the key first, whether or not there is an image.
      const named = own(node, extractor.key);
      if (typeof named !== 'string') {
        return `invalid key: ${quotePointer(toPointer([...path, extractor.key]))} is ${quoteText(named)}, not a string`;
      }
      key = named;
    }
    const written = own(node, extractor.value);
    if (written === undefined || written === null) return undefined;
    if (typeof written !== 'string') {
      return `invalid image: ${quotePointer(pointer)} is ${quoteText(written)}, not a string`;
    }
    // Kyverno skips an empty image (conformance test empty-image). A workload's template may leave it for tooling to
    // fill in (Container.image's API doc); a Pod without one fails validation, which runs after this webhook.
    if (GO_SPACE_ONLY.test(written)) return undefined;
    if (this.#images.length >= MAX_EXTRACTED_IMAGES) {
      return `too many images: the object has more than ${MAX_EXTRACTED_IMAGES}`;
    }
    let text = written;
    if (extractor.transform !== undefined) {
      const transformed = applyImageTransform(extractor.transform, written);
      if (!transformed.ok) return `${transformed.error}, for the image at ${quotePointer(pointer)}`;
      text = transformed.value;
    }
    const ref = parseImageRef(text);
    if (!ref.ok) return `invalid image ${quoteText(text, MAX_QUOTED_IMAGE)} (${reasonOf(ref.error)})`;
    this.#images.push({ pointer, written, ref: ref.value, extractor: extractor.name, key });
    return undefined;
  }

  #readPullSecrets(node: Record<string, unknown>): string | undefined {
    if (this.#read.has(node)) return undefined;
    this.#read.add(node);
    const list = own(node, 'imagePullSecrets');
    // Anything but a list of {name} is not a pull secret; it hides no image, so it is passed over, as Kyverno does.
    if (!Array.isArray(list)) return undefined;
    for (let i = 0; i < list.length; i++) {
      if (++this.#secretEntries > MAX_PULL_SECRET_ENTRIES) {
        return `too many imagePullSecrets: the object has more than ${MAX_PULL_SECRET_ENTRIES}`;
      }
      const entry: unknown = list[i];
      const name = isObject(entry) ? own(entry, 'name') : undefined;
      if (typeof name === 'string' && isSecretName(name)) this.#secrets.add(name);
    }
    return undefined;
  }
}

/** Go's unicode.IsSpace, which strings.TrimSpace uses: JavaScript's trim() differs on U+0085 and U+FEFF. */
const GO_SPACE_ONLY = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** A DNS-1123 subdomain, what a Secret's name must be; any other name could not be looked up, or not safely. */
const SECRET_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

function isSecretName(name: string): boolean {
  return name.length <= 253 && SECRET_NAME.test(name);
}

/** Enough to quote a reference with a full-length name (255) in full; longer text is cut with an ellipsis. */
const MAX_QUOTED_IMAGE = 256;
const MAX_QUOTED_POINTER = 200;
const MAX_REASON = 300;

function quotePointer(pointer: string): string {
  return quoteText(pointer, MAX_QUOTED_POINTER);
}

function place(path: readonly string[]): string {
  return path.length === 0 ? 'the object' : quotePointer(toPointer(path));
}

/** RFC 6901: '~' becomes '~0' and '/' becomes '~1', in that order. */
function toPointer(path: readonly string[]): string {
  return path.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

const PARSE_ERROR_PREFIX = 'invalid image reference "';

/**
 * The reason in a parseImageRef message ('invalid image reference "<json>": <reason>'), for Kyverno's wording
 * "invalid image '<image>' (<reason>)", which quotes the image itself. Cleaned, since the reason may quote parts of
 * the image.
 */
function reasonOf(message: string): string {
  let reason = message;
  if (message.startsWith(PARSE_ERROR_PREFIX)) {
    // Skip the JSON string: a backslash escapes the next character; the first bare '"' closes it.
    let i = PARSE_ERROR_PREFIX.length;
    while (i < message.length && message[i] !== '"') i += message[i] === '\\' ? 2 : 1;
    const rest = message.slice(i + 1).replace(/^…/, '');
    if (rest.startsWith(': ')) reason = rest.slice(2);
  }
  return sanitizeText(reason, MAX_REASON);
}

function own(object: Record<string, unknown>, member: string): unknown {
  return Object.hasOwn(object, member) ? object[member] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
