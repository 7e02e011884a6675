import type { AdmissionRequest } from './admission-review.js';
import type { ImageOutcome, RuleResult } from './decide.js';
import {
  NOTE_MAX_BYTES,
  toNote,
  toViolationEvents,
  toViolationResource,
  type ViolationEventsInput,
} from './violation-events.js';

const FAILED = 'image verification failed for registry.example/app:v1: signature not found';
const UNREACHABLE = 'image verification failed for registry.example/app:v1: registry error: connection refused';
const POD = { kind: 'Pod', apiVersion: 'v1', namespace: 'default', name: 'web', uid: 'pod-uid' };
const CLUSTER_POLICY = { ref: { kind: 'ClusterPolicy' as const, namespace: '', name: 'check-image' }, uid: 'cp-uid' };
const POLICY_REF = {
  kind: 'ClusterPolicy',
  apiVersion: 'kyverno.io/v1',
  name: 'check-image',
  uid: 'cp-uid',
};
const POD_REF = { kind: 'Pod', apiVersion: 'v1', namespace: 'default', name: 'web', uid: 'pod-uid' };

const fail = (message = FAILED): ImageOutcome => ({
  status: 'fail',
  image: 'registry.example/app:v1',
  reason: 'SignatureNotFound',
  message,
});
const error = (message = UNREACHABLE): ImageOutcome => ({
  status: 'fail',
  image: 'registry.example/app:v1',
  reason: 'RegistryError',
  message,
});

function rule(overrides: Partial<RuleResult>): RuleResult {
  return {
    policy: 'check-image',
    rule: 'check-image',
    failurePolicy: 'Fail',
    failureAction: 'Enforce',
    images: [],
    ...overrides,
  };
}

function input(overrides: Partial<ViolationEventsInput>): ViolationEventsInput {
  return { resource: POD, denied: false, results: [], policies: [CLUSTER_POLICY], ...overrides };
}

describe('toViolationEvents', () => {
  describe('when an Enforce rule denied the admission', () => {
    it('records one Warning PolicyViolation on the policy, related to the resource, saying it was blocked', () => {
      const events = toViolationEvents(input({ denied: true, results: [rule({ images: [fail()] })] }));
      expect(events).toEqual([
        {
          regarding: POLICY_REF,
          related: POD_REF,
          type: 'Warning',
          reason: 'PolicyViolation',
          action: 'Resource Blocked',
          note: `Pod default/web: [check-image] fail (blocked); ${FAILED}`,
        },
      ]);
    });

    it('records nothing on the resource, which was not created or changed', () => {
      const events = toViolationEvents(input({ denied: true, results: [rule({ images: [fail()] })] }));
      expect(events.map((e) => e.regarding.kind)).toEqual(['ClusterPolicy']);
    });

    it('says blocked on an Audit rule that failed in the same admission too, as Kyverno does', () => {
      const events = toViolationEvents(
        input({
          denied: true,
          results: [rule({ images: [fail()] }), rule({ rule: 'audit', failureAction: 'Audit', images: [fail()] })],
        }),
      );
      expect(events.map((e) => e.note)).toEqual([
        `Pod default/web: [check-image] fail (blocked); ${FAILED}`,
        `Pod default/web: [audit] fail (blocked); ${FAILED}`,
      ]);
      expect(events.every((e) => e.action === 'Resource Blocked')).toBe(true);
    });
  });

  describe('when an Audit rule failed and the admission went on', () => {
    const events = toViolationEvents(input({ results: [rule({ failureAction: 'Audit', images: [fail()] })] }));

    it('records the policy Event without "(blocked)", as Resource Passed', () => {
      expect(events[0]).toEqual({
        regarding: POLICY_REF,
        related: POD_REF,
        type: 'Warning',
        reason: 'PolicyViolation',
        action: 'Resource Passed',
        note: `Pod default/web: [check-image] fail; ${FAILED}`,
      });
    });

    it('records a second Event on the resource in Kyverno words: policy <policy>/<rule> fail: <message>', () => {
      expect(events[1]).toEqual({
        regarding: POD_REF,
        type: 'Warning',
        reason: 'PolicyViolation',
        action: 'Resource Passed',
        note: `policy check-image/check-image fail: ${FAILED}`,
      });
      expect(events).toHaveLength(2);
    });
  });

  describe('when the registry could not be read', () => {
    it('records the error under failurePolicy Ignore, on the policy and the admitted resource', () => {
      const events = toViolationEvents(input({ results: [rule({ failurePolicy: 'Ignore', images: [error()] })] }));
      expect(events.map((e) => [e.regarding.kind, e.action, e.note])).toEqual([
        ['ClusterPolicy', 'Resource Passed', `Pod default/web: [check-image] error; ${UNREACHABLE}`],
        ['Pod', 'Resource Passed', `policy check-image/check-image error: ${UNREACHABLE}`],
      ]);
    });

    it('records the error as blocked under failurePolicy Fail', () => {
      const events = toViolationEvents(input({ denied: true, results: [rule({ images: [error()] })] }));
      expect(events.map((e) => e.note)).toEqual([`Pod default/web: [check-image] error (blocked); ${UNREACHABLE}`]);
    });
  });

  describe('when nothing failed', () => {
    it('records nothing for passed and skipped images', () => {
      const events = toViolationEvents(
        input({
          results: [
            rule({
              images: [
                { status: 'pass', image: 'a', pointer: '/spec/containers/0/image' },
                { status: 'skip', image: 'b', message: 'skipping image reference b' },
              ],
            }),
          ],
        }),
      );
      expect(events).toEqual([]);
    });
  });

  describe('with several failures', () => {
    it('records each failed image of each rule, in order, policy Event before resource Event', () => {
      const other = 'image verification failed for registry.example/db:v2: invalid signature';
      const events = toViolationEvents(
        input({
          results: [
            rule({ failureAction: 'Audit', images: [fail(), fail(other)] }),
            rule({ rule: 'second', failureAction: 'Audit', images: [fail()] }),
          ],
        }),
      );
      expect(events.map((e) => e.note)).toEqual([
        `Pod default/web: [check-image] fail; ${FAILED}`,
        `policy check-image/check-image fail: ${FAILED}`,
        `Pod default/web: [check-image] fail; ${other}`,
        `policy check-image/check-image fail: ${other}`,
        `Pod default/web: [second] fail; ${FAILED}`,
        `policy check-image/second fail: ${FAILED}`,
      ]);
    });

    it('records an Event once when two containers failed with the same message', () => {
      const events = toViolationEvents(
        input({ results: [rule({ failureAction: 'Audit', images: [fail(), fail()] })] }),
      );
      expect(events).toHaveLength(2);
    });
  });

  describe('for a namespaced Policy', () => {
    const policy = { ref: { kind: 'Policy' as const, namespace: 'team', name: 'signed' }, uid: 'p-uid' };

    it('regards the Policy in its namespace, and names it without the namespace on the resource, as Kyverno does', () => {
      const events = toViolationEvents(
        input({
          policies: [CLUSTER_POLICY, policy],
          results: [rule({ policy: 'team/signed', rule: 'r', failureAction: 'Audit', images: [fail()] })],
        }),
      );
      expect(events[0]?.regarding).toEqual({
        kind: 'Policy',
        apiVersion: 'kyverno.io/v1',
        namespace: 'team',
        name: 'signed',
        uid: 'p-uid',
      });
      expect(events[1]?.note).toBe(`policy signed/r fail: ${FAILED}`);
    });

    it('still regards the right policy, without a uid, when its ref was not passed', () => {
      const events = toViolationEvents(
        input({ policies: [], denied: true, results: [rule({ policy: 'team/signed', images: [fail()] })] }),
      );
      expect(events[0]?.regarding).toEqual({
        kind: 'Policy',
        apiVersion: 'kyverno.io/v1',
        namespace: 'team',
        name: 'signed',
      });
    });
  });

  describe('for the resource as the request knows it', () => {
    it('records no resource Event for an object without a name (generateName), and no related reference', () => {
      const events = toViolationEvents(
        input({
          resource: { kind: 'Pod', apiVersion: 'v1', namespace: 'default' },
          results: [rule({ failureAction: 'Audit', images: [fail()] })],
        }),
      );
      expect(events).toEqual([
        {
          regarding: POLICY_REF,
          type: 'Warning',
          reason: 'PolicyViolation',
          action: 'Resource Passed',
          note: `Pod default/: [check-image] fail; ${FAILED}`,
        },
      ]);
    });

    it('refers to a resource without a uid (CREATE) by kind, namespace and name', () => {
      const events = toViolationEvents(
        input({
          resource: { kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'default', name: 'web' },
          results: [rule({ failureAction: 'Audit', images: [fail()] })],
        }),
      );
      expect(events[1]?.regarding).toEqual({
        kind: 'Deployment',
        apiVersion: 'apps/v1',
        namespace: 'default',
        name: 'web',
      });
      expect(events[0]?.note).toBe(`Deployment default/web: [check-image] fail; ${FAILED}`);
    });

    it('names a cluster-scoped resource without a namespace', () => {
      const events = toViolationEvents(
        input({
          resource: { kind: 'Task', apiVersion: 'tekton.dev/v1', name: 'build' },
          results: [rule({ failureAction: 'Audit', images: [fail()] })],
        }),
      );
      expect(events[0]?.note).toBe(`Task build: [check-image] fail; ${FAILED}`);
      expect(events[1]?.regarding).toEqual({ kind: 'Task', apiVersion: 'tekton.dev/v1', name: 'build' });
    });
  });

  describe('notes', () => {
    it('replace control and bidi characters from a registry with spaces', () => {
      const events = toViolationEvents(
        input({ results: [rule({ failureAction: 'Audit', images: [fail('bad\n[INFO] forged\u202Etxt.exe')] })] }),
      );
      for (const e of events) expect(e.note).not.toMatch(/[\n\u202E]/u);
      expect(events[1]?.note).toBe('policy check-image/check-image fail: bad [INFO] forged txt.exe');
    });

    it('are cut to 1 KiB of UTF-8 on a character boundary, ending with an ellipsis', () => {
      const events = toViolationEvents(
        input({ results: [rule({ failureAction: 'Audit', images: [fail(`${FAILED}: ${'é'.repeat(2000)}`)] })] }),
      );
      for (const e of events) {
        expect(Buffer.byteLength(e.note, 'utf8')).toBeLessThanOrEqual(NOTE_MAX_BYTES);
        expect(e.note.endsWith('é…')).toBe(true);
        expect(e.note).not.toContain('\uFFFD');
      }
    });
  });
});

describe('toNote', () => {
  it('keeps a note that fits unchanged', () => {
    expect(toNote('Pod default/web: [r] fail; x')).toBe('Pod default/web: [r] fail; x');
  });

  it('keeps a note of exactly 1 KiB whole', () => {
    const text = 'a'.repeat(NOTE_MAX_BYTES);
    expect(toNote(text)).toBe(text);
  });

  it('never splits a surrogate pair', () => {
    const note = toNote(`a${'😀'.repeat(400)}`);
    expect(Buffer.byteLength(note, 'utf8')).toBeLessThanOrEqual(NOTE_MAX_BYTES);
    expect(note.toWellFormed()).toBe(note);
    expect(note.endsWith('😀…')).toBe(true);
  });
});

describe('toViolationResource', () => {
  const request = (overrides: Partial<AdmissionRequest>): AdmissionRequest => ({
    uid: 'req',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    namespace: 'default',
    name: 'web',
    operation: 'CREATE',
    object: { metadata: { name: 'web' } },
    userInfo: { username: 'u', groups: [] },
    ...overrides,
  });

  it('names a core resource by its version and leaves out the uid a CREATE does not have yet', () => {
    expect(toViolationResource(request({}))).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
      namespace: 'default',
      name: 'web',
    });
  });

  it('names a grouped resource group/version and takes the uid of the stored object on UPDATE', () => {
    const resource = toViolationResource(
      request({
        kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
        operation: 'UPDATE',
        object: { metadata: { uid: 'claimed' } },
        oldObject: { metadata: { uid: 'stored' } },
      }),
    );
    expect(resource).toEqual({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      namespace: 'default',
      name: 'web',
      uid: 'stored',
    });
  });

  it('leaves out a name and namespace the request does not have (generateName, cluster-scoped)', () => {
    expect(toViolationResource(request({ namespace: undefined, name: undefined, object: 'not an object' }))).toEqual({
      kind: 'Pod',
      apiVersion: 'v1',
    });
  });
});
