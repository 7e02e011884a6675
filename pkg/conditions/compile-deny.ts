// verifyImages[].validate compiled: its message and its deny.conditions, which Kyverno reads either as an {any, all}
// block or, the older form, as a plain list of conditions that must all hold (ConditionsWrapper). A validate block
// without deny never denies; a deny without conditions always does, as in Kyverno.
import type { ImageVerificationType } from '../api/v1/index.js';
import { err, ok, type Result } from '../result/index.js';
import { compileBlock, type CompiledBlock } from './compile-conditions.js';
import { compileCondition, type CompiledCondition } from './compiled-condition.js';
import type { ConditionError } from './condition-error.js';
import { isJsonObject } from './json-value.js';
import { compileTemplate, type CompiledTemplate } from './template.js';

export type CompiledDenyConditions =
  | { readonly kind: 'block'; readonly block: CompiledBlock }
  | { readonly kind: 'list'; readonly field: string; readonly conditions: readonly CompiledCondition[] };

export interface CompiledDeny {
  /** Where the validate block is: spec.rules[0].verifyImages[0].validate. */
  readonly field: string;
  /** validate.message, whose variables are filled in when the request is denied. */
  readonly message?: CompiledTemplate;
  /** Undefined when there is no deny: nothing is ever denied. */
  readonly conditions?: CompiledDenyConditions;
}

/** Compiles a verifyImages entry's validate block (which may be absent); errors name fields below `field`. */
export function compileDeny(
  validate: ImageVerificationType['validate'] | undefined,
  field: string,
): Result<CompiledDeny, ConditionError[]> {
  const errors: ConditionError[] = [];
  let message: CompiledTemplate | undefined;
  if (validate?.message !== undefined && validate.message !== '') {
    const template = compileTemplate(validate.message, `${field}.message`);
    if (template.ok) message = template.value;
    else errors.push(...template.error);
  }
  let conditions: CompiledDenyConditions | undefined;
  if (validate?.deny !== undefined) {
    const at = `${field}.deny.conditions`;
    const raw: unknown = validate.deny.conditions;
    if (raw === undefined || raw === null) {
      conditions = { kind: 'block', block: { field: at } };
    } else if (Array.isArray(raw)) {
      const list = raw.flatMap((condition, i) => {
        const result = compileCondition(condition, `${at}[${i}]`);
        if (result.ok) return [result.value];
        errors.push(...result.error);
        return [];
      });
      conditions = { kind: 'list', field: at, conditions: list };
    } else if (isJsonObject(raw)) {
      const block = compileBlock(raw, at);
      if (block.ok) conditions = { kind: 'block', block: block.value };
      else errors.push(...block.error);
    } else {
      errors.push({ field: at, message: 'must be a list of conditions, or an object with any and/or all' });
    }
  }
  if (errors.length > 0) return err(errors);
  return ok({
    field,
    ...(message === undefined ? {} : { message }),
    ...(conditions === undefined ? {} : { conditions }),
  });
}
