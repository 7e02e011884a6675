// Label selectors (metav1.LabelSelector) of a match or exclude block: `selector` over the resource's labels and
// `namespaceSelector` over its namespace's. Kyverno 1.19 (pkg/utils/match/labels.go CheckSelector) first replaces a
// matchLabels entry that has a wildcard in its key or value with a label of the resource that matches both
// (pkg/engine/wildcards ReplaceInSelector), then builds the selector with metav1.LabelSelectorAsSelector. Compiled
// here into requirements checked one by one, so nothing is parsed per admission.
import type { FieldError } from '../api/v1/index.js';
import { compileImagePattern, type ImagePattern } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly {
    readonly key: string;
    readonly operator: string;
    readonly values?: readonly string[];
  }[];
}

export type Labels = Readonly<Record<string, string>>;

export interface CompiledLabelSelector {
  /** Every requirement holds; a selector without requirements selects everything. */
  matches(labels: Labels): boolean;
}

type Requirement = (labels: Labels) => boolean;

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/**
 * Compiles a selector; `field` names it in errors. Every key, value and operator is checked as
 * metav1.LabelSelectorAsSelector checks them, except matchLabels entries with a wildcard, which match only through a
 * label they match. Kyverno checks only `selector`, and only one without wildcards, when a policy is admitted; any
 * other selector that does not parse silently never matches. Refusing it here tells the policy's author instead.
 */
export function compileLabelSelector(
  selector: LabelSelector,
  field: string,
): Result<CompiledLabelSelector, FieldError[]> {
  const errors: FieldError[] = [];
  const requirements: Requirement[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (hasWildcard(key) || hasWildcard(value)) {
      requirements.push(wildcardLabel(compileImagePattern(key), compileImagePattern(value)));
      continue;
    }
    errors.push(...checkKey(key, `${field}.matchLabels`), ...checkValue(value, `${field}.matchLabels[${key}]`));
    requirements.push((labels) => labelOf(labels, key) === value);
  }
  (selector.matchExpressions ?? []).forEach((expression, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    const { key, operator } = expression;
    const values = expression.values ?? [];
    errors.push(...checkKey(key, `${at}.key`));
    values.forEach((v, j) => errors.push(...checkValue(v, `${at}.values[${j}]`)));
    const set = new Set(values);
    switch (operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          errors.push({ field: `${at}.values`, message: "for 'in', 'notin' operators, values set can't be empty" });
        }
        requirements.push((labels) => {
          const value = labelOf(labels, key);
          // NotIn also holds when the label is absent, as in Kubernetes.
          return operator === 'In' ? value !== undefined && set.has(value) : value === undefined || !set.has(value);
        });
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          errors.push({
            field: `${at}.values`,
            message: 'values set must be empty for exists and does not exist',
          });
        }
        requirements.push(
          operator === 'Exists'
            ? (labels) => labelOf(labels, key) !== undefined
            : (labels) => labelOf(labels, key) === undefined,
        );
        break;
      default:
        errors.push({
          field: `${at}.operator`,
          message: `Unsupported value ${JSON.stringify(operator)}: supported values: ${OPERATORS.map((o) => JSON.stringify(o)).join(', ')}`,
        });
    }
  });
  if (errors.length > 0) return err(errors);
  return ok({ matches: (labels) => requirements.every((r) => r(labels)) });
}

/** The label's value, or undefined; own properties only, so that a label named "constructor" is not invented. */
function labelOf(labels: Labels, key: string): string | undefined {
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

// ReplaceInSelector puts in the first label whose key and value match the patterns, or the patterns with their
// wildcards turned into "0" when none does, and that label cannot exist (it would have matched). So the entry holds
// exactly when some label matches both patterns. Kyverno's map can let such an entry overwrite a literal entry for
// the same key, which makes the outcome depend on Go's map order; each entry is checked on its own here.
function wildcardLabel(key: ImagePattern, value: ImagePattern): Requirement {
  return (labels) => Object.entries(labels).some(([k, v]) => key.matches(k) && value.matches(v));
}

function hasWildcard(s: string): boolean {
  return s.includes('*') || s.includes('?');
}

// Kubernetes' validation.IsQualifiedName and IsValidLabelValue, with their messages.
const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NAME_MESSAGE =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

function checkKey(key: string, field: string): FieldError[] {
  const parts = key.split('/');
  const problems: string[] = [];
  if (parts.length > 2) {
    problems.push(
      `a qualified name ${NAME_MESSAGE}, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    );
  } else {
    const name = parts[parts.length - 1]!;
    if (parts.length === 2) {
      const prefix = parts[0]!;
      if (prefix === '') problems.push('prefix part must be non-empty');
      else if (prefix.length > 253) problems.push('prefix part must be no more than 253 characters');
      else if (!SUBDOMAIN.test(prefix)) {
        problems.push(
          "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        );
      }
    }
    if (name === '') problems.push('name part must be non-empty');
    else if (name.length > 63) problems.push('name part must be no more than 63 characters');
    else if (!NAME.test(name)) problems.push(`name part ${NAME_MESSAGE}`);
  }
  return problems.length === 0
    ? []
    : [{ field, message: `Invalid value ${JSON.stringify(key)}: ${problems.join('; ')}` }];
}

function checkValue(value: string, field: string): FieldError[] {
  if (value.length > 63) {
    return [{ field, message: `Invalid value ${JSON.stringify(value)}: must be no more than 63 characters` }];
  }
  if (!VALUE.test(value)) {
    return [
      {
        field,
        message: `Invalid value ${JSON.stringify(value)}: a valid label must be an empty string or ${NAME_MESSAGE.replace('must consist', 'consist')}`,
      },
    ];
  }
  return [];
}
