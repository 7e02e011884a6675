import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeTrustRoot, parseTrustedRoot } from './trusted-root.js';
import { createTestLog } from './testdata/test-log.js';

// The public-good trusted root that cosign's tests use (pkg/cosign/testdata/README.md).
const PUBLIC_GOOD = readFileSync(
  join(import.meta.dirname, '..', 'cosign', 'testdata', 'trusted_root_pgi.json'),
  'utf8',
);

describe('parseTrustedRoot', () => {
  describe('when given the public-good trusted root', () => {
    it('reads its logs and authorities', () => {
      const root = parseTrustedRoot(PUBLIC_GOOD, 'trusted_root.json');
      expect(root.ok).toBe(true);
      if (!root.ok) return;
      expect(describeTrustRoot(root.value)).toBe(
        '1 transparency log, 2 CT logs, 2 certificate authorities, 0 timestamp authorities',
      );
      expect(root.value.tlogs[0]!.logID.toString('hex')).toBe(
        'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
      );
    });
  });

  describe('when given a root made for a local log', () => {
    it('trusts that log’s key', () => {
      const log = createTestLog();
      const root = parseTrustedRoot(log.trustedRootJson, 'local.json');
      expect(root.ok && root.value.tlogs[0]!.logID.toString('hex')).toBe(log.logId);
    });
  });

  describe.each([
    ['text that is not JSON', '{', 'f.json: not JSON'],
    ['a JSON array', '[]', 'f.json: a trusted root is a JSON object'],
    [
      'another media type',
      '{"mediaType":"application/json"}',
      'f.json: mediaType "application/json" is not a Sigstore trusted root',
    ],
    ['no media type', '{}', 'f.json: mediaType undefined is not a Sigstore trusted root'],
  ])('when given %s', (_what, text, message) => {
    it('fails, naming the file', () => {
      const root = parseTrustedRoot(text, 'f.json');
      expect(!root.ok && root.error).toContain(message);
    });
  });

  describe('when a log key does not decode', () => {
    it('fails instead of trusting nothing silently', () => {
      const broken = JSON.parse(PUBLIC_GOOD) as { tlogs: { publicKey: { rawBytes: string } }[] };
      broken.tlogs[0]!.publicKey.rawBytes = Buffer.from('not a key').toString('base64');
      const root = parseTrustedRoot(JSON.stringify(broken), 'f.json');
      expect(root.ok).toBe(false);
      expect(!root.ok && root.error).toMatch(/^f\.json: /);
    });
  });
});
