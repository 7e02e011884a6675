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
  const last = at === tokens.length - 1;
  const slot = toSlot(node, tokens[at]!, last && op.op === 'add', op.path);
  if (!slot.ok) return slot;
  const { copy, key } = slot.value;
  if (!last) {
    const child = applyAt(readSlot(copy, key), tokens, at + 1, op);
    if (!child.ok) return child;
    writeSlot(copy, key, child.value);
  } else if (Array.isArray(copy)) {
    const index = key as number;
    if (op.op === 'add') copy.splice(index, 0, op.value);
    else if (op.op === 'remove') copy.splice(index, 1);
    else copy[index] = op.value;
  } else if (op.op === 'remove') delete copy[key];
  else writeSlot(copy, key, op.value);
  return ok(copy);
}

type Container = unknown[] | Record<string, unknown>;

/**
 * A copy of the list or map `token` names a member of, and the member's key, as RFC 6902 requires them: a member that
 * exists, except where an add may create one (a new map key, a list index up to its length, or `-`, the end).
 * kube-apiserver refuses a patch otherwise, so the object it would refuse is never judged here.
 */
function toSlot(
  node: unknown,
  token: string,
  adding: boolean,
  path: string,
): Result<{ copy: Container; key: number | string }, string> {
  if (Array.isArray(node)) {
    const index = token === '-' && adding ? node.length : /^(0|[1-9][0-9]*)$/.test(token) ? Number(token) : NaN;
    if (!(index < node.length || (adding && index === node.length))) return err(`${path}: no index ${token}`);
    return ok({ copy: [...(node as unknown[])], key: index });
  }
  if (typeof node === 'object' && node !== null) {
    // Own members only: an inherited one (constructor, __proto__) is no member of a decoded JSON object.
    if (token === '__proto__' || (!adding && !Object.hasOwn(node, token))) return err(`${path} does not exist`);
    return ok({ copy: { ...(node as Record<string, unknown>) }, key: token });
  }
  return err(`${path} does not exist`);
}

function readSlot(copy: Container, key: number | string): unknown {
  return (copy as Record<string, unknown>)[key];
}

function writeSlot(copy: Container, key: number | string, value: unknown): void {
  (copy as Record<string, unknown>)[key] = value;
}

/** RFC 6901: a pointer's reference tokens, with `~1` and `~0` read back. */
export function toTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}
