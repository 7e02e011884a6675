import { errorOf, value } from './testdata/search.js';

const RESOURCE = { metadata: { labels: { app: 'test-app', 'controller-name': 'test-controller' } } };

describe('label_match', () => {
  it.each([
    ['{ "app": "test-app" }', true],
    ['{ "app": "test-app", "controller-name": "test-controller" }', true],
    ['{ "app": "test-app2" }', false],
    ['{ "app.kubernetes.io/name": "test-app" }', false],
    ['{}', true],
  ])('matches %s against the labels as Kyverno does: %s', (labels, want) =>
    expect(value(`label_match(\`${labels}\`, metadata.labels)`, RESOURCE)).toBe(want),
  );
});

describe('lookup', () => {
  const data = {
    map: { key1: 'value1', n: 12.34, t: true, nil: null, arr: [7, 'x', true] },
    list: ['item0', 'item1', 'item2'],
  };
  it.each([
    ["lookup(map, 'key1')", 'value1'],
    ["lookup(map, 'n')", 12.34],
    ["lookup(map, 'arr')", [7, 'x', true]],
    ["lookup(map, 'nil')", null],
    ["lookup(map, 'absent')", null],
    ["lookup(map, 'constructor')", null],
    ['lookup(list, `0`)', 'item0'],
    ['lookup(list, `2`)', 'item2'],
    ['lookup(list, `3`)', null],
    ['lookup(list, `-1`)', null],
  ])('%s is %j', (expression, want) => expect(value(expression, data)).toEqual(want));
  it('refuses a fractional index', () => expect(errorOf('lookup(list, `1.5`)', data)).toContain('integer'));
  it('refuses a string index into an array', () => expect(errorOf("lookup(list, '1')", data)).toContain('Number'));
  it('refuses a number key into an object', () => expect(errorOf('lookup(map, `1`)', data)).toContain('String'));
});

describe('items', () => {
  it('lists an object by sorted key', () =>
    expect(value('items(`{"key2": "value2", "key1": "value1"}`, \'myKey\', \'myValue\')')).toEqual([
      { myKey: 'key1', myValue: 'value1' },
      { myKey: 'key2', myValue: 'value2' },
    ]));
  it('lists an array by index', () =>
    expect(value('items(`["A", "B"]`, \'i\', \'v\')')).toEqual([
      { i: 0, v: 'A' },
      { i: 1, v: 'B' },
    ]));
});

describe('object_from_lists', () => {
  it('pairs keys with values, null where values run out', () =>
    expect(value('object_from_lists(`["a", "b", "c"]`, `[1, 2]`)')).toEqual({ a: 1, b: 2, c: null }));
  it('turns number keys into text', () => expect(value('object_from_lists(`[1]`, `["x"]`)')).toEqual({ '1': 'x' }));
  it('refuses object keys', () => expect(errorOf('object_from_lists(`[{}]`, `[1]`)')).toContain('StringArray'));
});

describe("standard functions with go-jmespath's behaviour", () => {
  it('sorts numbers as numbers', () => expect(value('sort(`[10, 9, 1]`)')).toEqual([1, 9, 10]));
  it('sorts strings by code point', () => expect(value('sort(`["b", "B", "a"]`)')).toEqual(['B', 'a', 'b']));
  it('takes the max of strings by code point', () => expect(value('max(`["apple", "Zebra"]`)')).toBe('apple'));
  it('takes max_by with a string key', () =>
    expect(
      value('max_by(people, &name).age', {
        people: [
          { name: 'a', age: 1 },
          { name: 'c', age: 3 },
          { name: 'b', age: 2 },
        ],
      }),
    ).toBe(3));
  it('takes min_by with a number key', () =>
    expect(
      value('min_by(people, &age).name', {
        people: [
          { name: 'a', age: 2 },
          { name: 'b', age: 1 },
        ],
      }),
    ).toBe('b'));
  it('finds an object in an array by deep equality', () =>
    expect(value('contains(`[{"a": 1}]`, `{"a": 1}`)')).toBe(true));
  it('merges objects, later members winning', () =>
    expect(value('merge(`{"a": 1, "b": 1}`, `{"b": 2}`)')).toEqual({ a: 1, b: 2 }));
  it("writes to_string as Go's JSON: sorted members and HTML escapes", () =>
    expect(value('to_string(`{"b": "<x>", "a": 1}`)')).toBe('{"a":1,"b":"\\u003cx\\u003e"}'));
  it('reads to_number with strconv.ParseFloat', () => {
    expect(value("to_number('1e3')")).toBe(1000);
    expect(value("to_number('0x10')")).toBeNull();
    expect(value("to_number('12abc')")).toBeNull();
  });
  it('reverses a long string', () =>
    expect(value('length(reverse(text))', { text: 'ab'.repeat(200_000) })).toBe(400_000));
  it('slices arrays but not strings', () => {
    expect(value('list[1:]', { list: [1, 2, 3] })).toEqual([2, 3]);
    expect(value('text[0:2]', { text: 'abc' })).toBeNull();
  });
});
