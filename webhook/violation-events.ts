// The PolicyViolation Events of one admission, as Kyverno records them (kyverno-verifyimages.md §4.4;
// pkg/webhooks/utils/event.go GenerateEvents and pkg/event/events.go): pure, data in → data out. The handler decides
// (decide.ts); this says what to record about it; cmd/main.ts hands each event to the operator's EventRecorder as is.
//
// For each image a rule failed (Verified and refused) or could not decide (an error: RegistryError, Timeout):
//   - on the policy: a Warning PolicyViolation, regarding the ClusterPolicy/Policy, related the resource, action
//     `Resource Blocked` when the admission was denied and `Resource Passed` otherwise, note
//     `<Kind> <ns>/<name>: [<rule>] <fail|error>[ (blocked)]; <message>` (buildPolicyEventMessage);
//   - when the admission was not denied, also on the resource: a Warning PolicyViolation regarding the Pod,
//     Deployment…, action `Resource Passed`, note `policy <policy name>/<rule> <fail|error>: <message>`
//     (NewResourceViolationEvent).
//
// As in Kyverno:
//   - `blocked` is the admission's, not the rule's: when one rule denies, every failed rule's policy Event says
//     `(blocked)`, Audit ones included, since it describes what became of the resource.
//   - Errors are recorded whatever the failurePolicy: under Ignore the admission goes on, and the Event (with the
//     resource's) is what tells anyone the image was never verified; under Fail they block like a failure.
//   - Skips and passes record nothing (PolicyApplied is off by default in Kyverno, and omitted by its Helm chart).
//   - A resource without a name (generateName, on CREATE) gets no Event of its own, as Kyverno's event generator
//     skips Events whose regarding object has no name; its policy Events are kept, with no `related`.
//   - A resource's uid is put in the reference when the request carries it (UPDATE); on CREATE the API server
//     assigns it only after admission, so the reference has none, as Kyverno's have none.
// Unlike Kyverno, whose GenerateEvents also records a resource Event for every passed or skipped rule of a policy
// that failed somewhere (a quirk §4.4 does not describe), only failed and errored rules are recorded, and identical
// Events of one admission (two containers with one image) are recorded once, so a series counts admissions.
//
// Notes are made safe here: control and bidi characters become spaces (sanitizeText), and the note is cut to the
// API server's 1 KiB on a character boundary, with an ellipsis.
import { ERROR_REASONS, toEventType, type EventReason } from '../pkg/conditions/index.js';
import type { CompiledPolicy } from '../pkg/policy/index.js';
import { sanitizeText } from '../pkg/text/index.js';
import type { AdmissionRequest } from './admission-review.js';
import type { RuleResult } from './decide.js';

/** An object an Event is about: the fields of the operator's EventObjectReference, no more. */
export interface ViolationObjectReference {
  readonly kind: string;
  readonly apiVersion: string;
  readonly name: string;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly uid?: string;
}

/** One Event to record: the fields of the operator's EventInput, so EventRecorder.record takes it unchanged. */
export interface ViolationEvent {
  readonly regarding: ViolationObjectReference;
  readonly related?: ViolationObjectReference;
  readonly type: 'Normal' | 'Warning';
  readonly reason: EventReason;
  readonly action: ViolationAction;
  readonly note: string;
}

/** Kyverno's event actions (pkg/event/action.go). */
export type ViolationAction = 'Resource Blocked' | 'Resource Passed';

/** The admitted object as the request names it; name and uid may be absent (generateName, CREATE). */
export interface ViolationResource {
  readonly kind: string;
  /** `group/version`, or `version` for the core group. */
  readonly apiVersion: string;
  /** Empty or absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly name?: string;
  readonly uid?: string;
}

export interface ViolationEventsInput {
  readonly resource: ViolationResource;
  /** Whether the admission was denied (decideAdmission's `deny`). */
  readonly denied: boolean;
  readonly results: readonly RuleResult[];
  /** The policies the results came from (CompiledPolicy fits), for their kind, namespace and uid. */
  readonly policies: readonly Pick<CompiledPolicy, 'ref' | 'uid'>[];
}

/** The API server refuses an Event whose note is longer (k8s.io/kubernetes pkg/apis/core/validation/events.go). */
export const NOTE_MAX_BYTES = 1024;
const POLICY_API_VERSION = 'kyverno.io/v1';
const REASON: EventReason = 'PolicyViolation';
const ELLIPSIS = '…';

export function toViolationEvents(input: ViolationEventsInput): ViolationEvent[] {
  const { resource, denied } = input;
  const policies = new Map(input.policies.map((p) => [toDisplayName(p.ref), p]));
  const resourceRef = toResourceReference(resource);
  const type = toEventType(REASON);
  const events: ViolationEvent[] = [];
  const seen = new Set<string>();
  const add = (event: ViolationEvent) => {
    const key = JSON.stringify([event.regarding, event.related, event.action, event.note]);
    if (seen.has(key)) return;
    seen.add(key);
    events.push(event);
  };
  for (const result of input.results) {
    const policy = toPolicyReference(result.policy, policies.get(result.policy));
    for (const outcome of result.images) {
      if (outcome.status !== 'fail') continue;
      const status = ERROR_REASONS.has(outcome.reason) ? 'error' : 'fail';
      add({
        regarding: policy,
        ...(resourceRef ? { related: resourceRef } : {}),
        type,
        reason: REASON,
        action: denied ? 'Resource Blocked' : 'Resource Passed',
        note: toNote(
          `${toResourceName(resource)}: [${result.rule}] ${status}${denied ? ' (blocked)' : ''}; ${outcome.message}`,
        ),
      });
      if (denied || !resourceRef) continue;
      add({
        regarding: resourceRef,
        type,
        reason: REASON,
        action: 'Resource Passed',
        note: toNote(`policy ${policy.name}/${result.rule} ${status}: ${outcome.message}`),
      });
    }
  }
  return events;
}

/** The resource as an admission request names it: kind, `group/version`, namespace, name, and the uid once it has one. */
export function toViolationResource(request: AdmissionRequest): ViolationResource {
  const { group, version, kind } = request.kind;
  // The stored object's first: the API server checks the new object's against it only after admission.
  const uid = readUid(request.oldObject) ?? readUid(request.object);
  return {
    kind,
    apiVersion: group ? `${group}/${version}` : version,
    ...(request.namespace ? { namespace: request.namespace } : {}),
    ...(request.name ? { name: request.name } : {}),
    ...(uid ? { uid } : {}),
  };
}

/**
 * `text` safe for an Event: control and bidi characters replaced (sanitizeText) and at most NOTE_MAX_BYTES of UTF-8,
 * cut between characters and ended with an ellipsis when cut.
 */
export function toNote(text: string): string {
  const clean = sanitizeText(text, NOTE_MAX_BYTES);
  if (Buffer.byteLength(clean, 'utf8') <= NOTE_MAX_BYTES) return clean;
  const room = NOTE_MAX_BYTES - Buffer.byteLength(ELLIPSIS, 'utf8');
  let bytes = 0;
  let cut = '';
  // By code point: sanitizeText left the text well formed, so no surrogate pair is split.
  for (const char of clean) {
    bytes += Buffer.byteLength(char, 'utf8');
    if (bytes > room) break;
    cut += char;
  }
  return `${cut}${ELLIPSIS}`;
}

/** How RuleResult names a policy (and the blocked message does): `name`, or `namespace/name` for a Policy. */
function toDisplayName(ref: CompiledPolicy['ref']): string {
  return ref.kind === 'Policy' ? `${ref.namespace}/${ref.name}` : ref.name;
}

/**
 * The policy a result names. Its kind and namespace follow from the name alone (only a Policy's has a `/`, which a
 * Kubernetes name cannot hold), so a result whose policy was not passed still gets its Event, without a uid.
 */
function toPolicyReference(
  displayName: string,
  policy: Pick<CompiledPolicy, 'ref' | 'uid'> | undefined,
): ViolationObjectReference {
  const slash = displayName.indexOf('/');
  const ref = policy?.ref ?? {
    kind: slash < 0 ? 'ClusterPolicy' : 'Policy',
    namespace: slash < 0 ? '' : displayName.slice(0, slash),
    name: displayName.slice(slash + 1),
  };
  return {
    kind: ref.kind,
    apiVersion: POLICY_API_VERSION,
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(policy?.uid ? { uid: policy.uid } : {}),
  };
}

/** The resource as an Event's reference; none without a name, which no Event can be about. */
function toResourceReference(resource: ViolationResource): ViolationObjectReference | undefined {
  if (!resource.name) return undefined;
  return {
    kind: resource.kind,
    apiVersion: resource.apiVersion,
    name: resource.name,
    ...(resource.namespace ? { namespace: resource.namespace } : {}),
    ...(resource.uid ? { uid: resource.uid } : {}),
  };
}

/** `<Kind> <ns>/<name>`, or `<Kind> <name>` for a cluster-scoped object, as Kyverno's notes name it. */
function toResourceName(resource: ViolationResource): string {
  const name = resource.name ?? '';
  return resource.namespace ? `${resource.kind} ${resource.namespace}/${name}` : `${resource.kind} ${name}`;
}

function readUid(object: unknown): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const metadata = (object as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const uid = (metadata as { uid?: unknown }).uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}
