// Evaluation fails deep inside operators, functions and the JMESPath interpreter, far from the field that a message
// must name. The deep code throws an EvaluationFailure; the one boundary (evaluateConditions, evaluateDeny,
// substituteVariables) catches it with everything else the libraries may throw and turns it into an error value.

export class EvaluationFailure extends Error {
  override readonly name = 'EvaluationFailure';
}

export function evaluationFailure(message: string): EvaluationFailure {
  return new EvaluationFailure(message);
}
