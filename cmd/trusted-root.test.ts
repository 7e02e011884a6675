import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrustedRoot } from './trusted-root.js';

describe('loadTrustedRoot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trusted-root-'));

  describe('without the flag', () => {
    it('trusts nothing', () => {
      const root = loadTrustedRoot(undefined);
      expect(root.ok && root.value.tlogs).toEqual([]);
    });
  });

  describe('when the file is missing', () => {
    it('names the flag, the path and the error', () => {
      const root = loadTrustedRoot(join(dir, 'nope.json'));
      expect(!root.ok && root.error).toBe(`--trusted-root: cannot read ${join(dir, 'nope.json')}: ENOENT`);
    });
  });

  describe('when the file is not a trusted root', () => {
    it('names the flag and the file', () => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, '{"mediaType":"application/json"}');
      const root = loadTrustedRoot(file);
      expect(!root.ok && root.error).toMatch(/^--trusted-root: .*bad\.json: mediaType "application\/json" is not/);
    });
  });
});
