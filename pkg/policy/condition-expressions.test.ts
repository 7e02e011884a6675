import { findExpressionErrors } from './condition-expressions.js';

describe('findExpressionErrors', () => {
  describe('when every variable parses', () => {
    it('finds nothing, Kyverno functions and nested values included', () => {
      const errors = findExpressionErrors(
        [
          {
            all: [
              { key: '{{ repo.uri }}', operator: 'Equals', value: 'https://github.com/example/app' },
              { key: "{{ regex_match('^v1', version) }}", operator: 'Equals', value: true },
              { key: '{{ components[].licenses[].expression }}', operator: 'AllIn', value: ['MIT', '{{ @ }}'] },
            ],
          },
        ],
        'spec.rules[0].verifyImages[0].attestations[0].conditions',
      );
      expect(errors).toEqual([]);
    });
  });

  describe('when a variable does not parse', () => {
    it('names the field and the expression', () => {
      const errors = findExpressionErrors(
        [{ any: [{ key: 'x', operator: 'In', value: { list: ['ok', 'prefix {{ repo.[uri }}'] } }] }],
        'c',
      );
      expect(errors).toEqual([
        {
          field: 'c[0].any[0].value.list[1]',
          message: expect.stringMatching(/^invalid JMESPath expression "repo\.\[uri": Syntax error/),
        },
      ]);
    });
  });
});
