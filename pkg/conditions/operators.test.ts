import type { JsonValue } from './json-value.js';
import { MAX_COLLECTION_LENGTH } from './limits.js';
import { Operand } from './operand.js';
import { applyOperator, type ConditionOperator } from './operators.js';
import { KYVERNO_OPERATOR_CASES } from './testdata/kyverno-operator-cases.js';
import { WorkBudget } from './work-budget.js';

function holds(key: JsonValue, op: ConditionOperator, value: JsonValue): boolean {
  return applyOperator(op, new Operand(key), new Operand(value), new WorkBudget(10_000_000));
}

describe("Kyverno's own operator cases (evaluate_test.go)", () => {
  it.each(
    KYVERNO_OPERATOR_CASES.map(([key, op, value, want]) => [
      JSON.stringify(key),
      op,
      JSON.stringify(value),
      want,
      key,
      value,
    ]),
  )('decides %s %s %s as %s', (_k, op, _v, want, key, value) => {
    expect(holds(key as JsonValue, op as ConditionOperator, value as JsonValue)).toBe(want);
  });
});

describe('Equals', () => {
  describe('when the key is a number and the value a string', () => {
    it('reads the string as a number', () => expect(holds(1, 'Equals', '1')).toBe(true));
    it('reads it with strconv.ParseFloat, exponents included', () => expect(holds(1000, 'Equals', '1e3')).toBe(true));
    it('is false for a string that is no number', () => expect(holds(1, 'Equals', 'one')).toBe(false));
  });
  describe('when the key is a string and the value a number', () => {
    it('is false even for the same digits, since the key decides', () => expect(holds('1', 'Equals', 1)).toBe(false));
    it('compares durations as seconds', () => expect(holds('1h', 'Equals', 3600)).toBe(true));
  });
  describe('when both sides are quantities', () => {
    it('compares their values', () => expect(holds('1Gi', 'Equals', '1024Mi')).toBe(true));
    it('compares a plain number string as a quantity', () => expect(holds('1000', 'Equals', '1k')).toBe(true));
  });
  describe('when the key is a quantity and the value is not', () => {
    it('is false without trying wildcards', () => expect(holds('1', 'Equals', '1*')).toBe(false));
  });
  describe('when the value is a wildcard pattern', () => {
    it('matches * across slashes and colons', () =>
      expect(holds('ghcr.io/org/app:v1', 'Equals', 'ghcr.io/org/*')).toBe(true));
    it('matches ? as exactly one character', () => expect(holds('v10', 'Equals', 'v?')).toBe(false));
    it('takes wildcards in the key literally', () => expect(holds('ghcr.io/*', 'Equals', 'ghcr.io/org')).toBe(false));
  });
  describe('when the key is a boolean', () => {
    it('equals only the same boolean', () => expect(holds(true, 'Equals', 'true')).toBe(false));
  });
  describe('when the key is null', () => {
    it('is false, even against null', () => expect(holds(null, 'Equals', null)).toBe(false));
  });
  describe('when both sides are objects', () => {
    it('compares them deeply, in any member order', () =>
      expect(holds({ a: [1, { b: 'c' }], d: true }, 'Equals', { d: true, a: [1, { b: 'c' }] })).toBe(true));
    it('is false when a nested value differs', () => expect(holds({ a: [1] }, 'Equals', { a: [2] })).toBe(false));
  });
  describe('when the key is an array and the value is not', () => {
    it('is false', () => expect(holds(['a'], 'Equals', 'a')).toBe(false));
  });
  describe('when a number key is compared with a duration string', () => {
    it('counts the number in whole seconds, dropping its fraction as Go does', () =>
      expect(holds(1.5, 'Equals', '1s')).toBe(false));
  });
  describe('with the deprecated spelling Equal', () => {
    it('behaves as Equals', () => expect(holds('a', 'Equal', 'a')).toBe(true));
  });
});

describe('NotEquals', () => {
  describe('when the types do not match', () => {
    it('holds for a boolean key and a string value', () => expect(holds(true, 'NotEquals', 'true')).toBe(true));
    it('holds for a string key and a number value', () => expect(holds('a', 'NotEquals', 1)).toBe(true));
    it('holds for an object key and an array value', () => expect(holds({}, 'NotEquals', [])).toBe(true));
  });
  describe('when the key is null', () => {
    it('is false, as Kyverno has no handler for it', () => expect(holds(null, 'NotEquals', 'x')).toBe(false));
  });
  describe('when the key is a quantity and the value the empty string', () => {
    it('holds', () => expect(holds('1Gi', 'NotEquals', '')).toBe(true));
  });
  describe('when the key is a quantity and the value no quantity', () => {
    it('holds', () => expect(holds('1Gi', 'NotEquals', '1G*')).toBe(true));
  });
  describe('when the value is a matching wildcard', () => {
    it('is false', () => expect(holds('ghcr.io/org/app', 'NotEquals', 'ghcr.io/*')).toBe(false));
  });
  describe('with the deprecated spelling NotEqual', () => {
    it('behaves as NotEquals', () => expect(holds('a', 'NotEqual', 'b')).toBe(true));
  });
});

describe('the ordering operators', () => {
  describe('when the key is a quantity and the value a smaller one', () => {
    it('is greater', () => expect(holds('1Gi', 'GreaterThan', '512Mi')).toBe(true));
    it('is not less', () => expect(holds('1Gi', 'LessThan', '512Mi')).toBe(false));
  });
  describe('when both sides are durations', () => {
    it('compares them', () => expect(holds('90m', 'GreaterThan', '1h')).toBe(true));
    it('treats a number on the other side as seconds', () => expect(holds('30m', 'LessThan', 3600)).toBe(true));
  });
  describe('when the key is a number and the value a numeric string', () => {
    it('reads the string', () => expect(holds(10, 'GreaterThanOrEquals', '10')).toBe(true));
  });
  describe('when the key is a string that reads as a number and the value a number', () => {
    it('compares as numbers', () => expect(holds('1e3', 'GreaterThan', 999)).toBe(true));
  });
  describe('when both sides are semantic versions', () => {
    it('compares them as versions, not as text', () => expect(holds('1.10.0', 'GreaterThan', '1.9.2')).toBe(true));
    it('ranks a pre-release below its release', () => expect(holds('1.0.0-rc.1', 'LessThan', '1.0.0')).toBe(true));
  });
  describe('when the key is a plain word', () => {
    it('is never greater or smaller', () => {
      expect(holds('abc', 'GreaterThan', 'abb')).toBe(false);
      expect(holds('abc', 'LessThan', 'abd')).toBe(false);
    });
  });
  describe('when the key is a boolean, null, an array or an object', () => {
    it.each([true, null, [1], { a: 1 }])('is false for %j', (key) =>
      expect(holds(key as JsonValue, 'GreaterThan', 0)).toBe(false),
    );
  });
  describe('when the sides are equal', () => {
    it('holds for the inclusive operators only', () => {
      expect(holds(5, 'GreaterThanOrEquals', 5)).toBe(true);
      expect(holds(5, 'LessThanOrEquals', 5)).toBe(true);
      expect(holds(5, 'GreaterThan', 5)).toBe(false);
      expect(holds(5, 'LessThan', 5)).toBe(false);
    });
  });
});

describe('the Duration operators', () => {
  it.each([
    ['2h', 'DurationGreaterThan', '1h', true],
    ['1h', 'DurationGreaterThan', '1h', false],
    ['1h', 'DurationGreaterThanOrEquals', '60m', true],
    ['30m', 'DurationLessThan', '1h', true],
    ['1h', 'DurationLessThanOrEquals', '3600s', true],
    [3600, 'DurationGreaterThanOrEquals', '1h', true],
    ['1h', 'DurationLessThan', 7200, true],
    [90.9, 'DurationGreaterThan', '90s', false],
    ['1h', 'DurationGreaterThan', 'soon', false],
    ['soon', 'DurationLessThan', '1h', false],
    [true, 'DurationLessThan', '1h', false],
  ] as const)('decide %j %s %j as %s', (key, op, value, want) => expect(holds(key, op, value)).toBe(want));
});

describe('In and NotIn (deprecated)', () => {
  describe('when the key is a string and the value an array', () => {
    it('finds it by wildcard in either direction', () => {
      expect(holds('ghcr.io/org/app', 'In', ['ghcr.io/*'])).toBe(true);
      expect(holds('ghcr.io/*', 'In', ['ghcr.io/org/app'])).toBe(true);
    });
  });
  describe('when the value is a JSON array in a string', () => {
    it('looks the key up exactly', () => {
      expect(holds('b', 'In', '["a", "b"]')).toBe(true);
      expect(holds('b*', 'In', '["a", "bc"]')).toBe(false);
    });
  });
  describe('when the value is a string that is not JSON and does not match', () => {
    it('makes both In and NotIn false', () => {
      expect(holds('x', 'In', 'y')).toBe(false);
      expect(holds('x', 'NotIn', 'y')).toBe(false);
    });
  });
  describe('when the key is an array', () => {
    it('needs every element in the value, compared exactly', () => {
      expect(holds(['a', 'b'], 'In', ['a', 'b', 'c'])).toBe(true);
      expect(holds(['a*'], 'In', ['ab'])).toBe(false);
    });
    it('refuses elements that are not strings, where Kyverno would panic', () =>
      expect(() => holds(['a', 1], 'In', ['a'])).toThrow('element 1 is not a string'));
    it('holds NotIn when one element is outside the value', () => expect(holds(['a', 'z'], 'NotIn', ['a'])).toBe(true));
  });
  describe('when a single-element key equals the string value', () => {
    it('holds for NotIn too, as in Kyverno', () => expect(holds(['a'], 'NotIn', 'a')).toBe(true));
  });
});

describe('AnyIn, AllIn, AnyNotIn and AllNotIn', () => {
  describe('when numbers are compared with strings', () => {
    it('prints numbers as Go does, so 1000000 is "1e+06"', () => {
      expect(holds(1000000, 'AnyIn', ['1e+06'])).toBe(true);
      expect(holds(1000000, 'AnyIn', ['1000000'])).toBe(false);
    });
    it('prints whole numbers without a fraction', () => expect(holds([1, 2], 'AllIn', ['1', '2', '3'])).toBe(true));
  });
  describe('when the value is a range', () => {
    it('holds a number inside it', () => expect(holds(5, 'AnyIn', '1-10')).toBe(true));
    it('compares quantities at its ends', () => expect(holds('1536Mi', 'AnyIn', '1Gi-2Gi')).toBe(true));
    it('checks every key element for AllIn', () => expect(holds([3, 12], 'AllIn', '1-10')).toBe(false));
    it('finds a key element outside it for AnyNotIn', () => expect(holds([3, 12], 'AnyNotIn', '1-10')).toBe(true));
    it('finds none inside it for AllNotIn', () => expect(holds([11, 12], 'AllNotIn', '1-10')).toBe(true));
  });
  describe('when a key element is a wildcard', () => {
    it('matches any value element: an attestation can satisfy AllIn with "*"', () =>
      expect(holds(['*'], 'AllIn', ['MIT', 'Apache-2.0'])).toBe(true));
  });
  describe('when the value is a string that is not JSON', () => {
    it('is a list of that one string', () => expect(holds(['MIT', 'GPL'], 'AnyIn', 'MIT')).toBe(true));
  });
  describe('when the value is JSON but not a list of strings', () => {
    it('makes every operator false', () => {
      expect(holds(['a'], 'AnyIn', '{"a": 1}')).toBe(false);
      expect(holds(['a'], 'AnyNotIn', '{"a": 1}')).toBe(false);
    });
  });
  describe('when the value is a number', () => {
    it('is a one-element list for AnyIn with an array key', () => expect(holds([1, 2], 'AnyIn', 2)).toBe(true));
    it('makes AllIn false', () => expect(holds([2], 'AllIn', 2)).toBe(false));
  });
  describe('when the key is an empty array', () => {
    it('holds AllIn and AllNotIn, and not AnyIn', () => {
      expect(holds([], 'AllIn', ['a'])).toBe(true);
      expect(holds([], 'AllNotIn', ['a'])).toBe(true);
      expect(holds([], 'AnyIn', ['a'])).toBe(false);
    });
  });
  describe('when the key is an object or null', () => {
    it('makes every operator false', () => {
      for (const op of ['AnyIn', 'AllIn', 'AnyNotIn', 'AllNotIn'] as const) {
        expect(holds({ a: 1 }, op, ['a'])).toBe(false);
        expect(holds(null, op, ['a'])).toBe(false);
      }
    });
  });
  describe('when an array is longer than the limit', () => {
    it('is an evaluation error rather than a long comparison', () => {
      const many = Array.from({ length: MAX_COLLECTION_LENGTH + 1 }, (_, i) => `v${i}`);
      expect(() => holds(many, 'AnyIn', ['x'])).toThrow('more than');
    });
  });
});
