// How a function Imprimatur adds to JMESPath is described: Kyverno's name, the argument types the interpreter
// checks before calling it, and its body. Errors use Kyverno's wording ("JMESPath function 'x': ...").
import {
  TYPE_ANY,
  TYPE_ARRAY,
  TYPE_NUMBER,
  TYPE_OBJECT,
  TYPE_STRING,
  type InputSignature,
} from '@jmespath-community/jmespath';
import { evaluationFailure, type EvaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';

export interface FunctionDefinition {
  readonly name: string;
  readonly signature: readonly InputSignature[];
  readonly run: (args: readonly JsonValue[], run: EvaluationRun) => JsonValue;
}

export const STRING: InputSignature = { types: [TYPE_STRING] };
export const NUMBER: InputSignature = { types: [TYPE_NUMBER] };
export const STRING_OR_NUMBER: InputSignature = { types: [TYPE_STRING, TYPE_NUMBER] };
export const ANY: InputSignature = { types: [TYPE_ANY] };
export const ARRAY: InputSignature = { types: [TYPE_ARRAY] };
export const OBJECT: InputSignature = { types: [TYPE_OBJECT] };
export const OBJECT_OR_ARRAY: InputSignature = { types: [TYPE_OBJECT, TYPE_ARRAY] };

export function functionError(name: string, message: string): EvaluationFailure {
  return evaluationFailure(`JMESPath function '${name}': ${message}`);
}
