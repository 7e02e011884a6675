// Attestation predicates are chosen by whoever signed them. These tests feed conditions data built to be expensive
// or confusing, and check that evaluation stays bounded, never throws, and never treats data as policy.
import type { AnyAllConditionsType } from '../api/v1/index.js';
import { compileConditions, evaluateConditions, type CompiledConditions } from './index.js';

const FIELD = 'spec.rules[0].verifyImages[0].attestations[0].conditions';
const NOW = { now: () => 0 };

function compiled(blocks: unknown[]): CompiledConditions {
  const result = compileConditions(blocks as AnyAllConditionsType[], FIELD);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.value;
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function timed<T>(body: () => T): { result: T; ms: number } {
  const started = Date.now();
  const result = body();
  return { result, ms: Date.now() - started };
}

describe('when the predicate is nested far deeper than any real document', () => {
  it('compares it deeply without overflowing, and fails with an error', () => {
    const conditions = compiled([{ all: [{ key: '{{ doc }}', operator: 'Equals', value: '{{ other }}' }] }]);
    const result = evaluateConditions(conditions, { doc: nested(10_000), other: nested(10_000) }, NOW);
    expect(result).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0]`, message: expect.stringContaining('nested deeper') },
    });
  });
  it("survives the JMESPath library's own recursion (==) and reports it", () => {
    const conditions = compiled([{ all: [{ key: '{{ doc == other }}', operator: 'Equals', value: true }] }]);
    const result = evaluateConditions(conditions, { doc: nested(200_000), other: nested(200_000) }, NOW);
    expect(result.ok).toBe(false);
  });
  it('refuses to embed it into text', () => {
    const conditions = compiled([{ all: [{ key: 'doc: {{ doc }}', operator: 'Equals', value: 'x' }] }]);
    expect(evaluateConditions(conditions, { doc: nested(500) }, NOW).ok).toBe(false);
  });
});

describe('when the predicate holds huge strings', () => {
  it('refuses to grow them past the limit', () => {
    const conditions = compiled([
      { all: [{ key: "{{ replace_all(text, 'a', text) }}", operator: 'Equals', value: 'x' }] },
    ]);
    const result = evaluateConditions(conditions, { text: 'a'.repeat(10_000) }, NOW);
    expect(result).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0].key`, message: expect.stringContaining('characters') },
    });
  });
  it('quotes only a short, clean part of them in messages', () => {
    const conditions = compiled([{ all: [{ key: '{{ id }}', operator: 'Equals', value: 'trusted' }] }]);
    const result = evaluateConditions(conditions, { id: `evil\u001b[2J\u202e${'x'.repeat(100_000)}` }, NOW);
    const message = result.ok && !result.value.pass ? result.value.failures[0]!.message : '';
    expect(message.length).toBeLessThan(400);
    expect(message).not.toContain('\u001b');
    expect(message).not.toContain('\u202e');
  });
  it('sanitises a message that embeds them', () => {
    const conditions = compiled([{ all: [{ key: 'a', operator: 'Equals', value: 'b', message: 'bad id {{ id }}' }] }]);
    const result = evaluateConditions(conditions, { id: `\n\u2028forged log line${'y'.repeat(5_000)}` }, NOW);
    const message = result.ok && !result.value.pass ? result.value.failures[0]!.message : '';
    expect(message.length).toBeLessThanOrEqual(1025);
    expect(message).not.toContain('\n');
  });
});

describe('when the predicate holds huge arrays', () => {
  it('stops a projection that would run too long, with an error', () => {
    const items = Array.from({ length: 600_000 }, (_, i) => ({ name: `n${i}`, license: 'MIT' }));
    const conditions = compiled([
      { all: [{ key: "{{ items[?license == 'MIT'].name }}", operator: 'AnyIn', value: ['x'] }] },
    ]);
    const { result, ms } = timed(() => evaluateConditions(conditions, { items }, NOW));
    expect(result).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0].key`, message: expect.stringContaining('more work') },
    });
    expect(ms).toBeLessThan(5_000);
  });
  it('refuses to compare arrays longer than the limit element by element', () => {
    const conditions = compiled([{ all: [{ key: '{{ licenses }}', operator: 'AllIn', value: ['MIT'] }] }]);
    const result = evaluateConditions(conditions, { licenses: Array(20_000).fill('MIT') }, NOW);
    expect(result).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0]`, message: expect.stringContaining('more than') },
    });
  });
  it('bounds wildcard matching in both directions', () => {
    const conditions = compiled([{ all: [{ key: '{{ keys }}', operator: 'AnyIn', value: '{{ values }}' }] }]);
    const keys = Array(5_000).fill(`*${'a'.repeat(200)}b`);
    const values = Array(5_000).fill('a'.repeat(300));
    const { result, ms } = timed(() => evaluateConditions(conditions, { keys, values }, NOW));
    expect(result.ok).toBe(false);
    expect(ms).toBeLessThan(5_000);
  });
});

describe('when the predicate uses names JavaScript gives meaning to', () => {
  it('does not find Object.prototype members', () => {
    const conditions = compiled([{ all: [{ key: '{{ toString }}', operator: 'Equals', value: 'x' }] }]);
    expect(evaluateConditions(conditions, {}, NOW)).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0].key`, message: expect.stringContaining('unknown key "toString"') },
    });
  });
  it('keeps a __proto__ member as data when comparing', () => {
    const predicate = JSON.parse('{"__proto__": {"admin": true}, "x": 1}') as unknown;
    const conditions = compiled([
      {
        all: [
          { key: '{{ merge(@, `{}`) }}', operator: 'Equals', value: '{{ @ }}' },
          { key: '{{ admin || `false` }}', operator: 'Equals', value: false },
        ],
      },
    ]);
    expect(evaluateConditions(conditions, predicate, NOW)).toEqual({ ok: true, value: { pass: true } });
  });
  it('does not treat an object with an expref member as an expression', () => {
    const conditions = compiled([{ all: [{ key: '{{ length(keys(o)) }}', operator: 'Equals', value: 3 }] }]);
    expect(evaluateConditions(conditions, { o: { expref: true, type: 'Field', name: 'x' } }, NOW)).toEqual({
      ok: true,
      value: { pass: true },
    });
  });
});

describe('when the predicate carries text that looks like a variable', () => {
  it('does not evaluate it', () => {
    const conditions = compiled([{ all: [{ key: 'id={{ id }}', operator: 'Equals', value: 'id={{ secret }}' }] }]);
    const result = evaluateConditions(conditions, { id: '{{ secret }}', secret: 's3cr3t' }, NOW);
    expect(result.ok && result.value.pass).toBe(false);
  });
});

describe('when the predicate is not JSON the webhook expects', () => {
  it.each([undefined, null, 'text', 42, [1, 2]])('evaluates against %j without throwing', (predicate) => {
    const conditions = compiled([
      {
        any: [
          { key: '{{ a.b }}', operator: 'Equals', value: 'x' },
          { key: '{{ @ }}', operator: 'Equals', value: 'x' },
        ],
      },
    ]);
    expect(() => evaluateConditions(conditions, predicate, NOW)).not.toThrow();
  });
});

describe('when the regular expression comes from the predicate', () => {
  it('compiles it with RE2 limits and reports what RE2 refuses', () => {
    const conditions = compiled([
      { all: [{ key: '{{ regex_match(pattern, text) }}', operator: 'Equals', value: true }] },
    ]);
    const result = evaluateConditions(conditions, { pattern: '((a{1000}){1000}){1000}', text: 'a' }, NOW);
    expect(result).toEqual({
      ok: false,
      error: { field: `${FIELD}[0].all[0].key`, message: expect.stringContaining('regex_match') },
    });
  });
  it('refuses a pattern longer than the limit', () => {
    const conditions = compiled([
      { all: [{ key: '{{ regex_match(pattern, text) }}', operator: 'Equals', value: true }] },
    ]);
    const result = evaluateConditions(conditions, { pattern: 'a'.repeat(5_000), text: 'a' }, NOW);
    expect(result.ok).toBe(false);
  });
});
