// Nested variables ("{{ f('{{ inner }}') }}"), as Kyverno evaluates them (pkg/engine/variables/vars.go,
// substituteVariablesIfAny: inner variables first, their values written into the outer text, then the outer), with
// the values written so that they cannot change the outer expression.
import type { AnyAllConditionsType } from '../api/v1/index.js';
import { withRun } from './evaluation-run.js';
import { nestedExpressions } from './expression-cache.js';
import { compileConditions, compileTextTemplate, evaluateConditions, substituteVariables } from './index.js';
import type { JsonValue } from './json-value.js';
import { MAX_NESTED_EXPRESSION_LENGTH, MAX_VARIABLE_NESTING } from './limits.js';
import { compileTemplate, renderTemplate } from './template.js';
import { WorkBudget } from './work-budget.js';

const NOW = { now: () => Date.parse('2026-12-01T00:00:00Z') };
const FIELD = 'spec.rules[0].verifyImages[0].attestations[0].conditions';

function render(text: string, data: unknown, budget = 8_000_000): JsonValue | { error: string } {
  const compiled = compileTemplate(text, 'f');
  if (!compiled.ok) return { error: compiled.error.map((e) => e.message).join('; ') };
  try {
    const run = { budget: new WorkBudget(budget), now: NOW.now };
    return withRun(run, () => renderTemplate(compiled.value, data as JsonValue, run));
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function verdict(blocks: unknown[], predicate: unknown) {
  const compiled = compileConditions(blocks as AnyAllConditionsType[], FIELD);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.error));
  return evaluateConditions(compiled.value, predicate, NOW);
}

const ORG = "{{ regex_match('^https://github.com/org/', '{{ subject }}') }}";

describe('when a function takes a nested variable as a string', () => {
  it.each([
    ['https://github.com/org/app/.github/workflows/build.yaml@refs/heads/main', true],
    ['https://github.com/other/app/.github/workflows/build.yaml@refs/heads/main', false],
  ])('regex_match sees the inner value %s and gives %s', (subject, want) =>
    expect(render(ORG, { subject })).toBe(want),
  );

  it('compares two nested timestamps with time_after and time_before', () => {
    const data = { a: { ts: '2026-11-02T10:00:00Z' }, b: { ts: '2026-11-01T10:00:00Z' } };
    expect(render("{{ time_after('{{ a.ts }}', '{{ b.ts }}') }}", data)).toBe(true);
    expect(render("{{ time_before('{{ a.ts }}', '{{ b.ts }}') }}", data)).toBe(false);
    expect(render("{{ time_before('{{ b.ts }}', '{{ a.ts }}') }}", data)).toBe(true);
  });

  it('keeps a string value as written, backslashes and quotes included', () => {
    for (const value of ["it's", 'C:\\dir\\', "\\'", "'\\", '"\\"', 'a`b', '{{ x }}', 'é ☃ \u0000 \ud800']) {
      expect(render("{{ to_string('{{ v }}') }}", { v: value, x: 'no' })).toBe(value);
      expect(render('{{ "{{ v }}" }}', { [value]: 'found', v: value })).toBe('found');
      expect(render('{{ `"{{ v }}"` }}', { v: value })).toBe(value);
    }
  });
});

describe('when the inner value is not a string', () => {
  it.each([
    [3, '3'],
    [2.5, '2.5'],
    [true, 'true'],
    [null, 'null'],
    [{ b: 1, a: '<x>' }, '{"a":"\\u003cx\\u003e","b":1}'],
    [['x', 1], '["x",1]'],
  ])('writes %j into a string literal as Go JSON, %s', (value, want) =>
    expect(render("{{ to_string('{{ v }}') }}", { v: value })).toBe(want),
  );

  it('reads a JSON literal as the JSON value', () => {
    expect(render('{{ `{{ v }}` }}', { v: { a: [1, 2] } })).toEqual({ a: [1, 2] });
    expect(render('{{ `{{ v }}` }}', { v: '[1,2]' })).toEqual([1, 2]);
    expect(render('{{ `{{ v }}` }}', { v: 'not json' })).toBe('not json');
    expect(render('{{ `[{{ a }}, {{ b }}]` }}', { a: 1, b: 'x' })).toEqual([1, 'x']);
  });

  it('uses an integer as an index', () =>
    expect(render('{{ items[{{ i }}] }}', { items: ['a', 'b', 'c'], i: 1 })).toBe('b'));
});

describe('when the inner variable is a path step, as in keys.data.{{ request.namespace }}', () => {
  const data = { keys: { data: { prod: 'PROD KEY', 'team-a': 'TEAM KEY' } }, request: { namespace: 'prod' } };
  it('reads the member the inner value names', () =>
    expect(render('{{ keys.data.{{ request.namespace }} }}', data)).toBe('PROD KEY'));
  it('reads a member whose name is no identifier (Kyverno would not parse keys.data.team-a)', () =>
    expect(render('{{ keys.data.{{ ns }} }}', { ...data, ns: 'team-a' })).toBe('TEAM KEY'));
  it('is an error when the member is missing, as in Kyverno', () =>
    expect(render('{{ keys.data.{{ ns }} }}', { ...data, ns: 'dev' })).toEqual({
      error: 'variable "{{ keys.data.{{ ns }} }}" could not be resolved: unknown key "dev" in path',
    }));
  it('works inside quotes too', () =>
    expect(render('{{ keys.data."{{ request.namespace }}" }}', data)).toBe('PROD KEY'));
  it('nests three levels deep', () =>
    expect(render('{{ keys.data.{{ names.{{ request.namespace }} }} }}', { ...data, names: { prod: 'team-a' } })).toBe(
      'TEAM KEY',
    ));
});

describe('when an inner variable cannot be resolved', () => {
  it('is an error naming the inner variable, as Kyverno\'s "variable ... not resolved"', () =>
    expect(render(ORG, {})).toEqual({
      error: 'variable "{{ subject }}" could not be resolved: unknown key "subject" in path',
    }));
  it('takes a default written with || inside the inner variable', () =>
    expect(render('{{ to_upper(\'{{ name || `"none"` }}\') }}', {})).toBe('NONE'));
  it('writes a null that is there as "null", as Kyverno does', () =>
    expect(render("{{ to_upper('{{ name }}') }}", { name: null })).toBe('NULL'));
});

describe('when the text has other variables and literal text around a nested one', () => {
  it('writes each value into the text', () =>
    expect(render("id={{ name }} org={{ regex_match('^o', '{{ org }}') }}!", { name: 'a', org: 'org1' })).toBe(
      'id=a org=true!',
    ));
  it('keeps the whole value of a text that is one nested variable', () =>
    expect(render('{{ keys.{{ k }} }}', { keys: { n: [1] }, k: 'n' })).toEqual([1]));
  it('reads {{- as {{', () => expect(render("{{- to_upper('{{- name }}') }}", { name: 'a' })).toBe('A'));
});

describe('when braces are escaped or unclosed', () => {
  it('keeps an unclosed {{ as text and still fills the variable inside it, as Kyverno', () =>
    expect(render("{{ to_upper('{{ name }}')", { name: 'a' })).toBe("{{ to_upper('a')"));
  it('keeps an escaped outer \\{{ as text and fills its inner variable, as Kyverno', () =>
    expect(render('\\{{ keys.{{ k }} }}', { k: 'n' })).toBe('{{ keys.n }}'));
  it('keeps an escaped inner \\{{ and the variable around it as text', () =>
    expect(render("{{ to_upper('\\{{ name }}') }}", { name: 'a' })).toBe("{{ to_upper('{{ name }}') }}"));
  it.each(['{{ {{ }', '{{ a {{ b }', '}} {{ {{ } {{', '{{{{{{'])('%j stays text', (text) =>
    expect(render(text, {})).toBe(text),
  );
});

describe('when a value tries to change the outer expression', () => {
  const injections = [
    "x') || true || ('",
    "x\\') || true || (\\'",
    "https://github.com/evil/' || 'https://github.com/org/",
    "'}}{{ `true` }}{{'",
    '"]) || `true` || (["',
    '`true`',
  ];
  it.each(injections)('a subject %j does not make regex_match true', (subject) =>
    expect(render(ORG, { subject })).toBe(false),
  );
  it.each(injections)('a subject %j in a quoted identifier names one member', (subject) =>
    expect(render('{{ allowed."{{ subject }}" || `false` }}', { subject, allowed: {} })).toBe(false),
  );
  it.each(injections)('a subject %j in expression position names one member', (subject) =>
    expect(render('{{ allowed.{{ subject }} || `false` }}', { subject, allowed: {} })).toBe(false),
  );
  it.each(injections)('a subject %j in a JSON string stays in it', (subject) =>
    expect(render('{{ contains(`["{{ subject }}"]`, \'true\') }}', { subject })).toBe(false),
  );

  it('does not change the verdict of a condition', () => {
    const blocks = [
      {
        all: [
          {
            key: "{{ regex_match('^https://github.com/org/', '{{ subject }}') }}",
            operator: 'Equals',
            value: true,
          },
        ],
      },
    ];
    expect(verdict(blocks, { subject: 'https://github.com/org/app' })).toEqual({ ok: true, value: { pass: true } });
    for (const subject of injections) {
      expect(verdict(blocks, { subject })).toEqual({
        ok: true,
        value: { pass: false, failures: [expect.objectContaining({ field: `${FIELD}[0].all[0]` })] },
      });
    }
  });
});

describe('when a condition uses nested variables in its key and value', () => {
  const blocks = [
    {
      all: [
        { key: "{{ time_after('{{ scan.finished }}', '{{ build.finished }}') }}", operator: 'Equals', value: true },
        { key: '{{ scanner }}', operator: 'Equals', value: "{{ allowed.{{ team }} || 'none' }}" },
      ],
    },
  ];
  const good = {
    scan: { finished: '2026-11-02T00:00:00Z' },
    build: { finished: '2026-11-01T00:00:00Z' },
    scanner: 'grype',
    team: 'a',
    allowed: { a: 'grype' },
  };
  it('passes when both hold', () => expect(verdict(blocks, good)).toEqual({ ok: true, value: { pass: true } }));
  it('fails when the scan is older than the build', () =>
    expect(verdict(blocks, { ...good, scan: { finished: '2026-10-01T00:00:00Z' } })).toEqual({
      ok: true,
      value: { pass: false, failures: [expect.objectContaining({ field: `${FIELD}[0].all[0]` })] },
    }));
  it('fails when the value made from a nested variable differs', () =>
    expect(verdict(blocks, { ...good, team: 'b' })).toEqual({
      ok: true,
      value: { pass: false, failures: [expect.objectContaining({ field: `${FIELD}[0].all[1]` })] },
    }));
  it('is an error when an inner key is missing', () =>
    expect(verdict(blocks, { ...good, scan: {} })).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0].key`, message: expect.stringContaining('"{{ scan.finished }}"') },
    }));
});

describe('when the policy compiles', () => {
  function compileError(text: string): string | undefined {
    const compiled = compileTextTemplate(text, 'spec.x');
    return compiled.ok ? undefined : compiled.error.map((e) => e.message).join('; ');
  }
  it('refuses an unknown function in the outer expression', () =>
    expect(compileError("{{ regexmatch('^a', '{{ subject }}') }}")).toContain('unknown function regexmatch()'));
  it('refuses an outer expression that does not parse', () =>
    expect(compileError("{{ regex_match('^a', '{{ subject }}' }}")).toContain('invalid JMESPath'));
  it('refuses an inner expression that does not parse, naming it', () =>
    expect(compileError("{{ regex_match('^a', '{{ a.[ }}') }}")).toContain('"{{ a.[ }}"'));
  it('accepts a bare inner variable where a name or an index fits', () => {
    expect(compileError('{{ a.{{ k }} }}')).toBeUndefined();
    expect(compileError('{{ a[{{ i }}] }}')).toBeUndefined();
    expect(compileError('{{ a.{{ k }}[{{ i }}] }}')).toBeUndefined();
  });
  it(`refuses variables nested more than ${MAX_VARIABLE_NESTING} levels deep`, () => {
    const nest = (depth: number): string => (depth === 1 ? '{{ a }}' : `{{ to_string('${nest(depth - 1)}') }}`);
    expect(compileError(nest(MAX_VARIABLE_NESTING))).toBeUndefined();
    expect(compileError(nest(MAX_VARIABLE_NESTING + 1))).toContain(`at most ${MAX_VARIABLE_NESTING}`);
  });
});

describe('when inputs are hostile in size', () => {
  it('scans a megabyte of braces in linear time', () => {
    for (const unit of ['{{', '{{ ', '{{ a {', '{{ {{ }', '\\{{ {{ x }}', '{{ a {{ b }}']) {
      const text = unit.repeat(Math.ceil((1 << 20) / unit.length));
      const started = Date.now();
      compileTemplate(text, 'f');
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });
  it('refuses an outer expression made longer than the limit', () =>
    expect(render("{{ length('{{ v }}') }}", { v: 'x'.repeat(MAX_NESTED_EXPRESSION_LENGTH) })).toEqual({
      error: expect.stringContaining(`longer than ${MAX_NESTED_EXPRESSION_LENGTH} characters`),
    }));
  it('compiles a long outer text within the budget, without caching it', () => {
    const before = nestedExpressions.size;
    expect(render("{{ length('{{ v }}') }}", { v: 'y'.repeat(30_000) })).toBe(30_000);
    expect(nestedExpressions.size).toBe(before);
  });
  it('charges compiling to the work budget', () =>
    expect(render("{{ length('{{ v }}') }}", { v: 'z'.repeat(30_000) }, 100_000)).toEqual({
      error: expect.stringContaining('work'),
    }));
  it('keeps the cache bounded however many distinct texts an attacker makes', () => {
    for (let i = 0; i < 1000; i++) render(ORG, { subject: `s${i}` });
    expect(nestedExpressions.size).toBeLessThanOrEqual(256);
  });
  it('rejects a value nested too deep to write as JSON', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1000; i++) deep = [deep];
    expect(render('{{ `{{ v }}` }}', { v: deep })).toEqual({ error: expect.stringContaining('nested deeper') });
  });
});

describe('when filled through substituteVariables', () => {
  it('evaluates nested variables in a message', () => {
    const template = compileTextTemplate(
      "subject {{ subject }} trusted: {{ regex_match('^o', '{{ subject }}') }}",
      'm',
    );
    if (!template.ok) throw new Error('did not compile');
    expect(substituteVariables(template.value, { subject: 'org' }, NOW)).toEqual({
      ok: true,
      value: 'subject org trusted: true',
    });
  });
});
