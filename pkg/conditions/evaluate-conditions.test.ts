import type { AnyAllConditionsType } from '../api/v1/index.js';
import { compileConditions, evaluateConditions, type CompiledConditions } from './index.js';

const FIELD = 'spec.rules[0].verifyImages[0].attestations[0].conditions';
const NOW = { now: () => Date.parse('2024-05-06T07:08:09Z') };

function compiled(blocks: unknown[]): CompiledConditions {
  const result = compileConditions(blocks as AnyAllConditionsType[], FIELD);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

const SLSA = {
  builder: {
    id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_go_slsa3.yml@refs/tags/v1.9.0',
  },
  buildType: 'https://github.com/slsa-framework/slsa-github-generator/go@v1',
  invocation: { configSource: { uri: 'git+https://github.com/org/app@refs/heads/main' } },
  metadata: { buildFinishedOn: '2024-05-06T06:00:00Z', completeness: { parameters: true } },
  materials: [{ uri: 'git+https://github.com/org/app' }, { uri: 'https://proxy.golang.org' }],
};

describe('when every condition holds', () => {
  it('passes', () => {
    const conditions = compiled([
      {
        all: [
          { key: '{{ builder.id }}', operator: 'Equals', value: 'https://github.com/slsa-framework/*' },
          { key: '{{ metadata.completeness.parameters }}', operator: 'Equals', value: true },
          { key: "{{ time_since('', metadata.buildFinishedOn, '') }}", operator: 'LessThan', value: '24h' },
          { key: '{{ materials[].uri }}', operator: 'AnyIn', value: ['git+https://github.com/org/*'] },
        ],
      },
    ]);
    expect(evaluateConditions(conditions, SLSA, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
});

describe('when an all condition is false', () => {
  it("fails with the condition's own message", () => {
    const conditions = compiled([
      {
        all: [
          {
            key: '{{ buildType }}',
            operator: 'Equals',
            value: 'https://example.com/other',
            message: 'unexpected build type',
          },
        ],
      },
    ]);
    expect(evaluateConditions(conditions, SLSA, NOW)).toEqual({
      ok: true,
      value: { pass: false, failures: [{ field: `${FIELD}[0].all[0]`, message: 'unexpected build type' }] },
    });
  });
  it('fills variables into the message', () => {
    const conditions = compiled([
      {
        all: [
          {
            key: '{{ buildType }}',
            operator: 'Equals',
            value: 'x',
            message: 'build type {{ buildType }} is not allowed',
          },
        ],
      },
    ]);
    const result = evaluateConditions(conditions, SLSA, NOW);
    expect(result.ok && !result.value.pass && result.value.failures[0]?.message).toBe(
      'build type https://github.com/slsa-framework/slsa-github-generator/go@v1 is not allowed',
    );
  });
  it('names the key, operator, value and what the key resolved to when there is no message', () => {
    const conditions = compiled([
      { all: [{ key: '{{ builder.id }}', operator: 'Equals', value: 'https://trusted/*' }] },
    ]);
    const result = evaluateConditions(conditions, { builder: { id: 'https://evil' } }, NOW);
    expect(result.ok && !result.value.pass && result.value.failures[0]?.message).toBe(
      '"{{ builder.id }}" Equals "https://trusted/*" is false: the key resolved to "https://evil"',
    );
  });
  it('stops at the first false all condition', () => {
    const conditions = compiled([
      {
        all: [
          { key: 'a', operator: 'Equals', value: 'b', message: 'first' },
          { key: 'a', operator: 'Equals', value: 'c', message: 'second' },
        ],
      },
    ]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(result.ok && !result.value.pass && result.value.failures.map((f) => f.message)).toEqual(['first']);
  });
});

describe('when no any condition holds', () => {
  it('fails with the message of each', () => {
    const conditions = compiled([
      {
        any: [
          { key: 'a', operator: 'Equals', value: 'b', message: 'not b' },
          { key: 'a', operator: 'Equals', value: 'c', message: 'not c' },
        ],
      },
    ]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(result.ok && !result.value.pass && result.value.failures).toEqual([
      { field: `${FIELD}[0].any[0]`, message: 'not b' },
      { field: `${FIELD}[0].any[1]`, message: 'not c' },
    ]);
  });
  it('passes as soon as one holds', () => {
    const conditions = compiled([
      {
        any: [
          { key: 'a', operator: 'Equals', value: 'b' },
          { key: 'a', operator: 'Equals', value: 'a' },
        ],
      },
    ]);
    expect(evaluateConditions(conditions, {}, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
  it('fails for an empty any list, as in Kyverno', () => {
    const result = evaluateConditions(compiled([{ any: [] }]), {}, NOW);
    expect(result).toEqual({
      ok: true,
      value: {
        pass: false,
        failures: [{ field: `${FIELD}[0].any`, message: expect.stringContaining('no conditions') }],
      },
    });
  });
});

describe('when a block has both any and all', () => {
  it('needs both to hold', () => {
    const conditions = compiled([
      {
        any: [{ key: 'a', operator: 'Equals', value: 'a' }],
        all: [{ key: 'a', operator: 'Equals', value: 'z', message: 'all failed' }],
      },
    ]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(result.ok && !result.value.pass && result.value.failures.map((f) => f.message)).toEqual(['all failed']);
  });
});

describe('when there are several blocks', () => {
  it('ANDs them, reporting the first that fails', () => {
    const conditions = compiled([
      { all: [{ key: 'a', operator: 'Equals', value: 'a' }] },
      { all: [{ key: 'a', operator: 'Equals', value: 'b', message: 'second block' }] },
      { all: [{ key: 'a', operator: 'Equals', value: 'c', message: 'third block' }] },
    ]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(result.ok && !result.value.pass && result.value.failures).toEqual([
      { field: `${FIELD}[1].all[0]`, message: 'second block' },
    ]);
  });
  it('passes when there are none', () =>
    expect(evaluateConditions(compiled([]), {}, NOW)).toEqual({ ok: true, value: { pass: true } }));
});

describe('when a variable cannot be resolved', () => {
  it('is an error naming the key field', () => {
    const conditions = compiled([{ all: [{ key: '{{ builder.missing }}', operator: 'Equals', value: 'x' }] }]);
    expect(evaluateConditions(conditions, SLSA, NOW)).toEqual({
      ok: false,
      error: {
        field: `${FIELD}[0].all[0].key`,
        message: 'variable "{{ builder.missing }}" could not be resolved: unknown key "missing" in path',
      },
    });
  });
  it('is an error even in a condition that would not be reached, since Kyverno substitutes everything first', () => {
    const conditions = compiled([
      {
        any: [
          { key: 'a', operator: 'Equals', value: 'a' },
          { key: '{{ absent }}', operator: 'Equals', value: 'x' },
        ],
      },
    ]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(!result.ok && result.error.field).toBe(`${FIELD}[0].any[1].key`);
  });
  it('is an error in a message, naming the message field', () => {
    const conditions = compiled([{ all: [{ key: 'a', operator: 'Equals', value: 'a', message: '{{ absent }}' }] }]);
    const result = evaluateConditions(conditions, {}, NOW);
    expect(!result.ok && result.error.field).toBe(`${FIELD}[0].all[0].message`);
  });
  it('resolves with a default', () => {
    const conditions = compiled([{ all: [{ key: "{{ absent || 'none' }}", operator: 'Equals', value: 'none' }] }]);
    expect(evaluateConditions(conditions, {}, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
});

describe('when a member is present but null', () => {
  it('compares null, which equals nothing', () => {
    const conditions = compiled([{ all: [{ key: '{{ a }}', operator: 'Equals', value: null }] }]);
    const result = evaluateConditions(conditions, { a: null }, NOW);
    expect(result.ok && result.value.pass).toBe(false);
  });
});

describe('when a function gets the wrong type', () => {
  it('is an error naming the value field', () => {
    const conditions = compiled([{ all: [{ key: 'x', operator: 'Equals', value: '{{ to_upper(n) }}' }] }]);
    const result = evaluateConditions(conditions, { n: 1 }, NOW);
    expect(!result.ok && result.error).toEqual({
      field: `${FIELD}[0].all[0].value`,
      message: expect.stringContaining('failed to evaluate "{{ to_upper(n) }}"'),
    });
  });
});

describe('when the key and value are whole variables', () => {
  it('compares their JSON values', () => {
    const conditions = compiled([{ all: [{ key: '{{ count }}', operator: 'GreaterThan', value: '{{ limit }}' }] }]);
    expect(evaluateConditions(conditions, { count: 5, limit: 3 }, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
  it('compares arrays deeply', () => {
    const conditions = compiled([{ all: [{ key: '{{ a }}', operator: 'Equals', value: ['x', { y: 1 }] }] }]);
    expect(evaluateConditions(conditions, { a: ['x', { y: 1 }] }, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
});

describe('when the condition uses the evaluation clock', () => {
  it('reads now from the options', () => {
    const conditions = compiled([
      { all: [{ key: '{{ time_now_utc() }}', operator: 'Equals', value: '2024-05-06T07:08:09Z' }] },
    ]);
    expect(evaluateConditions(conditions, {}, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
});
