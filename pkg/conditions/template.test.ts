import { withRun } from './evaluation-run.js';
import type { JsonValue } from './json-value.js';
import { compileTemplate, renderTemplate } from './template.js';
import { WorkBudget } from './work-budget.js';

function render(text: string, data: unknown): JsonValue | { error: string } {
  const compiled = compileTemplate(text, 'f');
  if (!compiled.ok) return { error: compiled.error.map((e) => e.message).join('; ') };
  try {
    const run = { budget: new WorkBudget(10_000_000), now: () => 0 };
    return withRun(run, () => renderTemplate(compiled.value, data as JsonValue, run));
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const DATA = { name: 'app', replicas: 3, ready: true, labels: { a: '<b>' }, list: ['x', 1], none: null };

describe('when the text is one variable and nothing else', () => {
  it.each([
    ['{{ replicas }}', 3],
    ['{{ready}}', true],
    ['{{ labels }}', { a: '<b>' }],
    ['{{ none }}', null],
    ['{{- name }}', 'app'],
  ])('%s keeps the JSON value %j', (text, want) => expect(render(text, DATA)).toEqual(want));
});

describe('when variables are embedded in text', () => {
  it.each([
    ['replicas: {{ replicas }}', 'replicas: 3'],
    ['{{ name }}-{{ replicas }}', 'app-3'],
    ['{{name}}{{name}}', 'appapp'],
    [' {{ ready }}', ' true'],
    ['labels={{ labels }}', 'labels={"a":"\\u003cb\\u003e"}'],
    ['list={{ list }}', 'list=["x",1]'],
    ['none={{ none }}', 'none=null'],
  ])('%s becomes %j', (text, want) => expect(render(text, DATA)).toBe(want));
});

describe('when braces are escaped', () => {
  it('keeps \\{{ as literal braces', () =>
    expect(render('\\{{ name }} is {{ name }}', DATA)).toBe('{{ name }} is app'));
  it('keeps a backslash before an escaped variable', () => expect(render('\\\\{{ x }}', DATA)).toBe('\\{{ x }}'));
});

describe('when a variable uses a multi-select hash', () => {
  it('reads one level of braces inside the variable', () =>
    expect(render('{{ {n: name} }}', DATA)).toEqual({ n: 'app' }));
});

describe('when text only looks like a variable', () => {
  it.each(['{{ unclosed', 'a {single} b', '}} {{'])('%j stays text', (text) => expect(render(text, DATA)).toBe(text));
});

describe('when a variable names a member that is not there', () => {
  it('is an error naming the variable and the member', () =>
    expect(render('{{ spec.missing }}', { spec: {} })).toEqual({
      error: 'variable "{{ spec.missing }}" could not be resolved: unknown key "missing" in path',
    }));
  it('is an error inside text too', () =>
    expect(render('x {{ missing }}', {})).toEqual({ error: expect.stringContaining('could not be resolved') }));
  it('resolves with a default given by ||', () => expect(render("{{ missing || 'none' }}", {})).toBe('none'));
});

describe('when a value looks like a variable', () => {
  it('is not evaluated again, since attestation text must stay text', () =>
    expect(render('{{ text }}!', { text: '{{ secret }}', secret: 'leaked' })).toBe('{{ secret }}!'));
});

describe('when a variable does not compile', () => {
  it('is a compile error quoting it', () =>
    expect(render('{{ a.[ }}', {})).toEqual({ error: expect.stringContaining('"{{ a.[ }}"') }));
  it('refuses an empty variable', () =>
    expect(render('{{ }}', {})).toEqual({ error: expect.stringContaining('empty') }));
});

describe('when a function fails', () => {
  it('is an error naming the variable', () =>
    expect(render('{{ to_upper(replicas) }}', DATA)).toEqual({
      error: expect.stringContaining('failed to evaluate "{{ to_upper(replicas) }}"'),
    }));
});
