// The JMESPath interpreter conditions use: an instance of @jmespath-community/jmespath's TreeInterpreter of this
// package's own (the library's shared function table is never touched), with Kyverno's functions registered and
// the standard ones that behave differently in go-jmespath replaced. Three more differences from the library are
// made in visit():
//   - a field is read only from the object's own members, so data cannot reach Object.prototype ("constructor");
//   - slicing a string gives null, as in go-jmespath, rather than a substring;
//   - expression references carry a private tag, so that an attestation object with an "expref" member is still
//     an object to type checks and not an expression.
// Every step is charged to the evaluation's budget.
import {
  TreeInterpreter,
  TYPE_EXPREF,
  TYPE_OBJECT,
  type compile,
  type InputSignature,
  type JSONValue,
  type RegistrationResult,
} from '@jmespath-community/jmespath';
import { ARITHMETIC_FUNCTIONS } from './arithmetic-functions.js';
import { ENCODING_FUNCTIONS } from './encoding-functions.js';
import { currentRun } from './evaluation-run.js';
import type { FunctionDefinition } from './function-definition.js';
import { isJsonObject, type JsonValue } from './json-value.js';
import { VISIT_COST } from './limits.js';
import { OBJECT_FUNCTIONS } from './object-functions.js';
import { REGEX_FUNCTIONS } from './regex-functions.js';
import { standardFunctions } from './standard-functions.js';
import { STRING_FUNCTIONS } from './string-functions.js';
import { TIME_FUNCTIONS } from './time-functions.js';
import { VERSION_FUNCTIONS } from './version-functions.js';

export type ExpressionNode = ReturnType<typeof compile>;
type Interpreter = typeof TreeInterpreter;
type VisitResult = ReturnType<Interpreter['visit']>;

const EXPREF_TAG = Symbol('expref');
const Base = TreeInterpreter.constructor as new () => Interpreter;

class KyvernoInterpreter extends Base {
  override visit(node: ExpressionNode, value: JSONValue | ExpressionNode): VisitResult {
    currentRun().budget.charge(VISIT_COST);
    switch (node.type) {
      case 'Field':
        return isJsonObject(value) && Object.hasOwn(value, node.name)
          ? ((value as Record<string, JSONValue>)[node.name] ?? null)
          : null;
      case 'Slice':
        if (typeof value === 'string') return null;
        break;
      case 'ExpressionReference':
        return { ...node.child, expref: true, [EXPREF_TAG]: true } as unknown as VisitResult;
    }
    return super.visit(node, value);
  }
}

const interpreter = new KyvernoInterpreter();

// Type checks see an object as an expression reference only when this interpreter made it one.
const runtime = interpreter.runtime as unknown as {
  getTypeName(value: unknown): number | undefined;
  register(
    name: string,
    fn: (args: unknown[]) => JSONValue,
    signature: InputSignature[],
    options: { override: boolean },
  ): RegistrationResult;
  _functionTable: Record<string, { _signature: InputSignature[] }>;
};
const libraryTypeName = runtime.getTypeName.bind(runtime);
runtime.getTypeName = (value: unknown) => {
  if (isJsonObject(value)) return Object.hasOwn(value, EXPREF_TAG) ? TYPE_EXPREF : TYPE_OBJECT;
  return libraryTypeName(value);
};

const REGISTERED: readonly FunctionDefinition[] = [
  ...standardFunctions(
    (expref, value) => interpreter.visit(expref as unknown as ExpressionNode, value as JSONValue) as JsonValue,
  ),
  ...STRING_FUNCTIONS,
  ...REGEX_FUNCTIONS,
  ...ARITHMETIC_FUNCTIONS,
  ...TIME_FUNCTIONS,
  ...ENCODING_FUNCTIONS,
  ...OBJECT_FUNCTIONS,
  ...VERSION_FUNCTIONS,
];

for (const definition of REGISTERED) {
  const result = runtime.register(
    definition.name,
    (args) => definition.run(args as JsonValue[], currentRun()) as JSONValue,
    [...definition.signature],
    { override: true },
  );
  if (!result.success) throw new Error(`cannot register JMESPath function ${definition.name}: ${result.message}`);
}

/** go-jmespath's own functions, which Kyverno policies may call besides Kyverno's. */
const GO_JMESPATH_FUNCTIONS = [
  'abs',
  'avg',
  'ceil',
  'contains',
  'ends_with',
  'floor',
  'join',
  'keys',
  'length',
  'map',
  'max',
  'max_by',
  'merge',
  'min',
  'min_by',
  'not_null',
  'reverse',
  'sort',
  'sort_by',
  'starts_with',
  'sum',
  'to_array',
  'to_number',
  'to_string',
  'type',
  'values',
];

/** @jmespath-community functions that Kyverno does not have, with the Kyverno function to use instead. */
export const KYVERNO_SPELLINGS: ReadonlyMap<string, string> = new Map([
  ['lower', 'to_lower'],
  ['upper', 'to_upper'],
  ['trim_left', 'trim'],
  ['trim_right', 'trim'],
  ['from_items', 'object_from_lists'],
]);

/** Kyverno functions left out, with the reason a policy's author is told. */
export const UNSUPPORTED_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['random', 'its result is random, so a verification could not be repeated'],
  ['x509_decode', "its result mirrors Go's x509.Certificate structure, which has no faithful JSON equivalent here"],
  ['is_external_url', 'it resolves host names in DNS during admission'],
]);

export interface Arity {
  readonly min: number;
  readonly max: number;
}

/** Every function a condition may call, with how many arguments it takes. */
export const KNOWN_FUNCTIONS: ReadonlyMap<string, Arity> = new Map(
  [...new Set([...GO_JMESPATH_FUNCTIONS, ...REGISTERED.map((f) => f.name)])].map((name) => {
    const signature = runtime._functionTable[name]?._signature ?? [];
    const variadic = signature.at(-1)?.variadic === true;
    const required = signature.filter((s) => s.optional !== true).length;
    return [name, { min: required, max: variadic ? Number.POSITIVE_INFINITY : signature.length }];
  }),
);

/** Evaluates a compiled expression against the JMESPath root; call within withRun. */
export function searchExpression(node: ExpressionNode, root: JsonValue): JsonValue {
  return (interpreter.search(node, root as JSONValue) ?? null) as JsonValue;
}

/** Evaluates part of an expression against a value (the current node); call within withRun. */
export function visitExpression(node: ExpressionNode, value: JsonValue): JsonValue {
  return (interpreter.visit(node, value as JSONValue) ?? null) as JsonValue;
}
