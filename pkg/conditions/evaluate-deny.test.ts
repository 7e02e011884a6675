import type { ImageVerificationType } from '../api/v1/index.js';
import { compileDeny, DEFAULT_DENY_MESSAGE, evaluateDeny, type CompiledDeny } from './index.js';

const FIELD = 'spec.rules[0].verifyImages[0].validate';
const NOW = { now: () => 0 };

function compiled(validate: unknown): CompiledDeny {
  const result = compileDeny(validate as ImageVerificationType['validate'], FIELD);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

const CONTEXT = {
  sbom: { components: [{ name: 'log4j', version: '2.14.1' }] },
  vulns: { critical: 2, ids: ['CVE-2021-44228'] },
};

describe('when there is no validate block, or no deny in it', () => {
  it('never denies', () => {
    expect(evaluateDeny(compiled(undefined), CONTEXT, NOW)).toEqual({ ok: true, value: { deny: false } });
    expect(evaluateDeny(compiled({ message: 'x' }), CONTEXT, NOW)).toEqual({ ok: true, value: { deny: false } });
  });
});

describe('when deny has no conditions', () => {
  it('always denies, as in Kyverno', () =>
    expect(evaluateDeny(compiled({ message: 'denied', deny: {} }), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: 'denied' },
    }));
});

describe('when the any/all conditions hold', () => {
  const validate = {
    message: 'image has {{ vulns.critical }} critical vulnerabilities',
    deny: {
      conditions: {
        any: [
          { key: '{{ vulns.critical }}', operator: 'GreaterThan', value: 0, message: 'critical: {{ vulns.ids }}' },
          { key: 'x', operator: 'Equals', value: 'x', message: 'not reached' },
        ],
      },
    },
  };
  it('denies with validate.message and the messages of the conditions that held', () =>
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: 'image has 2 critical vulnerabilities; critical: ["CVE-2021-44228"]' },
    }));
});

describe('when the conditions do not hold', () => {
  it('does not deny', () => {
    const validate = { deny: { conditions: { all: [{ key: '{{ vulns.critical }}', operator: 'Equals', value: 0 }] } } };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({ ok: true, value: { deny: false } });
  });
  it('does not resolve variables of conditions it does not reach', () => {
    const validate = {
      deny: {
        conditions: {
          all: [
            { key: 'a', operator: 'Equals', value: 'b' },
            { key: '{{ absent }}', operator: 'Equals', value: 'x' },
          ],
        },
      },
    };
    expect(evaluateDeny(compiled(validate), {}, NOW)).toEqual({ ok: true, value: { deny: false } });
  });
});

describe('when conditions are a plain list (the older form)', () => {
  it('denies when every one holds, joining their messages with ";"', () => {
    const validate = {
      deny: {
        conditions: [
          { key: '{{ sbom.components[].name }}', operator: 'AnyIn', value: ['log4j'], message: 'log4j' },
          { key: '{{ vulns.critical }}', operator: 'GreaterThan', value: 1, message: 'critical' },
        ],
      },
    };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: 'log4j;critical' },
    });
  });
  it('does not deny when one is false', () => {
    const validate = { deny: { conditions: [{ key: 'a', operator: 'Equals', value: 'b' }] } };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({ ok: true, value: { deny: false } });
  });
});

describe('when the denial has no message at all', () => {
  it("gives Kyverno's default", () => {
    const validate = { deny: { conditions: { all: [{ key: 'a', operator: 'Equals', value: 'a' }] } } };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: DEFAULT_DENY_MESSAGE },
    });
  });
});

describe('when the message cannot be filled in', () => {
  it("falls back to the conditions' messages as written", () => {
    const validate = {
      message: 'see {{ absent.field }}',
      deny: {
        conditions: { all: [{ key: 'a', operator: 'Equals', value: 'a', message: 'held: {{ vulns.critical }}' }] },
      },
    };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: 'held: {{ vulns.critical }}' },
    });
  });
  it('says so when a whole-variable message is not a string', () => {
    const validate = { message: '{{ vulns }}', deny: {} };
    expect(evaluateDeny(compiled(validate), CONTEXT, NOW)).toEqual({
      ok: true,
      value: { deny: true, message: expect.stringContaining("didn't resolve to a string") },
    });
  });
});

describe('when a condition cannot be evaluated', () => {
  it('is an error naming the field', () => {
    const validate = { deny: { conditions: { any: [{ key: '{{ absent }}', operator: 'Equals', value: 'x' }] } } };
    expect(evaluateDeny(compiled(validate), {}, NOW)).toEqual({
      ok: false,
      error: {
        field: `${FIELD}.deny.conditions.any[0].key`,
        message: expect.stringContaining('could not be resolved'),
      },
    });
  });
});

describe('compiling deny conditions', () => {
  function errorsOf(validate: unknown) {
    const result = compileDeny(validate as ImageVerificationType['validate'], FIELD);
    return result.ok ? [] : result.error;
  }
  it('names an unknown operator in the list form', () =>
    expect(errorsOf({ deny: { conditions: [{ key: 'a', operator: 'Is', value: 'b' }] } })[0]?.field).toBe(
      `${FIELD}.deny.conditions[0].operator`,
    ));
  it('names an unknown member of the any/all form, which Kyverno would silently treat as "always deny"', () =>
    expect(
      errorsOf({ deny: { conditions: { key: 'a', operator: 'Equals', value: 'b' } } }).map((e) => e.field),
    ).toEqual([`${FIELD}.deny.conditions.key`, `${FIELD}.deny.conditions.operator`, `${FIELD}.deny.conditions.value`]));
  it('refuses conditions that are neither a list nor an object', () =>
    expect(errorsOf({ deny: { conditions: 'always' } })[0]?.field).toBe(`${FIELD}.deny.conditions`));
  it('names a variable in validate.message that does not compile', () =>
    expect(errorsOf({ message: '{{ a.[ }}' })[0]?.field).toBe(`${FIELD}.message`));
});
