import type { AnyAllConditionsType } from '../api/v1/index.js';
import { compileConditions } from './index.js';

const FIELD = 'spec.rules[0].verifyImages[0].attestations[0].conditions';

function errorsOf(blocks: unknown[]): { field: string; message: string }[] {
  const result = compileConditions(blocks as AnyAllConditionsType[], FIELD);
  return result.ok ? [] : result.error;
}

describe('when the conditions are valid', () => {
  it('compiles them, keeping the field given', () => {
    const result = compileConditions(
      [{ all: [{ key: '{{ builder.id }}', operator: 'Equals', value: 'https://github.com/*' }] }],
      FIELD,
    );
    expect(result.ok && result.value.field).toBe(FIELD);
  });
  it('accepts every operator Kyverno knows, the deprecated spellings included', () => {
    const operators = [
      'Equals',
      'NotEquals',
      'In',
      'AnyIn',
      'AllIn',
      'NotIn',
      'AnyNotIn',
      'AllNotIn',
      'GreaterThan',
      'GreaterThanOrEquals',
      'LessThan',
      'LessThanOrEquals',
      'DurationGreaterThan',
      'DurationGreaterThanOrEquals',
      'DurationLessThan',
      'DurationLessThanOrEquals',
      'Equal',
      'NotEqual',
    ];
    expect(errorsOf([{ any: operators.map((operator) => ({ key: '{{ a }}', operator, value: '1h' })) }])).toEqual([]);
  });
  it('accepts blocks without conditions', () => expect(errorsOf([{}, { any: [] }])).toEqual([]));
});

describe('when an operator is unknown', () => {
  it('names the operator field', () =>
    expect(
      errorsOf([
        {
          all: [
            { key: 'a', operator: 'Equals', value: 'a' },
            { key: 'a', operator: 'Matches', value: 'a' },
          ],
        },
      ]),
    ).toEqual([
      { field: `${FIELD}[0].all[1].operator`, message: expect.stringContaining('unknown operator "Matches"') },
    ]));
  it('does not accept another case, which Kyverno would evaluate to false', () =>
    expect(errorsOf([{ any: [{ key: 'a', operator: 'equals', value: 'a' }] }])[0]?.field).toBe(
      `${FIELD}[0].any[0].operator`,
    ));
  it('reports a missing operator', () =>
    expect(errorsOf([{ any: [{ key: 'a', value: 'a' }] }])).toEqual([
      { field: `${FIELD}[0].any[0].operator`, message: expect.stringContaining('is required') },
    ]));
});

describe('when a variable does not compile', () => {
  it('names the key field', () =>
    expect(errorsOf([{ any: [{ key: '{{ a.[ }}', operator: 'Equals', value: 'x' }] }])).toEqual([
      { field: `${FIELD}[0].any[0].key`, message: expect.stringContaining('invalid JMESPath expression') },
    ]));
  it('names the value field, inside arrays too', () =>
    expect(errorsOf([{ any: [{ key: 'x', operator: 'AnyIn', value: ['ok', '{{ nope( }}'] }] }])[0]?.field).toBe(
      `${FIELD}[0].any[0].value[1]`,
    ));
  it('names the message field', () =>
    expect(errorsOf([{ any: [{ key: 'x', operator: 'Equals', value: 'x', message: 'bad {{ upper(x) }}' }] }])).toEqual([
      { field: `${FIELD}[0].any[0].message`, message: expect.stringContaining("Kyverno's is to_upper()") },
    ]));
  it('reports every problem at once', () =>
    expect(
      errorsOf([
        { any: [{ key: '{{ a.[ }}', operator: 'Nope', value: 'x' }] },
        { all: [{ key: '{{ frob(a) }}', operator: 'Equals', value: 'x' }] },
      ]).map((e) => e.field),
    ).toEqual([`${FIELD}[0].any[0].operator`, `${FIELD}[0].any[0].key`, `${FIELD}[1].all[0].key`]));
});

describe('when a literal can never satisfy its operator', () => {
  it('refuses a Duration operator with a value that is no duration', () =>
    expect(errorsOf([{ all: [{ key: '{{ age }}', operator: 'DurationLessThan', value: '1 day' }] }])).toEqual([
      { field: `${FIELD}[0].all[0].value`, message: expect.stringContaining('neither a Go duration') },
    ]));
  it('refuses In with a key array holding a non-string, where Kyverno panics', () =>
    expect(errorsOf([{ all: [{ key: ['a', 1], operator: 'In', value: ['a'] }] }])[0]?.field).toBe(
      `${FIELD}[0].all[0].key`,
    ));
});

describe('when a condition has a member Kyverno does not know', () => {
  it('names it, rather than ignoring a misspelt value', () =>
    expect(errorsOf([{ all: [{ key: 'a', operator: 'Equals', vaule: 'a' }] }])).toEqual([
      { field: `${FIELD}[0].all[0].vaule`, message: expect.stringContaining('unknown field') },
    ]));
});

describe('when a condition has no key', () => {
  it('is an error', () =>
    expect(errorsOf([{ all: [{ operator: 'Equals', value: 'a' }] }])[0]?.field).toBe(`${FIELD}[0].all[0].key`));
});
