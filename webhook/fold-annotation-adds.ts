// An object that comes without annotations gets them from a mutating admission as one `add` of the map and then an
// `add` per member (the verify-images annotations, then the record of validated images, with the digest patches in
// between). kube-apiserver applies a JSON patch one operation at a time, and the map written whole cost it less: a
// webhook that only answers, on loopback, kept kube-apiserver waiting 1.41–1.51 ms per call with the map in one add
// against 1.67–2.09 ms with the same annotations added one by one (three runs of 1,500 Pod creates each), and
// Imprimatur, in four runs taking turns with and without this, 2.30 against 2.45 ms on average. This folds the
// members' adds into the map's add, which leaves the patched object exactly as it was.
import { toTokens } from './apply-own-patches.js';
import type { JsonPatchOperation } from './responses.js';

const ANNOTATIONS_PATH = '/metadata/annotations';

/**
 * The same patch with every `add` of an annotation that follows an `add` of the whole annotations map folded into
 * the map's value. Folding stops at the first later operation that touches the map some other way (a remove, a
 * replace, a nested path, or the metadata or the object as a whole), so that what the patch does never changes.
 */
export function foldAnnotationAdds(ops: readonly JsonPatchOperation[]): readonly JsonPatchOperation[] {
  const at = ops.findIndex((op) => op.op === 'add' && op.path === ANNOTATIONS_PATH && isPlainObject(op.value));
  if (at < 0) return ops;
  const map: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(ops[at]!.value as Record<string, unknown>)) define(map, name, value);
  const folded: JsonPatchOperation[] = [...ops.slice(0, at), { op: 'add', path: ANNOTATIONS_PATH, value: map }];
  let folding = true;
  for (const op of ops.slice(at + 1)) {
    const tokens = toTokens(op.path);
    // The object, its metadata, the map, or anything in it.
    const touches = tokens.length < 2 || (tokens[0] === 'metadata' && tokens[1] === 'annotations');
    if (folding && touches && op.op === 'add' && tokens.length === 3) {
      define(map, tokens[2]!, op.value);
      continue;
    }
    if (touches) folding = false;
    folded.push(op);
  }
  return folded;
}

/** Sets an own member, whatever its name (`__proto__` included). */
function define(map: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
