// A condition's key or value as the policy writes it: any JSON, in which every string (and object member name) may
// hold variables. Compiled once into a tree; a part without variables becomes a ready Operand whose readings
// (duration, quantity, number, version) are parsed at compile time, so literal values cost nothing per admission.
import { err, ok, type Result } from '../result/index.js';
import type { ConditionError } from './condition-error.js';
import { evaluationFailure } from './evaluation-failure.js';
import type { EvaluationRun } from './evaluation-run.js';
import { isJsonObject, type JsonValue } from './json-value.js';
import { jsonObject } from './object-functions.js';
import { Operand } from './operand.js';
import { compileTemplate, hasVariables, renderTemplate, type CompiledTemplate } from './template.js';

export type ValueTemplate =
  | { readonly kind: 'literal'; readonly operand: Operand }
  | { readonly kind: 'text'; readonly template: CompiledTemplate }
  | { readonly kind: 'array'; readonly items: readonly ValueTemplate[] }
  | {
      readonly kind: 'object';
      readonly members: readonly { readonly name: string | CompiledTemplate; readonly value: ValueTemplate }[];
    };

/** Compiles a key or value; `field` names it in errors (…all[1].value). */
export function compileValueTemplate(value: unknown, field: string): Result<ValueTemplate, ConditionError[]> {
  const errors: ConditionError[] = [];
  const compiled = compileNode(value === undefined ? null : value, field, errors);
  return errors.length > 0 ? err(errors) : ok(compiled);
}

function compileNode(value: unknown, field: string, errors: ConditionError[]): ValueTemplate {
  if (typeof value === 'string') {
    const template = compileTemplate(value, field);
    if (!template.ok) {
      errors.push(...template.error);
      return literal(value);
    }
    // Without variables the string is a literal, its "\{{" escapes already undone.
    if (!hasVariables(template.value))
      return literal(template.value.parts.map((p) => (p.kind === 'text' ? p.text : '')).join(''));
    return { kind: 'text', template: template.value };
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => compileNode(item, `${field}[${i}]`, errors));
    return items.every((item) => item.kind === 'literal')
      ? literal(items.map((item) => (item as Extract<ValueTemplate, { kind: 'literal' }>).operand.value))
      : { kind: 'array', items };
  }
  if (isJsonObject(value)) {
    const members = Object.keys(value).map((name) => {
      const nameTemplate = compileTemplate(name, `${field}.${name}`);
      if (!nameTemplate.ok) errors.push(...nameTemplate.error);
      const compiledName = nameTemplate.ok && hasVariables(nameTemplate.value) ? nameTemplate.value : name;
      return { name: compiledName, value: compileNode(value[name], `${field}.${name}`, errors) };
    });
    if (members.every((m) => typeof m.name === 'string' && m.value.kind === 'literal')) {
      return literal(
        jsonObject(
          members.map((m) => [
            m.name as string,
            (m.value as Extract<ValueTemplate, { kind: 'literal' }>).operand.value,
          ]),
        ),
      );
    }
    return { kind: 'object', members };
  }
  if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
    return literal(value);
  }
  errors.push({ field, message: `must be JSON, not ${typeof value}` });
  return literal(null);
}

function literal(value: JsonValue): ValueTemplate {
  return { kind: 'literal', operand: new Operand(value).prepare() };
}

/** The operand for an evaluation: the compiled literal itself, or a new one from the variables' values. */
export function renderOperand(template: ValueTemplate, root: JsonValue, run: EvaluationRun): Operand {
  return template.kind === 'literal' ? template.operand : new Operand(renderValue(template, root, run));
}

export function renderValue(template: ValueTemplate, root: JsonValue, run: EvaluationRun): JsonValue {
  switch (template.kind) {
    case 'literal':
      return template.operand.value;
    case 'text':
      return renderTemplate(template.template, root, run);
    case 'array':
      return template.items.map((item) => renderValue(item, root, run));
    case 'object':
      return jsonObject(
        template.members.map(({ name, value }) => {
          if (typeof name === 'string') return [name, renderValue(value, root, run)];
          const rendered = renderTemplate(name, root, run);
          if (typeof rendered !== 'string') {
            throw evaluationFailure(
              `expected string after substituting variables in key ${JSON.stringify(name.source)}`,
            );
          }
          return [rendered, renderValue(value, root, run)];
        }),
      );
  }
}
