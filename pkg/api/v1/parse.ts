// Runtime validation of user objects against the same schema the CRD is generated from.
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { err, ok, type Result } from '../../result/index.js';
import { toFieldPath, type FieldError } from './field-error.js';
import { Policy } from './schema.js';
import type { PolicyResource } from './types.js';

// status is written by the operator, not the user; it never makes a policy invalid.
const policyChecker = TypeCompiler.Compile(Type.Omit(Policy, ['status']));

/** At most this many schema errors are reported; the first ones are the ones a person fixes first. */
const MAX_ERRORS = 20;

/**
 * Checks that `value` is a structurally valid ClusterPolicy or Policy. Semantic checks (keys that parse,
 * patterns that compile) belong to the compiler; this only says whether the shape is right.
 */
export function parsePolicy(value: unknown): Result<PolicyResource, FieldError[]> {
  if (policyChecker.Check(value)) return ok(value as PolicyResource);
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of policyChecker.Errors(value)) {
    const field = toFieldPath(e.path);
    // A union reports one error per member and then a summary; the summary alone is the useful one.
    const key = `${field}\u0000${e.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    errors.push({ field, message: describeError(e.message, e.value) });
    if (errors.length >= MAX_ERRORS) break;
  }
  return err(dropSubsumed(errors));
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
