// Outer expressions of nested variables, compiled once per distinct text. The text exists only at admission (the
// inner values are written into it), so it cannot be compiled with the policy; the same attestation, or another with
// the same subject, gives the same text again, and the hot path should not parse it again. The cache is shared by
// every policy (a text compiles to the same expression wherever it comes from), least recently used first out,
// bounded in entries and in the length of the texts it keeps; failures are kept too, so an attestation that makes
// an invalid text does not buy a parse on every admission. Every compile is charged to the evaluation's budget.
import type { Result } from '../result/index.js';
import type { EvaluationRun } from './evaluation-run.js';
import { compileExpression, type CompiledExpression } from './expression.js';
import {
  MAX_NESTED_EXPRESSION_LENGTH,
  NESTED_EXPRESSION_CACHE_MAX_TEXT,
  NESTED_EXPRESSION_CACHE_SIZE,
  PARSE_COST,
  VISIT_COST,
} from './limits.js';

export class ExpressionCache {
  readonly #entries = new Map<string, Result<CompiledExpression, string>>();
  readonly #maxEntries: number;
  readonly #maxTextLength: number;

  constructor(maxEntries: number, maxTextLength: number) {
    this.#maxEntries = maxEntries;
    this.#maxTextLength = maxTextLength;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The compiled text, from the cache or compiled now; the work is charged to `run`. */
  compile(text: string, run: EvaluationRun): Result<CompiledExpression, string> {
    const cached = this.#entries.get(text);
    if (cached !== undefined) {
      // Most recently used last: Map keeps insertion order.
      this.#entries.delete(text);
      this.#entries.set(text, cached);
      run.budget.charge(1 + (text.length >> 4));
      return cached;
    }
    run.budget.charge(VISIT_COST + PARSE_COST * text.length);
    const compiled = compileExpression(text, MAX_NESTED_EXPRESSION_LENGTH);
    if (text.length <= this.#maxTextLength) {
      if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(text, compiled);
    }
    return compiled;
  }
}

export const nestedExpressions = new ExpressionCache(NESTED_EXPRESSION_CACHE_SIZE, NESTED_EXPRESSION_CACHE_MAX_TEXT);
