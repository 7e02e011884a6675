import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAdmissionReview } from './admission-review.js';

// Captured from kube-apiserver v1.37.2 for `kubectl run nginx --image=nginx:1.27 --restart=Never`.
const CREATE_POD = JSON.parse(
  readFileSync(join(import.meta.dirname, 'testdata', 'admission-create-pod.json'), 'utf8'),
) as Record<string, unknown>;

describe('decodeAdmissionReview', () => {
  describe('when given a review the API server sent', () => {
    it('decodes the request', () => {
      const decoded = decodeAdmissionReview(CREATE_POD);
      expect(decoded.ok).toBe(true);
      if (!decoded.ok) return;
      expect(decoded.value.request).toMatchObject({
        uid: '1b81967d-876a-4d61-bbad-b6a53cc06722',
        kind: { kind: 'Pod', version: 'v1' },
        namespace: 'default',
        name: 'nginx',
        operation: 'CREATE',
      });
    });
  });

  const broken: [what: string, body: unknown, error: string][] = [
    ['an array', [], 'the body is not a JSON object'],
    [
      'a v1beta1 review',
      { ...CREATE_POD, apiVersion: 'admission.k8s.io/v1beta1' },
      'apiVersion: unsupported value "admission.k8s.io/v1beta1"',
    ],
    ['another kind', { ...CREATE_POD, kind: 'Pod' }, 'kind: unsupported value "Pod"'],
    ['no request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'request: Required value'],
    [
      'an empty uid',
      { ...CREATE_POD, request: { ...(CREATE_POD['request'] as object), uid: '' } },
      'request.uid: Required value',
    ],
    [
      'an unknown operation',
      { ...CREATE_POD, request: { ...(CREATE_POD['request'] as object), operation: 'PATCH' } },
      'request.operation: unsupported value "PATCH"',
    ],
    [
      'a numeric namespace',
      { ...CREATE_POD, request: { ...(CREATE_POD['request'] as object), namespace: 7 } },
      'request.namespace: expected a string',
    ],
    // JSON.stringify of 20,000 nested arrays overflows the stack: the message must not quote it that way.
    [
      'an apiVersion of 20,000 nested arrays',
      { ...CREATE_POD, apiVersion: nested(20_000) },
      'apiVersion: unsupported value an array',
    ],
    [
      'an operation of 20,000 nested arrays',
      { ...CREATE_POD, request: { ...(CREATE_POD['request'] as object), operation: nested(20_000) } },
      'request.operation: unsupported value an array',
    ],
    [
      'groups that are not strings',
      { ...CREATE_POD, request: { ...(CREATE_POD['request'] as object), userInfo: { username: 'a', groups: [1] } } },
      'request.userInfo.groups: expected a list of strings',
    ],
  ];
  describe.each(broken)('when given %s', (_what, body, error) => {
    it('says which field is wrong', () => {
      const decoded = decodeAdmissionReview(body);
      expect(decoded.ok).toBe(false);
      if (!decoded.ok) expect(decoded.error).toContain(error);
    });
  });
});

function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('decodeAdmissionReview, who asked', () => {
  it('reads the user and groups, and the kind’s group as empty for the core group', () => {
    const request = CREATE_POD['request'] as Record<string, unknown>;
    const decoded = decodeAdmissionReview({
      ...CREATE_POD,
      request: { ...request, kind: { version: 'v1', kind: 'Pod' }, userInfo: { username: 'alice', groups: ['dev'] } },
    });
    expect(decoded.ok && decoded.value.request.userInfo).toEqual({ username: 'alice', groups: ['dev'] });
    expect(decoded.ok && decoded.value.request.kind.group).toBe('');
  });
});
