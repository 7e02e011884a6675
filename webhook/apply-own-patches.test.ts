import { applyOwnPatches } from './apply-own-patches.js';
import type { JsonPatchOperation } from './responses.js';

/** The patched object, when the patches apply. */
function valueOf(object: unknown, ops: readonly JsonPatchOperation[]): unknown {
  const applied = applyOwnPatches(object, ops);
  if (!applied.ok) throw new Error(applied.error);
  return applied.value;
}

describe('applyOwnPatches', () => {
  const object = () => ({
    metadata: { name: 'p', annotations: { 'a/b': 'x', keep: 'y' } },
    spec: { containers: [{ image: 'a:v1' }, { image: 'b:v1' }] },
  });

  it('adds, replaces and removes members, reading ~1 and ~0 in the path', () => {
    const before = object();
    const after = valueOf(before, [
      { op: 'replace', path: '/spec/containers/1/image', value: 'b:v1@sha256:bb' },
      { op: 'add', path: '/metadata/annotations/new~0one', value: 'z' },
      { op: 'remove', path: '/metadata/annotations/a~1b' },
    ]);
    expect(after).toEqual({
      metadata: { name: 'p', annotations: { keep: 'y', 'new~one': 'z' } },
      spec: { containers: [{ image: 'a:v1' }, { image: 'b:v1@sha256:bb' }] },
    });
  });

  it('creates what an add names, a whole map included', () => {
    expect(valueOf({ spec: {} }, [{ op: 'add', path: '/metadata', value: { annotations: { k: 'v' } } }])).toEqual({
      spec: {},
      metadata: { annotations: { k: 'v' } },
    });
  });

  it('inserts into and removes from lists', () => {
    const list = { l: ['a', 'c'] };
    expect(valueOf(list, [{ op: 'add', path: '/l/1', value: 'b' }])).toEqual({ l: ['a', 'b', 'c'] });
    expect(valueOf(list, [{ op: 'add', path: '/l/-', value: 'd' }])).toEqual({ l: ['a', 'c', 'd'] });
    expect(valueOf(list, [{ op: 'remove', path: '/l/0' }])).toEqual({ l: ['c'] });
  });

  it('leaves the request’s object as it was', () => {
    const before = object();
    const copy = structuredClone(before);
    applyOwnPatches(before, [
      { op: 'replace', path: '/spec/containers/0/image', value: 'changed' },
      { op: 'remove', path: '/metadata/annotations/keep' },
    ]);
    expect(before).toEqual(copy);
  });

  it('refuses a path the requester’s object does not have, naming it, without throwing', () => {
    expect(applyOwnPatches({}, [{ op: 'replace', path: '/spec/containers/0/image', value: 'x' }])).toEqual({
      ok: false,
      error: '/spec/containers/0/image does not exist',
    });
    expect(applyOwnPatches([], [{ op: 'add', path: '/metadata', value: {} }])).toEqual({
      ok: false,
      error: '/metadata: no index metadata',
    });
  });

  describe('as kube-apiserver applies a JSON patch (RFC 6902), refusing what it would refuse', () => {
    it.each<[string, JsonPatchOperation]>([
      ['replace past the end of a list', { op: 'replace', path: '/l/2', value: 'x' }],
      ['remove past the end of a list', { op: 'remove', path: '/l/2' }],
      ['replace at -', { op: 'replace', path: '/l/-', value: 'x' }],
      ['an index that is not a number', { op: 'add', path: '/l/', value: 'x' }],
      ['an index with a leading zero', { op: 'replace', path: '/l/01', value: 'x' }],
      ['replace of a key the map lacks', { op: 'replace', path: '/m/absent', value: 'x' }],
      ['remove of a key the map lacks', { op: 'remove', path: '/m/absent' }],
      ['a member inherited from Object.prototype', { op: 'replace', path: '/m/constructor', value: 'x' }],
      ['__proto__ as a key', { op: 'add', path: '/m/__proto__', value: { polluted: true } }],
    ])('%s', (_name, op) => {
      const applied = applyOwnPatches({ l: ['a', 'b'], m: { k: 'v' } }, [op]);
      expect(applied.ok).toBe(false);
      expect(!applied.ok && applied.error).toContain(op.path);
    });

    it('still adds at the end of a list by its length, and a new key to a map', () => {
      expect(
        valueOf({ l: ['a'], m: {} }, [
          { op: 'add', path: '/l/1', value: 'b' },
          { op: 'add', path: '/m/k', value: 'v' },
        ]),
      ).toEqual({ l: ['a', 'b'], m: { k: 'v' } });
    });
  });
});
