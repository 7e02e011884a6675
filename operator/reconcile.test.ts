import { generateKeyPairSync } from 'node:crypto';
import { createSilentLogger } from '../pkg/log/index.js';
import { EMPTY_TRUST_ROOT, toAttestorTrust } from '../pkg/trust/index.js';
import { RuleCache, type PolicyRef } from '../pkg/policy/index.js';
import type { PolicyObject, PolicyStatus } from './desired-status.js';
import type { EventInput } from './event-series.js';
import { reconcile, toPolicyRef, type ReconcileDeps } from './reconcile.js';

/** A trust root holding one Rekor key, so that the seed policy's legacy key (which requires the log) compiles. */
const trustRoot = toAttestorTrust(EMPTY_TRUST_ROOT, {
  rekorKeys: [generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey],
});

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

function clusterPolicy(name: string, key: string, generation = 1): PolicyObject {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, uid: `uid-${name}`, generation, resourceVersion: String(generation * 10) },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{ name: 'r', match: { resources: { kinds: ['Pod'] } }, verifyImages: [{ image: '*', key }] }],
    },
  } as PolicyObject;
}

function fakes(objects: Record<string, PolicyObject>, leader = true) {
  const writes: { ref: PolicyRef; status: PolicyStatus }[] = [];
  const events: EventInput[] = [];
  let changes = 0;
  const cache = new RuleCache();
  const deps: ReconcileDeps = {
    compileOptions: { trustRoot },
    getPolicy: (ref) => objects[ref.name],
    cache,
    writeStatus: async (ref, status) => {
      writes.push({ ref, status });
      objects[ref.name] = { ...objects[ref.name]!, status };
    },
    recordEvent: (e) => events.push(e),
    isLeader: () => leader,
    onCacheChanged: () => changes++,
    now: () => new Date('2026-01-01T00:00:00Z'),
    log: createSilentLogger(),
  };
  return { deps, writes, events, cache, changes: () => changes };
}

describe('reconcile', () => {
  describe('when a valid policy appears', () => {
    it('puts it in the cache and writes Ready=True once', async () => {
      const objects = { p: clusterPolicy('p', KEY) };
      const { deps, writes, cache, changes } = fakes(objects);
      await reconcile('ClusterPolicy//p', deps);
      await reconcile('ClusterPolicy//p', deps);
      expect(cache.get('ClusterPolicy//p')?.uid).toBe('uid-p');
      expect(writes).toHaveLength(1);
      expect(writes[0]!.status.conditions[0]).toMatchObject({ status: 'True', reason: 'Succeeded' });
      expect(changes()).toBe(1);
    });
  });

  describe('when a cached policy is edited into an invalid one', () => {
    it('removes it from the cache and reports why', async () => {
      const objects: Record<string, PolicyObject> = { p: clusterPolicy('p', KEY) };
      const { deps, writes, cache } = fakes(objects);
      await reconcile('ClusterPolicy//p', deps);
      objects['p'] = { ...clusterPolicy('p', 'not a key', 2), status: objects['p']!.status! };
      await reconcile('ClusterPolicy//p', deps);
      expect(cache.get('ClusterPolicy//p')).toBeUndefined();
      expect(writes.at(-1)!.status.conditions[0]).toMatchObject({
        status: 'False',
        reason: 'InvalidKey',
        observedGeneration: 2,
      });
    });

    it('records a Warning PolicyError Event with the reason and message, once per change', async () => {
      const objects: Record<string, PolicyObject> = { p: clusterPolicy('p', 'not a key', 2) };
      const { deps, events } = fakes(objects);
      await reconcile('ClusterPolicy//p', deps);
      await reconcile('ClusterPolicy//p', deps);
      expect(events).toEqual([
        {
          regarding: { kind: 'ClusterPolicy', apiVersion: 'kyverno.io/v1', name: 'p', uid: 'uid-p' },
          type: 'Warning',
          reason: 'PolicyError',
          action: 'Compile',
          note: expect.stringMatching(/^InvalidKey: spec\.rules\[0\]\.verifyImages\[0\]\.key: invalid public key/),
        },
      ]);
    });
  });

  describe('when this replica does not lead', () => {
    it('fills its cache but writes no status and records no Event', async () => {
      const { deps, writes, events, cache } = fakes({ p: clusterPolicy('p', 'not a key') }, false);
      await reconcile('ClusterPolicy//p', deps);
      expect(writes).toHaveLength(0);
      expect(events).toHaveLength(0);
      const valid = fakes({ p: clusterPolicy('p', KEY) }, false);
      await reconcile('ClusterPolicy//p', valid.deps);
      expect(valid.cache.get('ClusterPolicy//p')).toBeDefined();
      expect(cache.size).toBe(0);
    });
  });

  describe('when the policy is gone', () => {
    it('removes it from the cache without writing anything', async () => {
      const objects: Record<string, PolicyObject> = { p: clusterPolicy('p', KEY) };
      const { deps, writes, cache } = fakes(objects);
      await reconcile('ClusterPolicy//p', deps);
      delete objects['p'];
      await reconcile('ClusterPolicy//p', deps);
      expect(cache.size).toBe(0);
      expect(writes).toHaveLength(1);
    });
  });

  describe('with onReadiness (the policies gauge)', () => {
    it('tells the Ready condition on every replica, and forgets the policy once it is gone', async () => {
      const objects: Record<string, PolicyObject> = { p: clusterPolicy('p', 'not a key'), q: clusterPolicy('q', KEY) };
      const { deps } = fakes(objects, false);
      const seen: [string, unknown][] = [];
      const observed = { ...deps, onReadiness: (key: string, ready: unknown) => void seen.push([key, ready]) };
      await reconcile('ClusterPolicy//p', observed);
      await reconcile('ClusterPolicy//q', observed);
      delete objects['q'];
      await reconcile('ClusterPolicy//q', observed);
      expect(seen).toEqual([
        ['ClusterPolicy//p', { kind: 'ClusterPolicy', status: 'False', reason: 'InvalidKey' }],
        ['ClusterPolicy//q', { kind: 'ClusterPolicy', status: 'True', reason: 'Succeeded' }],
        ['ClusterPolicy//q', undefined],
      ]);
    });
  });

  describe('when the status write fails', () => {
    it('throws so that the queue retries, unless the policy was deleted meanwhile', async () => {
      const { deps } = fakes({ p: clusterPolicy('p', KEY) });
      const failing = (code: number) => ({
        ...deps,
        writeStatus: async () => {
          throw Object.assign(new Error('boom'), { code });
        },
      });
      await expect(reconcile('ClusterPolicy//p', failing(500))).rejects.toThrow('boom');
      await expect(reconcile('ClusterPolicy//p', failing(404))).resolves.toBeUndefined();
    });
  });
});

describe('toPolicyRef', () => {
  it('reads kind, namespace and name', () => {
    expect(toPolicyRef('Policy/team-a/p')).toEqual({ kind: 'Policy', namespace: 'team-a', name: 'p' });
    expect(toPolicyRef('ClusterPolicy//p')).toEqual({ kind: 'ClusterPolicy', namespace: '', name: 'p' });
  });
});
