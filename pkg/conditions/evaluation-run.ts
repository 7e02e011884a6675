// What an evaluation carries into the code the JMESPath interpreter calls back: its work budget and its clock.
// Evaluation is synchronous, so the run in progress is kept here for the duration of one call (withRun) rather than
// threaded through the library, whose function signatures have no room for it.
import { evaluationFailure } from './evaluation-failure.js';
import { MAX_STRING_LENGTH } from './limits.js';
import type { WorkBudget } from './work-budget.js';

export interface EvaluationRun {
  readonly budget: WorkBudget;
  /** Milliseconds since the Unix epoch, as Date.now(). */
  readonly now: () => number;
}

let active: EvaluationRun | undefined;

export function withRun<T>(run: EvaluationRun, body: () => T): T {
  const previous = active;
  active = run;
  try {
    return body();
  } finally {
    active = previous;
  }
}

export function currentRun(): EvaluationRun {
  if (active === undefined) throw evaluationFailure('a JMESPath expression was evaluated outside an evaluation');
  return active;
}

/** Fails when a function would make a string longer than MAX_STRING_LENGTH; charges the work to write it. */
export function checkedLength(length: number, what: string, run: EvaluationRun): void {
  if (length > MAX_STRING_LENGTH) {
    throw evaluationFailure(`${what} would be ${length} characters long, more than the ${MAX_STRING_LENGTH} allowed`);
  }
  run.budget.charge(1 + (length >> 2));
}
