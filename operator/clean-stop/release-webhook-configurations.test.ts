import { Writable } from 'node:stream';
import { KubeStatusError, type Lease } from '../../pkg/kube/index.js';
import { createLogger } from '../../pkg/log/index.js';
import { VALIDATING_WEBHOOK_CONFIGURATION_NAME, WEBHOOK_CONFIGURATION_NAME } from '../webhook-configuration.js';
import {
  API_SERVER_NOTICE_MS,
  releaseWebhookConfigurations,
  type ReleaseDeps,
  type WebhookConfigurationApi,
} from './release-webhook-configurations.js';

const OURS = 'https://127.0.0.1:9443';
const THEIRS = 'https://127.0.0.1:9555';
const MUTATING = WEBHOOK_CONFIGURATION_NAME;
const VALIDATING = VALIDATING_WEBHOOK_CONFIGURATION_NAME;

function apiException(code: number, reason: string): KubeStatusError {
  return new KubeStatusError('DELETE', '/apis', code, JSON.stringify({ kind: 'Status', reason, message: reason }));
}

interface Stored {
  resourceVersion: string;
  webhooks: { name: string; clientConfig: { url: string } }[];
}

/**
 * Both configurations as the API server keeps them: a read hands back a copy with its resourceVersion; a delete
 * with preconditions.resourceVersion fails with 409 unless it matches the stored one, and with 404 when none is
 * stored.
 */
class FakeAdmissionApi {
  readonly stored = new Map<string, Stored>();
  readonly calls: string[] = [];
  /** Runs after a read hands back its copy: another replica writing in between. */
  afterRead: ((name: string) => void) | undefined;
  /** Thrown by every read while set. */
  readFailure: unknown;
  #version = 100;

  /** Registers `name` as a replica at `url` would: a new resourceVersion. */
  register(name: string, url: string): void {
    this.stored.set(name, {
      resourceVersion: String(++this.#version),
      webhooks: [{ name: 'w', clientConfig: { url: `${url}/mutate/fail` } }],
    });
  }

  readonly api = {
    readMutatingWebhookConfiguration: (r: { name: string }) => this.#read(r.name),
    readValidatingWebhookConfiguration: (r: { name: string }) => this.#read(r.name),
    deleteMutatingWebhookConfiguration: (r: { name: string; body?: unknown }) => this.#delete(r),
    deleteValidatingWebhookConfiguration: (r: { name: string; body?: unknown }) => this.#delete(r),
  } as unknown as WebhookConfigurationApi;

  async #read(name: string) {
    this.calls.push(`read ${name}`);
    if (this.readFailure) throw this.readFailure;
    const got = this.stored.get(name);
    if (!got) throw apiException(404, 'NotFound');
    const copy = structuredClone({ metadata: { name, resourceVersion: got.resourceVersion }, webhooks: got.webhooks });
    this.afterRead?.(name);
    return copy;
  }

  async #delete(request: { name: string; body?: unknown }) {
    const precondition = (request.body as { preconditions?: { resourceVersion?: string } } | undefined)?.preconditions
      ?.resourceVersion;
    this.calls.push(`delete ${request.name} at ${precondition}`);
    const got = this.stored.get(request.name);
    if (!got) throw apiException(404, 'NotFound');
    if (precondition !== got.resourceVersion) throw apiException(409, 'Conflict');
    this.stored.delete(request.name);
    return {};
  }
}

/** The lease as successive reads find it: the holders in turn, the last one repeated. */
function fakeLease(holders: readonly (string | undefined)[]) {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    coordination: {
      readNamespacedLease: async (): Promise<Lease> => {
        const holder = holders[Math.min(reads++, holders.length - 1)];
        return { spec: holder === undefined ? {} : { holderIdentity: holder } };
      },
    },
    namespace: 'default',
    name: 'imprimatur-operator',
  };
}

function setUp(lease?: ReturnType<typeof fakeLease>) {
  const admission = new FakeAdmissionApi();
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  let clock = 0;
  const slept: number[] = [];
  const deps: ReleaseDeps = {
    admission: admission.api,
    ...(lease ? { lease } : {}),
    identity: 'me',
    url: OURS,
    log: createLogger({ level: 'debug', stream }),
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    now: () => clock,
  };
  return { admission, deps, lines, slept, elapsed: () => clock };
}

describe('releaseWebhookConfigurations', () => {
  describe('removing (the last replica in local mode)', () => {
    it('deletes both configurations that point at us, each on the version it read, the validating one first', async () => {
      const { admission, deps, slept } = setUp();
      admission.register(MUTATING, OURS);
      admission.register(VALIDATING, OURS);
      const mutatingVersion = admission.stored.get(MUTATING)!.resourceVersion;
      const validatingVersion = admission.stored.get(VALIDATING)!.resourceVersion;

      const outcome = await releaseWebhookConfigurations({ action: 'remove' }, deps);

      expect(outcome).toEqual({ $case: 'removal', outcomes: { [VALIDATING]: 'deleted', [MUTATING]: 'deleted' } });
      expect(admission.stored.size).toBe(0);
      expect(admission.calls).toEqual([
        `read ${VALIDATING}`,
        `delete ${VALIDATING} at ${validatingVersion}`,
        `read ${MUTATING}`,
        `delete ${MUTATING} at ${mutatingVersion}`,
      ]);
      // The API server must see the deletion before the server closes.
      expect(slept).toEqual([API_SERVER_NOTICE_MS]);
    });

    it('keeps a configuration that points at another replica', async () => {
      const { admission, deps } = setUp();
      admission.register(MUTATING, THEIRS);
      const outcome = await releaseWebhookConfigurations({ action: 'remove' }, deps);
      expect(outcome).toEqual({
        $case: 'removal',
        outcomes: { [VALIDATING]: 'absent', [MUTATING]: 'points-elsewhere' },
      });
      expect(admission.stored.has(MUTATING)).toBe(true);
      expect(admission.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
    });

    it('keeps a configuration that another replica re-registered between our read and our delete', async () => {
      const { admission, deps, slept } = setUp();
      admission.register(MUTATING, OURS);
      admission.afterRead = (name) => admission.register(name, THEIRS);
      const outcome = await releaseWebhookConfigurations({ action: 'remove' }, deps);
      expect(outcome).toEqual({ $case: 'removal', outcomes: { [VALIDATING]: 'absent', [MUTATING]: 'changed' } });
      expect(admission.stored.get(MUTATING)!.webhooks[0]!.clientConfig.url).toBe(`${THEIRS}/mutate/fail`);
      expect(slept).toEqual([]);
    });

    it('takes configurations that are not there, or gone before the delete, as done', async () => {
      const { admission, deps } = setUp();
      admission.register(MUTATING, OURS);
      admission.afterRead = (name) => admission.stored.delete(name);
      const outcome = await releaseWebhookConfigurations({ action: 'remove' }, deps);
      expect(outcome).toEqual({ $case: 'removal', outcomes: { [VALIDATING]: 'absent', [MUTATING]: 'absent' } });
    });

    it('reports a read it was refused, says how to remove them, and deletes nothing it could not read', async () => {
      const { admission, deps, lines } = setUp();
      admission.register(MUTATING, OURS);
      admission.readFailure = apiException(403, 'Forbidden');
      const outcome = await releaseWebhookConfigurations({ action: 'remove' }, deps);
      expect(outcome).toEqual({ $case: 'removal', outcomes: { [VALIDATING]: 'failed', [MUTATING]: 'failed' } });
      expect(admission.stored.has(MUTATING)).toBe(true);
      expect(
        lines.some((l) => String(l['message']).includes(`kubectl delete mutatingwebhookconfiguration ${MUTATING}`)),
      ).toBe(true);
    });
  });

  describe('handing over (a stopping leader with --leader-elect)', () => {
    it('leaves the configurations to the replica that takes the lease, once it has re-pointed them', async () => {
      const lease = fakeLease(['', '', 'other']);
      const { admission, deps, slept } = setUp(lease);
      admission.register(MUTATING, OURS);
      admission.register(VALIDATING, OURS);
      // The new leader applies its own URL soon after it takes the lease.
      let reads = 0;
      admission.afterRead = (name) => {
        if (++reads === 2) {
          admission.register(MUTATING, THEIRS);
          admission.register(VALIDATING, THEIRS);
        }
        void name;
      };

      const outcome = await releaseWebhookConfigurations({ action: 'hand-over', withinMs: 5_000 }, deps);

      expect(outcome).toEqual({ $case: 'handed-over', successor: 'other', repointed: true });
      expect(lease.reads).toBe(3);
      expect(admission.stored.size).toBe(2);
      expect(admission.calls.filter((c) => c.startsWith('delete'))).toEqual([]);
      expect(slept.at(-1)).toBe(API_SERVER_NOTICE_MS);
    });

    it('leaves them to a successor that has not yet re-pointed them, after a bounded wait', async () => {
      const { admission, deps, lines, elapsed } = setUp(fakeLease(['other']));
      admission.register(MUTATING, OURS);
      const outcome = await releaseWebhookConfigurations({ action: 'hand-over', withinMs: 5_000 }, deps);
      expect(outcome).toEqual({ $case: 'handed-over', successor: 'other', repointed: false });
      expect(admission.stored.has(MUTATING)).toBe(true);
      expect(elapsed()).toBeLessThanOrEqual(3_000);
      expect(lines.some((l) => l['level'] === 'warn')).toBe(true);
    });

    it('removes them when no replica takes the lease within the wait: it was the last', async () => {
      const lease = fakeLease(['']);
      const { admission, deps, elapsed } = setUp(lease);
      admission.register(MUTATING, OURS);
      admission.register(VALIDATING, OURS);
      const outcome = await releaseWebhookConfigurations({ action: 'hand-over', withinMs: 4_000 }, deps);
      expect(outcome).toEqual({ $case: 'removal', outcomes: { [VALIDATING]: 'deleted', [MUTATING]: 'deleted' } });
      expect(admission.stored.size).toBe(0);
      // Waited the whole bound, and no longer than the bound and one poll (and the notice after the delete).
      expect(elapsed()).toBeGreaterThanOrEqual(4_000);
      expect(elapsed()).toBeLessThanOrEqual(4_000 + 250 + API_SERVER_NOTICE_MS);
    });

    it('never takes its own name on the lease for a successor', async () => {
      const { admission, deps } = setUp(fakeLease(['me']));
      admission.register(MUTATING, OURS);
      const outcome = await releaseWebhookConfigurations({ action: 'hand-over', withinMs: 1_000 }, deps);
      expect(outcome.$case).toBe('removal');
    });
  });

  describe('keeping', () => {
    it.each(['in-cluster', 'follower'] as const)('asks the API server nothing when %s', async (reason) => {
      const { admission, deps } = setUp(fakeLease(['']));
      admission.register(MUTATING, OURS);
      const outcome = await releaseWebhookConfigurations({ action: 'keep', reason }, deps);
      expect(outcome).toEqual({ $case: 'kept', reason });
      expect(admission.calls).toEqual([]);
    });
  });
});
