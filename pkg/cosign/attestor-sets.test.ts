import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRef } from '../imageref/index.js';
import { computeDigest } from '../oci/index.js';
import type { AttestorTrust, CompiledAttestor, CompiledAttestorSet } from '../policy/index.js';
import { WorkBudget, type WorkKind } from './budget.js';
import { fakeDigest, FakeRegistry, SIGNATURE_ANNOTATION, type SignatureLayer } from './testdata/fake-registry.js';
import { verifyImage } from './verify-image.js';

const IMAGE: ImageRef = { registry: 'registry.example', repository: 'team/app', tag: 'v1' };
const DIGEST = computeDigest(Buffer.from('the image manifest'));
const IGNORE_TLOG: AttestorTrust = {
  requireTlog: false,
  requireSct: false,
  authorities: { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] },
};
const MIB = 1024 * 1024;

function keyAttestor(key: KeyObject, field: string): CompiledAttestor {
  return { $case: 'key', field, keyIndex: 0, key, trust: IGNORE_TLOG, annotations: {}, signatureAlgorithm: 'sha256' };
}

function set(entries: CompiledAttestor[], count = entries.length, field = 'attestors[0]'): CompiledAttestorSet {
  return { field, count, entries };
}

function nested(inner: CompiledAttestorSet): CompiledAttestor {
  return { $case: 'nested', field: inner.field, set: inner };
}

/** `count` .sig layers that no key made, each with `payload`, served under distinct digests. */
function junkLayers(count: number, payload: Uint8Array, signatureBytes = 16): SignatureLayer[] {
  const signature = Buffer.alloc(signatureBytes, 0x5a).toString('base64');
  return Array.from({ length: count }, (_, i) => ({
    payload,
    digest: fakeDigest(i + 1),
    annotations: { [SIGNATURE_ANNOTATION]: signature },
  }));
}

function registryWith(layers: readonly SignatureLayer[]): FakeRegistry {
  const registry = new FakeRegistry(DIGEST);
  registry.putSignatures(layers);
  return registry;
}

/** Three RSA-3072 public keys (pkg/cosign/testdata/README.md): the dearest keys to check a signature against. */
const RSA_KEYS = [1, 2, 3].map((n) =>
  createPublicKey(readFileSync(join(import.meta.dirname, 'testdata', `rsa3072-${n}.pub`), 'utf8')),
);
const rsaAttestors = () => RSA_KEYS.map((key, i) => keyAttestor(key, `rsa${i + 1}`));

describe('when the attestor sets cannot be satisfied by anything (CVE-2022-35930)', () => {
  const k1 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const k2 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const registry = registryWith(junkLayers(1, Buffer.from('junk')));
  const empty = set([], 0, 'attestors[0].entries[0].attestor');
  const SETS: readonly [string, CompiledAttestorSet[]][] = [
    ['no attestor sets at all', []],
    ['a set of no entries', [set([], 0)]],
    ['a set of no entries that asks for one', [set([], 1)]],
    ['a set whose count is 0', [set([keyAttestor(k1, 'k1')], 0)]],
    ['a set whose count is above its entries', [set([keyAttestor(k1, 'k1')], 2)]],
    ['a set whose count is not a whole number', [set([keyAttestor(k1, 'k1'), keyAttestor(k2, 'k2')], 0.5)]],
    ['a nested set of no entries', [set([nested(empty)])]],
    ['a nested set whose count is 0', [set([nested(set([keyAttestor(k1, 'k1')], 0, 'nested'))])]],
    ['a nested set whose count is above its entries', [set([nested(set([keyAttestor(k1, 'k1')], 2, 'nested'))])]],
    [
      'a set whose count is 0, holding a nested set whose count is 0',
      [set([nested(set([keyAttestor(k1, 'k1')], 0, 'nested'))], 0)],
    ],
    [
      'a set of count 1 holding a vacuous nested set and a key',
      [set([nested(set([], 0, 'nested')), keyAttestor(k2, 'k2')], 1)],
    ],
  ];

  it.each(SETS)('fails against one junk signature, given %s', async (_, attestors) => {
    const outcome = await verifyImage({ image: IMAGE, attestors }, { registry });
    expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
  });

  it('says that the policy names no attestor when there are no sets', async () => {
    const outcome = await verifyImage({ image: IMAGE, attestors: [] }, { registry });
    expect(!outcome.verified && outcome.message).toContain('the policy names no attestor to verify with');
  });

  it('says which set can never be satisfied', async () => {
    const outcome = await verifyImage({ image: IMAGE, attestors: [set([keyAttestor(k1, 'k1')], 0)] }, { registry });
    expect(!outcome.verified && outcome.message).toContain('attestors[0]: 0 of 1 attestors can never be satisfied');
  });
});

describe('when checking signatures costs more than the budget allows', () => {
  describe('and 100 payloads are offered to 3 RSA keys with a budget of 50 checks', () => {
    it('fails with LimitExceeded after exactly 50 checks, naming the limit', async () => {
      const registry = registryWith(junkLayers(100, Buffer.from('{"critical":{}}'), 384));
      const budget = new WorkBudget({ checks: 50 });
      const outcome = await verifyImage({ image: IMAGE, attestors: [set(rsaAttestors(), 1)] }, { registry, budget });
      expect(outcome).toMatchObject({ verified: false, reason: 'LimitExceeded', digest: DIGEST });
      expect(!outcome.verified && outcome.message).toContain(
        'no signature verified before signature checks reached the limit of 50',
      );
      expect(budget.used('checks')).toBe(50);
    });
  });

  describe('and it takes long', () => {
    /** Notes when the last signature was read: what comes after it is checking. */
    class TimedRegistry extends FakeRegistry {
      lastRead = 0;

      override async getBlob(...args: Parameters<FakeRegistry['getBlob']>) {
        const blob = await super.getBlob(...args);
        this.lastRead = performance.now();
        return blob;
      }
    }

    it('hands the event loop back while it checks: a 1 ms timer keeps firing', async () => {
      // 40 payloads of 1 MiB against 3 RSA-3072 keys: 120 checks, each hashing 1 MiB four times (three PKCS#1 v1.5
      // hashes and PSS), most of a second on one core. Checks that never hand the loop back would let the timer fire
      // not once between the last read and the outcome. (A bound on the longest gap in milliseconds is flaky on a
      // loaded two-core machine; the number of ticks, and the gap relative to the whole, are not.)
      const registry = new TimedRegistry(DIGEST);
      registry.putSignatures(junkLayers(40, Buffer.alloc(MIB, 0x20), 384));
      const budget = new WorkBudget({ bytes: 64 * MIB });
      const ticks: number[] = [];
      const timer = setInterval(() => ticks.push(performance.now()), 1);
      let end: number;
      try {
        const outcome = await verifyImage({ image: IMAGE, attestors: [set(rsaAttestors(), 1)] }, { registry, budget });
        end = performance.now();
        expect(outcome).toMatchObject({ verified: false, reason: 'InvalidSignature' });
      } finally {
        clearInterval(timer);
      }
      const checking = [registry.lastRead, ...ticks.filter((t) => t > registry.lastRead && t < end), end];
      expect(checking.length - 2).toBeGreaterThanOrEqual(20);
      const longest = Math.max(...checking.slice(1).map((t, i) => t - checking[i]!));
      expect(longest).toBeLessThan((end - registry.lastRead) / 4);
      expect(budget.used('checks')).toBe(120);
    });
  });
});

/** A budget that aborts `controller` when the first signature check is charged: a deadline passing mid-check. */
class AbortOnFirstCheck extends WorkBudget {
  readonly #controller: AbortController;

  constructor(controller: AbortController) {
    super();
    this.#controller = controller;
  }

  override take(kind: WorkKind, amount?: number): boolean {
    if (kind === 'checks') this.#controller.abort();
    return super.take(kind, amount);
  }
}

describe('when the deadline passes while signatures are checked', () => {
  it('fails with Timeout, and checks nothing more', async () => {
    const controller = new AbortController();
    const budget = new AbortOnFirstCheck(controller);
    const registry = registryWith(junkLayers(10, Buffer.from('{"critical":{}}'), 384));
    const outcome = await verifyImage(
      { image: IMAGE, attestors: [set(rsaAttestors(), 1)] },
      { registry, budget, signal: controller.signal },
    );
    expect(outcome).toMatchObject({ verified: false, reason: 'Timeout', digest: DIGEST });
    expect(!outcome.verified && outcome.message).toContain(
      ': timed out: the deadline passed while signatures were being checked',
    );
    expect(budget.used('checks')).toBe(1);
  });
});
