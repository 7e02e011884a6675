// The object as kube-apiserver will have it once it has applied /mutate's own patches, for the validating webhook's
// checks that /mutate runs before it answers (validated-images.ts). Only for the patches this webhook makes: add,
// replace and remove, at paths that exist (add: whose parent exists). Copy on write: the request's object is never
// changed, and only the members along a patched path are copied.
import type { JsonPatchOperation } from './responses.js';

export function applyOwnPatches(object: unknown, ops: readonly JsonPatchOperation[]): unknown {
  let root = object;
  for (const op of ops) root = applyAt(root, toTokens(op.path), 0, op);
  return root;
}

function applyAt(node: unknown, tokens: readonly string[], at: number, op: JsonPatchOperation): unknown {
  if (at === tokens.length) {
    if (op.op === 'add' || op.op === 'replace') return op.value;
    throw new Error(`cannot apply ${op.op} to the whole document (bug)`);
  }
  const token = tokens[at]!;
  const last = at === tokens.length - 1;
  if (Array.isArray(node)) {
    const copy = [...(node as unknown[])];
    const index = token === '-' ? copy.length : Number(token);
    if (!Number.isInteger(index) || index < 0 || index > copy.length) throw new Error(`no index ${token} (bug)`);
    if (!last) copy[index] = applyAt(copy[index], tokens, at + 1, op);
    else if (op.op === 'add') copy.splice(index, 0, op.value);
    else if (op.op === 'remove') copy.splice(index, 1);
    else copy[index] = op.value;
    return copy;
  }
  if (typeof node === 'object' && node !== null) {
    const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) };
    if (!last) copy[token] = applyAt(copy[token], tokens, at + 1, op);
    else if (op.op === 'remove') delete copy[token];
    else copy[token] = op.value;
    return copy;
  }
  throw new Error(`the path ${op.path} does not exist (bug)`);
}

/** RFC 6901: a pointer's reference tokens, with `~1` and `~0` read back. */
function toTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}
