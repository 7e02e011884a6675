import { compileTextTemplate, substituteVariables } from './index.js';

const NOW = { now: () => 0 };

describe('substituting variables in text', () => {
  it('fills every variable, writing non-strings as JSON', () => {
    const template = compileTextTemplate('{{ name }} has {{ count }} findings: {{ ids }}', 'spec.x');
    if (!template.ok) throw new Error('did not compile');
    expect(substituteVariables(template.value, { name: 'app', count: 2, ids: ['a', 'b'] }, NOW)).toEqual({
      ok: true,
      value: 'app has 2 findings: ["a","b"]',
    });
  });
  it('writes a whole-variable object as JSON too', () => {
    const template = compileTextTemplate('{{ spec }}', 'spec.x');
    if (!template.ok) throw new Error('did not compile');
    expect(substituteVariables(template.value, { spec: { b: 1, a: 2 } }, NOW)).toEqual({
      ok: true,
      value: '{"a":2,"b":1}',
    });
  });
  it('reports an unresolvable variable with the field given', () => {
    const template = compileTextTemplate('{{ missing }}', 'spec.rules[0].message');
    if (!template.ok) throw new Error('did not compile');
    expect(substituteVariables(template.value, {}, NOW)).toEqual({
      ok: false,
      error: { field: 'spec.rules[0].message', message: expect.stringContaining('could not be resolved') },
    });
  });
  it('reports a variable that does not compile with the field given', () =>
    expect(compileTextTemplate('{{ ( }}', 'spec.rules[0].message')).toEqual({
      ok: false,
      error: [{ field: 'spec.rules[0].message', message: expect.stringContaining('invalid JMESPath') }],
    }));
});
