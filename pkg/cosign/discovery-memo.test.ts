import { computeDigest } from '../oci/index.js';
import { ok } from '../result/index.js';
import { WorkBudget } from './budget.js';
import type { DiscoverDeps, Discovery, SignatureLocation } from './discover.js';
import { DiscoveryMemo } from './discovery-memo.js';

const DIGEST = computeDigest(Buffer.from('image'));
const deps = { registry: {}, budget: new WorkBudget() } as unknown as DiscoverDeps;
const at = (repository: string, digest = DIGEST): SignatureLocation => ({
  repository: { registry: 'registry.example', repository, tag: 'v1' },
  digest,
});

/** A memo whose discoveries find nothing and record the deps each was made with. */
function recordingMemo(): { memo: DiscoveryMemo; asked: DiscoverDeps[] } {
  const asked: DiscoverDeps[] = [];
  const memo = new DiscoveryMemo(deps, async (_location, d) => {
    asked.push(d);
    return ok({ artifacts: [], problems: [], where: '' });
  });
  return { memo, asked };
}

describe('DiscoveryMemo', () => {
  describe('when several rules name the same image, at once or one after another', () => {
    it('discovers its signatures once and hands every rule the same artifacts', async () => {
      let calls = 0;
      const discovery: Discovery = { artifacts: [], problems: [], where: 'registry.example/team/app' };
      const memo = new DiscoveryMemo(deps, async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 5));
        return ok(discovery);
      });
      const [a, b] = await Promise.all([memo.discover(at('team/app')), memo.discover(at('team/app'))]);
      const c = await memo.discover({
        ...at('team/app'),
        repository: { registry: 'registry.example', repository: 'team/app', tag: 'v2' },
      });
      expect(calls).toBe(1);
      expect(a).toBe(b);
      expect(c).toBe(a);
    });
  });

  describe('when one ask is insecure and another is not', () => {
    it('discovers each, and only the insecure one reads the registry insecurely', async () => {
      const { memo, asked } = recordingMemo();
      const a = await memo.discover({ ...at('team/app'), insecure: true });
      const b = await memo.discover(at('team/app'));
      expect(await memo.discover({ ...at('team/app'), insecure: false })).toBe(b);
      expect(await memo.discover({ ...at('team/app'), insecure: true })).toBe(a);
      expect(a).not.toBe(b);
      expect(asked.map((d) => d.insecure)).toEqual([true, false]);
      expect(memo.size).toBe(2);
    });
  });

  describe('when one entry asks for bundles alone (type SigstoreBundle) and another for every layout', () => {
    it('discovers each, in the layouts it asked for', async () => {
      const { memo, asked } = recordingMemo();
      const bundles = await memo.discover({ ...at('team/app'), layouts: 'bundles' });
      const all = await memo.discover(at('team/app'));
      expect(await memo.discover({ ...at('team/app'), layouts: 'all' })).toBe(all);
      expect(await memo.discover({ ...at('team/app'), layouts: 'bundles' })).toBe(bundles);
      expect(bundles).not.toBe(all);
      expect(asked.map((d) => d.layouts)).toEqual(['bundles', 'all']);
    });
  });

  describe('when images differ by repository or digest', () => {
    it('discovers each', async () => {
      let calls = 0;
      const memo = new DiscoveryMemo(deps, async () => {
        calls++;
        return ok({ artifacts: [], problems: [], where: '' });
      });
      await memo.discover(at('team/app'));
      await memo.discover(at('team/other'));
      await memo.discover(at('team/app', computeDigest(Buffer.from('another'))));
      expect(calls).toBe(3);
      expect(memo.size).toBe(3);
    });
  });
});
