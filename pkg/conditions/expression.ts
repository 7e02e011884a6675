// One JMESPath expression from inside "{{ }}", compiled when the policy compiles and checked against what
// Kyverno's JMESPath (go-jmespath) accepts: every function must exist in it with the right number of arguments, and
// the newer syntax @jmespath-community also parses (arithmetic, let, ternaries, $ and $variables) is refused, since
// Kyverno would reject it. Evaluation reproduces go-jmespath's one difference in results that matters: a path to a
// member an object does not have is an error ("Unknown key"), not null, unless something absorbs it (||, a
// function argument, a projection, a pipe or a comparison).
import { compile } from '@jmespath-community/jmespath';
import { sanitizeText } from '../text/index.js';
import { err, ok, type Result } from '../result/index.js';
import { isJsonObject, type JsonValue } from './json-value.js';
import {
  KNOWN_FUNCTIONS,
  KYVERNO_SPELLINGS,
  searchExpression,
  UNSUPPORTED_FUNCTIONS,
  visitExpression,
  type ExpressionNode,
} from './kyverno-interpreter.js';

export interface CompiledExpression {
  /** As written between the braces, trimmed. */
  readonly source: string;
  readonly node: ExpressionNode;
}

/** Longest expression compiled: far beyond any real condition, short of a parser stack's limit. */
export const MAX_EXPRESSION_LENGTH = 8192;

const UNSUPPORTED_SYNTAX: Readonly<Record<string, string>> = {
  Arithmetic: 'arithmetic operators (use add(), subtract(), multiply(), divide() or modulo())',
  Unary: 'unary + and -',
  LetExpression: 'let expressions',
  Binding: 'let expressions',
  Variable: '$variables',
  Root: 'the $ root',
  Ternary: 'the ?: operator',
};

/**
 * Compiles and checks one expression. `maxLength` is raised only for the text of an outer nested expression, whose
 * length grows with the values written into its string literals, not with its structure.
 */
export function compileExpression(
  source: string,
  maxLength: number = MAX_EXPRESSION_LENGTH,
): Result<CompiledExpression, string> {
  if (source === '') return err('the variable is empty; write a JMESPath expression between {{ and }}');
  if (source.length > maxLength) return err(`the expression is longer than ${maxLength} characters`);
  let node: ExpressionNode;
  try {
    node = compile(source);
  } catch (e) {
    return err(`invalid JMESPath expression: ${sanitizeText(String((e as Error).message), 200)}`);
  }
  const problem = findProblem(node);
  return problem === undefined ? ok({ source, node }) : err(problem);
}

/** The first construct Kyverno would not run, walking the tree without recursion. */
function findProblem(root: ExpressionNode): string | undefined {
  const stack: ExpressionNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const unsupported = UNSUPPORTED_SYNTAX[node.type];
    if (unsupported !== undefined) return `Kyverno's JMESPath does not support ${unsupported}`;
    if (node.type === 'Function') {
      const problem = checkCall(node.name, node.children.length);
      if (problem !== undefined) return problem;
    }
    stack.push(...childrenOf(node));
  }
  return undefined;
}

function checkCall(name: string, argumentCount: number): string | undefined {
  const reason = UNSUPPORTED_FUNCTIONS.get(name);
  if (reason !== undefined) return `${name}() is not supported, on purpose: ${reason}`;
  const arity = KNOWN_FUNCTIONS.get(name);
  if (arity === undefined) {
    const instead = KYVERNO_SPELLINGS.get(name);
    return `unknown function ${sanitizeText(name, 64)}()${instead === undefined ? '' : `; Kyverno's is ${instead}()`}`;
  }
  if (argumentCount < arity.min || argumentCount > arity.max) {
    const expected =
      arity.min === arity.max
        ? `${arity.min}`
        : arity.max === Number.POSITIVE_INFINITY
          ? `at least ${arity.min}`
          : `${arity.min} to ${arity.max}`;
    const last = arity.max === Number.POSITIVE_INFINITY ? arity.min : arity.max;
    return `${name}() takes ${expected} argument${last === 1 ? '' : 's'}, not ${argumentCount}`;
  }
  return undefined;
}

function childrenOf(node: ExpressionNode): ExpressionNode[] {
  switch (node.type) {
    case 'Subexpression':
    case 'IndexExpression':
    case 'Projection':
    case 'ValueProjection':
    case 'OrExpression':
    case 'AndExpression':
    case 'Pipe':
    case 'Comparator':
    case 'Arithmetic':
      return [node.left, node.right];
    case 'FilterProjection':
      return [node.left, node.right, node.condition];
    case 'Flatten':
    case 'NotExpression':
    case 'ExpressionReference':
      return [node.child];
    case 'Function':
    case 'MultiSelectList':
      return [...node.children];
    case 'MultiSelectHash':
      return node.children.map((pair) => pair.value);
    case 'Unary':
      return [node.operand];
    case 'Ternary':
      return [node.condition, node.trueExpr, node.falseExpr];
    case 'LetExpression':
      return [node.expression, ...node.bindings];
    case 'Binding':
      return [node.reference];
    default:
      return [];
  }
}

export type ExpressionResult =
  { readonly found: true; readonly value: JsonValue } | { readonly found: false; readonly missingKey: string };

/** Evaluates against the JMESPath root; call within withRun. */
export function evaluateExpression(expression: CompiledExpression, root: JsonValue): ExpressionResult {
  const value = searchExpression(expression.node, root);
  if (value !== null) return { found: true, value };
  const missingKey = findMissingKey(expression.node, root);
  return missingKey === undefined ? { found: true, value: null } : { found: false, missingKey };
}

/**
 * The member whose absence go-jmespath reports as an error, for an expression that came out null: an error
 * propagates through paths (a.b, a[0]) and the right side of &&, and stops everywhere else.
 */
function findMissingKey(node: ExpressionNode, value: JsonValue): string | undefined {
  switch (node.type) {
    case 'Field':
      return isJsonObject(value) && !Object.hasOwn(value, node.name) ? node.name : undefined;
    case 'Subexpression':
    case 'IndexExpression':
      return findMissingKey(node.left, value) ?? findMissingKey(node.right, visitExpression(node.left, value));
    case 'AndExpression':
      return isFalsy(visitExpression(node.left, value)) ? undefined : findMissingKey(node.right, value);
    default:
      return undefined;
  }
}

/** JMESPath's falsy values: null, false, "", [] and {}. */
function isFalsy(value: JsonValue): boolean {
  if (value === null || value === false || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isJsonObject(value) && Object.keys(value).length === 0;
}
