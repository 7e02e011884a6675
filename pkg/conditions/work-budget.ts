// A meter for one evaluation's work (see limits.ts). Charged by the interpreter for every step and by functions and
// operators in proportion to the strings and arrays they handle; running out is an evaluation failure.
import { evaluationFailure } from './evaluation-failure.js';

export class WorkBudget {
  #left: number;
  readonly #limit: number;

  constructor(limit: number) {
    this.#left = limit;
    this.#limit = limit;
  }

  charge(units: number): void {
    this.#left -= units;
    if (this.#left < 0) {
      throw evaluationFailure(`the evaluation needs more work than the limit of ${this.#limit} units allows`);
    }
  }
}
