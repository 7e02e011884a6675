// The object as kube-apiserver will have it once it has applied /mutate's own patches, for the validating webhook's
// checks that /mutate runs before it answers (validated-images.ts). Only for the patches this webhook makes: add,
// replace and remove, at paths that exist (add: whose parent exists). Copy on write: the request's object is never
// changed, and only the members along a patched path are copied. The object is the requester's, so a path our patches
// name may not exist in it (an object that is a list, say): that is an answer, never an exception, since a throw in
// the webhook is an HTTP 500.
import { err, ok, type Result } from '../pkg/result/index.js';
import type { JsonPatchOperation } from './responses.js';

export function applyOwnPatches(object: unknown, ops: readonly JsonPatchOperation[]): Result<unknown, string> {
  let root = object;
  for (const op of ops) {
    const applied = applyAt(root, toTokens(op.path), 0, op);
    if (!applied.ok) return applied;
    root = applied.value;
  }
  return ok(root);
}

function applyAt(
  node: unknown,
  tokens: readonly string[],
  at: number,
  op: JsonPatchOperation,
): Result<unknown, string> {
  if (at === tokens.length) {
    return op.op === 'add' || op.op === 'replace' ? ok(op.value) : err(`cannot ${op.op} the whole document`);
  }
  const token = tokens[at]!;
  const last = at === tokens.length - 1;
  if (Array.isArray(node)) {
    const copy = [...(node as unknown[])];
    const index = token === '-' ? copy.length : Number(token);
    if (!Number.isInteger(index) || index < 0 || index > copy.length) return err(`${op.path}: no index ${token}`);
    if (last) {
      if (op.op === 'add') copy.splice(index, 0, op.value);
      else if (op.op === 'remove') copy.splice(index, 1);
      else copy[index] = op.value;
      return ok(copy);
    }
    const child = applyAt(copy[index], tokens, at + 1, op);
    if (!child.ok) return child;
    copy[index] = child.value;
    return ok(copy);
  }
  if (typeof node === 'object' && node !== null) {
    const copy: Record<string, unknown> = { ...(node as Record<string, unknown>) };
    if (last) {
      if (op.op === 'remove') delete copy[token];
      else copy[token] = op.value;
      return ok(copy);
    }
    const child = applyAt(copy[token], tokens, at + 1, op);
    if (!child.ok) return child;
    copy[token] = child.value;
    return ok(copy);
  }
  return err(`${op.path} does not exist`);
}

/** RFC 6901: a pointer's reference tokens, with `~1` and `~0` read back. */
function toTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}
