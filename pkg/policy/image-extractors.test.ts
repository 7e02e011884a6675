import { isRegistered } from '@jmespath-community/jmespath';
import type { RuleType } from '../api/v1/index.js';
import {
  applyImageTransform,
  compileImageExtractors,
  MAX_PATH_FIELDS,
  MAX_TRANSFORM_INPUT_LENGTH,
  type CompiledImageExtractor,
  type ImageTransform,
} from './image-extractors.js';

const FIELD = 'spec.rules[0].imageExtractors';

function compiled(extractors: RuleType['imageExtractors']): Map<string, readonly CompiledImageExtractor[]> {
  const result = compileImageExtractors(extractors, FIELD);
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return new Map(result.value);
}

function errorsOf(extractors: RuleType['imageExtractors']) {
  const result = compileImageExtractors(extractors, FIELD);
  if (result.ok) throw new Error('expected the extractors not to compile');
  return result.error;
}

function transform(expression: string): ImageTransform {
  const t = compiled({ Task: [{ path: '/spec/image', jmesPath: expression }] }).get('Task')![0]!.transform;
  if (t === undefined) throw new Error('no transform');
  return t;
}

describe('compileImageExtractors', () => {
  describe('when the rule has none', () => {
    it('compiles to no extractors', () => {
      expect(compiled(undefined).size).toBe(0);
      expect(compiled({}).size).toBe(0);
    });
  });

  describe('when given a Tekton Task path', () => {
    it('walks to each step and reads its image, as the custom extractor keyed by pointer', () => {
      expect(compiled({ Task: [{ path: '/spec/steps/*/image' }] }).get('Task')).toEqual([
        { name: 'custom', fields: ['spec', 'steps', '*'], value: 'image' },
      ]);
    });
  });

  describe('when given value, key and name', () => {
    it('keeps the whole path as fields and reads value and key from each reached object', () => {
      const extractors = compiled({
        Bundle: [{ path: '/spec/components/*', value: 'image', key: 'name', name: 'components' }],
      });
      expect(extractors.get('Bundle')).toEqual([
        { name: 'components', fields: ['spec', 'components', '*'], value: 'image', key: 'name' },
      ]);
    });
  });

  describe('when the path has spaces around segments, doubled or trailing slashes', () => {
    it('trims spaces and drops empty segments, as Kyverno does', () => {
      expect(compiled({ Task: [{ path: '/spec// steps /*/image/' }] }).get('Task')![0]!.fields).toEqual([
        'spec',
        'steps',
        '*',
      ]);
    });
  });

  describe('when value, key, name or jmesPath are empty strings', () => {
    it('treats them as unset, as Go zero values are', () => {
      expect(
        compiled({ Task: [{ path: '/spec/image', value: '', key: '', name: '', jmesPath: '' }] }).get('Task'),
      ).toEqual([{ name: 'custom', fields: ['spec'], value: 'image' }]);
    });
  });

  describe('when a kind is named like an Object.prototype member', () => {
    it('is an ordinary kind, and other such names find nothing', () => {
      const extractors = compiled(JSON.parse('{"__proto__": [{"path": "/spec/image"}]}'));
      expect(extractors.get('__proto__')).toHaveLength(1);
      expect(extractors.get('constructor')).toBeUndefined();
    });
  });

  describe('when a path is not usable', () => {
    it.each([
      ['does not start with /', 'spec/steps/*/image', "must start with '/'"],
      ['has * inside a segment', '/spec/steps*/image', "'*' must be a whole segment"],
      ['names no field', '/', 'must name the field that holds the image'],
      ['ends in * with no value', '/spec/steps/*', "the field that holds the image cannot be '*'"],
      ['is too deep', `/${'a/'.repeat(MAX_PATH_FIELDS + 1)}image`, `at most ${MAX_PATH_FIELDS} segments`],
    ])('reports a path that %s, naming the field', (_what, path, message) => {
      expect(errorsOf({ Task: [{ path: '/spec/image' }, { path }] })).toEqual([
        { field: `${FIELD}.Task[1].path`, message: expect.stringContaining(message) },
      ]);
    });
  });

  describe('when value or key names more than one field', () => {
    it('reports value "*" and nested names, which Kyverno would accept and never match', () => {
      expect(
        errorsOf({
          A: [{ path: '/spec/x/*', value: '*' }],
          B: [{ path: '/spec/x/*', value: 'build/image', key: 'meta/name' }],
        }),
      ).toEqual([
        { field: `${FIELD}.A[0].value`, message: expect.stringContaining("cannot be '*'") },
        { field: `${FIELD}.B[0].value`, message: 'must name one field; put the fields above it in path' },
        { field: `${FIELD}.B[0].key`, message: 'must name one field of the objects that path reaches' },
      ]);
    });
  });

  describe('when a kind has an empty list', () => {
    it("reports Kyverno's 'no extractors found'", () => {
      expect(errorsOf({ Task: [] })).toEqual([{ field: `${FIELD}.Task`, message: 'no extractors found for Task' }]);
    });
  });

  describe('when a kind carries a group or version', () => {
    it('reports it, since Kyverno looks extractors up by the bare kind', () => {
      expect(errorsOf({ 'tekton.dev/v1/Task': [{ path: '/spec/steps/*/image' }] })).toEqual([
        { field: `${FIELD}.tekton.dev/v1/Task`, message: expect.stringContaining('without group or version') },
      ]);
    });
  });

  describe('when given a jmesPath', () => {
    it('compiles it once, Kyverno functions included', () => {
      const t = transform("trim_prefix(@, 'docker://')");
      expect(t.expression).toBe("trim_prefix(@, 'docker://')");
      expect(t.node).toMatchObject({ type: 'Function', name: 'trim_prefix' });
    });

    it('reports a syntax error, naming the field', () => {
      expect(errorsOf({ Task: [{ path: '/spec/image', jmesPath: 'trim_prefix(@, ' }] })).toEqual([
        {
          field: `${FIELD}.Task[0].jmesPath`,
          message: expect.stringMatching(/^invalid JMESPath expression "trim_prefix\(@, ": /),
        },
      ]);
    });

    it('reports a function it does not know, rather than failing every admission', () => {
      expect(errorsOf({ Task: [{ path: '/spec/image', jmesPath: "regex_replace_all('x', @, 'y')" }] })).toEqual([
        {
          field: `${FIELD}.Task[0].jmesPath`,
          message: expect.stringContaining('unknown function regex_replace_all()'),
        },
      ]);
    });

    it('does not mistake a literal that looks like a function call for one', () => {
      expect(transform('`{"type":"Function","name":"nope"}` && @').expression).toContain('nope');
    });
  });

  describe('when several things are wrong', () => {
    it('reports every one', () => {
      expect(
        errorsOf({
          Task: [{ path: 'spec' }, { path: '/spec/image', jmesPath: '[' }],
          Pipeline: [],
        }).map((e) => e.field),
      ).toEqual([`${FIELD}.Task[0].path`, `${FIELD}.Task[1].jmesPath`, `${FIELD}.Pipeline`]);
    });
  });
});

describe('applyImageTransform', () => {
  describe('when the expression yields a string', () => {
    it.each([
      ["trim_prefix(@, 'docker://')", 'docker://ghcr.io/acme/app:v1', 'ghcr.io/acme/app:v1'],
      ["trim_prefix(@, 'docker://')", 'ghcr.io/acme/app:v1', 'ghcr.io/acme/app:v1'],
      ["replace_all(@, 'mirror.local', 'ghcr.io')", 'mirror.local/a:1', 'ghcr.io/a:1'],
      ["replace_all(@, 'x', '$&')", 'axb', 'a$&b'],
      ["replace_all(@, '', '-')", 'ab', '-a-b-'],
      ['to_lower(@)', 'GHCR.IO/a', 'ghcr.io/a'],
      ['to_upper(@)', 'a', 'A'],
      ['trim(@)', '  nginx  ', 'nginx'],
    ])('%s turns %j into %j', (expression, input, output) => {
      expect(applyImageTransform(transform(expression), input)).toEqual({ ok: true, value: output });
    });
  });

  describe('when the expression yields something else', () => {
    it('is an error saying what came out', () => {
      expect(applyImageTransform(transform('length(@)'), 'nginx')).toEqual({
        ok: false,
        error: 'jmespath "length(@)" must produce a string, but produced 5',
      });
      expect(applyImageTransform(transform("split(@, ':')"), 'a:b')).toEqual({
        ok: false,
        error: `jmespath "split(@, ':')" must produce a string, but produced an array`,
      });
    });
  });

  describe('when the expression fails on the string', () => {
    it('is an error, not an exception', () => {
      const result = applyImageTransform(transform('abs(@)'), 'nginx');
      expect(result).toEqual({ ok: false, error: expect.stringMatching(/^failed to apply jmespath "abs\(@\)": /) });
    });
  });

  describe('when the string is longer than any image could be', () => {
    it('refuses it before the expression runs', () => {
      const result = applyImageTransform(
        transform("replace_all(@, '', 'xxxxxxxx')"),
        'a'.repeat(MAX_TRANSFORM_INPUT_LENGTH + 1),
      );
      expect(result).toEqual({ ok: false, error: `the image is longer than ${MAX_TRANSFORM_INPUT_LENGTH} characters` });
    });
  });

  it("leaves the library's shared function table alone", () => {
    transform("trim_prefix(@, 'x')");
    expect(isRegistered('trim_prefix')).toBe(false);
  });
});
