// Runtime validation of user objects against the same schema the CRD is generated from.
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { err, ok, type Result } from '../../result/index.js';
import { toFieldPath, type FieldError } from './field-error.js';
import { AttestorSet, Policy } from './schema.js';
import type { AttestorSetType, PolicyResource } from './types.js';

// status is written by the operator, not the user; it never makes a policy invalid.
const policyChecker = TypeCompiler.Compile(Type.Omit(Policy, ['status']));
const attestorSetChecker = TypeCompiler.Compile(AttestorSet);

/** At most this many schema errors are reported; the first ones are the ones a person fixes first. */
const MAX_ERRORS = 20;

/**
 * Checks that `value` is a structurally valid ClusterPolicy or Policy. Semantic checks (keys that parse,
 * patterns that compile) belong to the compiler; this only says whether the shape is right.
 */
export function parsePolicy(value: unknown): Result<PolicyResource, FieldError[]> {
  if (policyChecker.Check(value)) return ok(value as PolicyResource);
  return err(collectErrors(policyChecker.Errors(value), (path) => toFieldPath(path)));
}

/**
 * Checks an attestor set (`{count, entries}`) against the schema: a nested `attestor`, which the CRD keeps as free
 * JSON, or one built by the CLI. `field` is where the set sits, and prefixes the fields errors name.
 */
export function parseAttestorSet(value: unknown, field: string): Result<AttestorSetType, FieldError[]> {
  if (attestorSetChecker.Check(value)) return ok(value as AttestorSetType);
  const under = (path: string) =>
    path === '' || path === '/' ? field : `${field}${toFieldPath(path).replace(/^(?!\[)/, '.')}`;
  return err(collectErrors(attestorSetChecker.Errors(value), under));
}

function collectErrors(
  found: Iterable<{ path: string; message: string; value: unknown }>,
  toField: (path: string) => string,
): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of found) {
    const field = toField(e.path);
    // A union reports one error per member and then a summary; the summary alone is the useful one.
    const key = `${field}\u0000${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ field, message: describeError(e.message, e.value) });
    if (errors.length >= MAX_ERRORS) break;
  }
  return dropSubsumed(errors);
}

function describeError(message: string, value: unknown): string {
  if (value === undefined) return message === 'Expected required property' ? 'Required value' : message;
  const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? '' : String(value);
  return shown === '' ? message : `Invalid value ${shown}: ${message}`;
}

/** Keeps only the deepest error on a path: "Expected union value" on a parent of a more precise error adds nothing. */
function dropSubsumed(errors: FieldError[]): FieldError[] {
  return errors.filter(
    (e) =>
      !errors.some(
        (o) =>
          o !== e && o.field !== e.field && (o.field.startsWith(`${e.field}.`) || o.field.startsWith(`${e.field}[`)),
      ),
  );
}
