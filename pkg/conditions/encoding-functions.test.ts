import { MAX_PARSE_JSON_LENGTH, MAX_PARSE_YAML_LENGTH } from './limits.js';
import { errorOf, search, value } from './testdata/search.js';

describe('base64_decode and base64_encode', () => {
  it.each([
    ["base64_decode('SGVsbG8sIHdvcmxkIQ==')", 'Hello, world!'],
    ["base64_encode('Hello, world!')", 'SGVsbG8sIHdvcmxkIQ=='],
    ['base64_decode(data.example1)', 'Hello, world!'],
  ])('%s is %s', (expression, want) =>
    expect(value(expression, { data: { example1: 'SGVsbG8sIHdvcmxkIQ==' } })).toBe(want),
  );
  it('ignores line breaks, as Go does', () =>
    expect(value('base64_decode(text)', { text: 'SGVs\nbG8=' })).toBe('Hello'));
  it('refuses text that is not padded base64', () =>
    expect(errorOf("base64_decode('SGVsbG8')")).toContain('illegal base64'));
  it('refuses characters outside the alphabet', () =>
    expect(errorOf("base64_decode('SGV-bG8=')")).toContain('illegal base64'));
});

describe('parse_json', () => {
  it.each([`{"a":"b"}`, `true`, `[1,2,3,{"a":"b"}]`, `null`, `[]`, `{}`, `0`, `1.2`, `[1.2,true,{"a":{"a":"b"}}]`])(
    "writes %s back unchanged through to_string (Kyverno's test)",
    (json) => expect(value(`to_string(parse_json('${json}'))`)).toBe(json),
  );
  it.each([
    [`parse_json('{"a": "b"}').a`, 'b'],
    [`parse_json('{"a": [1, 2, 3, 4]}').a[0]`, 1],
    [`parse_json('[1, 2, {"a": {"b": {"c": [1, 2]}}}]')[2].a.b.c[1]`, 2],
  ])('%s is %j', (expression, want) => expect(value(expression)).toBe(want));
  it('reports text that is not JSON', () => expect(errorOf("parse_json('{')")).toContain('parse_json'));
  it('refuses text longer than the limit', () =>
    expect(search('parse_json(text)', { text: ' '.repeat(MAX_PARSE_JSON_LENGTH + 1) })).toEqual({
      error: expect.stringContaining('longer than'),
    }));
  it('refuses a document nested deeper than the limit', () =>
    expect(search('parse_json(text)', { text: `${'['.repeat(150)}${']'.repeat(150)}` })).toEqual({
      error: expect.stringContaining('nested deeper'),
    }));
  it('keeps a member named __proto__ as data', () =>
    expect(value(`keys(parse_json('{"__proto__": {"x": 1}}'))`)).toEqual(['__proto__']));
});

describe('parse_yaml', () => {
  it.each([
    ['a: b', { a: 'b' }],
    ['\n- 1\n- 2\n- 3\n- a: b', [1, 2, 3, { a: 'b' }]],
    ['\nspec:\n  test: 1\n  test2:\n    - 2\n    - 3\n', { spec: { test: 1, test2: [2, 3] } }],
    [
      '\nbar: >\n  this is not a normal string it\n  spans more than\n  one line\n  see?\n',
      { bar: 'this is not a normal string it spans more than one line see?\n' },
    ],
    ['\n---\nfoo: ~\nbar: null\n', { bar: null, foo: null }],
  ])("reads %j (Kyverno's test)", (yaml, want) => expect(value('parse_yaml(text)', { text: yaml })).toEqual(want));
  it("keeps a folded scalar's line break at the very end of the text, where Kyverno's Go YAML drops it", () =>
    expect(value('parse_yaml(text)', { text: 'bar: >\n  see?' })).toEqual({ bar: 'see?\n' }));
  it('reads only the first document', () =>
    expect(value('parse_yaml(text)', { text: 'a: 1\n---\nb: 2' })).toEqual({ a: 1 }));
  it('refuses an alias bomb', () => {
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    expect(search('parse_yaml(text)', { text: lines.join('\n') })).toEqual({
      error: expect.stringContaining('parse_yaml'),
    });
  });
  it('refuses text longer than the limit', () =>
    expect(search('parse_yaml(text)', { text: '#'.repeat(MAX_PARSE_YAML_LENGTH + 1) })).toEqual({
      error: expect.stringContaining('longer than'),
    }));
  it('refuses a timestamp-free but non-JSON value such as .inf', () =>
    expect(errorOf("parse_yaml('a: .inf')")).toContain('unsupported value'));
});

describe('sha256, sha1 and md5', () => {
  it.each([
    ["sha256('abc')", 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ["sha1('abc')", 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ["md5('abc')", '900150983cd24fb0d6963f7d28e17f72'],
  ])('%s is %s', (expression, want) => expect(value(expression)).toBe(want));
});

describe('image_normalize', () => {
  it.each([
    ["image_normalize('nginx')", 'docker.io/nginx:latest'],
    ["image_normalize('docker.io/nginx')", 'docker.io/nginx:latest'],
    ["image_normalize('docker.io/library/nginx')", 'docker.io/library/nginx:latest'],
    ["image_normalize('ghcr.io/library/nginx')", 'ghcr.io/library/nginx:latest'],
    ["image_normalize('ghcr.io/nginx:1.2')", 'ghcr.io/nginx:1.2'],
  ])("%s is %s (Kyverno's test)", (expression, want) => expect(value(expression)).toBe(want));
  it('refuses an empty reference', () => expect(errorOf("image_normalize('')")).toContain('image_normalize'));
});
