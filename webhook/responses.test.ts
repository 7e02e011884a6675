import { allowed, denied, patched, toReview } from './responses.js';

describe('admission responses', () => {
  describe('allowed', () => {
    it('admits with no patch and carries warnings only when there are some', () => {
      expect(allowed('u1')).toEqual({ uid: 'u1', allowed: true });
      expect(allowed('u1', ['careful'])).toEqual({ uid: 'u1', allowed: true, warnings: ['careful'] });
    });
  });

  describe('denied', () => {
    it('refuses with 403 Forbidden and the message', () => {
      expect(denied('u2', 'image verification failed for x: signature not found')).toEqual({
        uid: 'u2',
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'image verification failed for x: signature not found' },
      });
    });
  });

  describe('patched', () => {
    it('sends a base64 JSON patch', () => {
      const ops = [{ op: 'replace' as const, path: '/spec/containers/0/image', value: 'r/a@sha256:00' }];
      const response = patched('u3', ops);
      expect(response.patchType).toBe('JSONPatch');
      expect(JSON.parse(Buffer.from(response.patch!, 'base64').toString())).toEqual(ops);
    });

    it('sets no patch type when there is nothing to patch', () => {
      expect(patched('u4', [])).toEqual({ uid: 'u4', allowed: true });
    });
  });

  describe('toReview', () => {
    it('wraps a response in an admission.k8s.io/v1 AdmissionReview', () => {
      expect(toReview(allowed('u5'))).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: 'u5', allowed: true },
      });
    });
  });
});
