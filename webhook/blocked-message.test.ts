import { formatBlockedMessage } from './blocked-message.js';

const IMAGE = 'registry.example/team/unsigned@sha256:' + 'a'.repeat(64);

describe('formatBlockedMessage', () => {
  describe('when the seed’s check-image policy blocks an unsigned Pod', () => {
    it('writes Kyverno’s layout: the header with its trailing space, the policy, and the rule’s quoted message', () => {
      const message = formatBlockedMessage({ kind: 'Pod', namespace: 'default', name: 'unsigned' }, [
        { policy: 'check-image', rule: 'check-image', message: `image verification failed for x: signature not found` },
      ]);
      expect(message).toBe(
        '\n\nresource Pod/default/unsigned was blocked due to the following policies \n\n' +
          'check-image:\n' +
          "  check-image: 'image verification failed for x: signature not found'\n",
      );
    });
  });

  describe('when the message is longer than a line', () => {
    it('folds it once, after the image, and indents the rest by four: the seed’s words stay on one line', () => {
      const message = formatBlockedMessage({ kind: 'Pod', namespace: 'default', name: 'unsigned' }, [
        {
          policy: 'check-image',
          rule: 'check-image',
          message: `image verification failed for ${IMAGE}: signature not found`,
        },
      ]);
      const lines = message.split('\n');
      expect(lines[5]).toBe(`  check-image: 'image verification failed for ${IMAGE}:`);
      expect(lines[6]).toBe("    signature not found'");
    });
  });

  describe('when several policies and rules block', () => {
    it('sorts policies and rules by name, and doubles single quotes', () => {
      const message = formatBlockedMessage({ kind: 'Deployment', namespace: 'team', name: 'web' }, [
        { policy: 'b-policy', rule: 'z', message: "it's: bad" },
        { policy: 'a-policy', rule: 'rule-y', message: 'x: y' },
        { policy: 'b-policy', rule: 'a', message: 'plain words' },
      ]);
      expect(message).toBe(
        '\n\nresource Deployment/team/web was blocked due to the following policies \n\n' +
          "a-policy:\n  rule-y: 'x: y'\nb-policy:\n  a: plain words\n  z: 'it''s: bad'\n",
      );
    });
  });

  describe('when a message holds a line break', () => {
    it('keeps it on one line', () => {
      const message = formatBlockedMessage({ kind: 'Pod', namespace: 'd', name: 'p' }, [
        { policy: 'p', rule: 'r', message: 'one:\ntwo' },
      ]);
      expect(message.endsWith("  r: 'one: two'\n")).toBe(true);
    });
  });
});
