// Attestation conditions (verifyImages[].attestations[].conditions: a list of {any, all} blocks) compiled once,
// when the policy compiles: every problem is reported with the field to fix, so a policy with a typo never reaches
// admission.
import type { AnyAllConditionsType } from '../api/v1/index.js';
import { err, ok, type Result } from '../result/index.js';
import { compileCondition, type CompiledCondition } from './compiled-condition.js';
import type { ConditionError } from './condition-error.js';
import { isJsonObject } from './json-value.js';

export interface CompiledBlock {
  /** Where the block is: …conditions[0]. */
  readonly field: string;
  /** Undefined when the block has no any: a block with "any: []" has one, and fails, as in Kyverno. */
  readonly any?: readonly CompiledCondition[];
  readonly all?: readonly CompiledCondition[];
}

export interface CompiledConditions {
  /** The field the conditions were compiled from, as given. */
  readonly field: string;
  readonly blocks: readonly CompiledBlock[];
}

/**
 * Compiles a list of {any, all} blocks; `field` is where the list is
 * (spec.rules[0].verifyImages[0].attestations[0].conditions), and errors name fields below it
 * (…conditions[0].all[1].operator).
 */
export function compileConditions(
  blocks: readonly AnyAllConditionsType[],
  field: string,
): Result<CompiledConditions, ConditionError[]> {
  const errors: ConditionError[] = [];
  const compiled = blocks.map((block, i) => {
    const result = compileBlock(block, `${field}[${i}]`);
    if (!result.ok) errors.push(...result.error);
    return result.ok ? result.value : { field: `${field}[${i}]` };
  });
  return errors.length > 0 ? err(errors) : ok({ field, blocks: compiled });
}

/** One {any, all} block; also the object form of validate.deny.conditions. */
export function compileBlock(block: unknown, field: string): Result<CompiledBlock, ConditionError[]> {
  if (!isJsonObject(block)) return err([{ field, message: 'must be an object with any and/or all' }]);
  const errors: ConditionError[] = [];
  for (const name of Object.keys(block)) {
    if (name !== 'any' && name !== 'all') {
      errors.push({ field: `${field}.${name}`, message: 'unknown field; conditions are grouped under any and all' });
    }
  }
  const compileList = (kind: 'any' | 'all'): CompiledCondition[] | undefined => {
    const list = (block as Record<string, unknown>)[kind];
    if (list === undefined || list === null) return undefined;
    if (!Array.isArray(list)) {
      errors.push({ field: `${field}.${kind}`, message: 'must be a list of conditions' });
      return undefined;
    }
    return list.flatMap((condition, k) => {
      const result = compileCondition(condition, `${field}.${kind}[${k}]`);
      if (result.ok) return [result.value];
      errors.push(...result.error);
      return [];
    });
  };
  const any = compileList('any');
  const all = compileList('all');
  if (errors.length > 0) return err(errors);
  return ok({ field, ...(any === undefined ? {} : { any }), ...(all === undefined ? {} : { all }) });
}
