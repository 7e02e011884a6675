// A problem with a condition, naming the field to fix (spec.rules[0]...conditions[0].all[1].operator) the way the
// rest of the policy API names fields, so that formatFieldErrors and Ready conditions treat it alike.
import type { FieldError } from '../api/v1/index.js';

export type ConditionError = FieldError;
