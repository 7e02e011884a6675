// What an admission comes to, given what each rule found for each image: the decision half of the /mutate handler,
// pure, as operator/leader-lease.ts is for leader election. The handler gathers the results (verification, cache)
// and turns the decision into an AdmissionReview response (responses.ts).
//
// Kyverno's BlockRequest (kyverno-verifyimages.md §4.1): a request is blocked when a rule failed and its action is
// Enforce, or when a rule could not be decided (an error: registry unreachable, deadline) and its policy's
// failurePolicy is Fail. Errors block even in Audit. Otherwise it is admitted, with the digest patches of the images
// that verified, and a warning for each image that failed in Audit or errored under Ignore.
import { ERROR_REASONS, type VerifyReason } from '../pkg/conditions/index.js';
import type { FailureAction, FailurePolicy } from '../pkg/policy/index.js';
import { formatBlockedMessage, type BlockedResource, type BlockedRule } from './blocked-message.js';
import type { JsonPatchOperation } from './responses.js';

export type ImageOutcome =
  /** Verified: `pinned` is the image as it is to be written (`name[:tag]@digest`), when the rule pins it. */
  | { readonly status: 'pass'; readonly image: string; readonly pointer: string; readonly pinned?: string }
  /** Matched by skipImageReferences: not verified, admitted. */
  | { readonly status: 'skip'; readonly image: string; readonly message: string }
  /** Verified and refused, or not decided (an error reason): `message` is the deny message's line for the rule. */
  | { readonly status: 'fail'; readonly image: string; readonly reason: VerifyReason; readonly message: string };

export interface RuleResult {
  /** As the blocked message names it: `name`, or `namespace/name` for a Policy. */
  readonly policy: string;
  readonly rule: string;
  readonly failurePolicy: FailurePolicy;
  /** The rule's action for this request's namespace (entry, overrides, spec, in Kyverno's order). */
  readonly failureAction: FailureAction;
  readonly images: readonly ImageOutcome[];
}

export type AdmissionDecision =
  | {
      readonly $case: 'admit';
      readonly patches: readonly JsonPatchOperation[];
      readonly warnings: readonly string[];
    }
  | { readonly $case: 'deny'; readonly message: string; readonly warnings: readonly string[] };

/** Warnings are shown by kubectl one per line; the API server refuses very long ones. */
const MAX_WARNING_LENGTH = 255;

export function decideAdmission(resource: BlockedResource, results: readonly RuleResult[]): AdmissionDecision {
  const blocked: BlockedRule[] = [];
  const warnings: string[] = [];
  const patches: JsonPatchOperation[] = [];
  const patched = new Set<string>();
  for (const result of results) {
    let blocking: ImageOutcome | undefined;
    for (const outcome of result.images) {
      if (outcome.status === 'pass') {
        // The first rule to pin an image wins; the others verified the same digest or were not asked to pin.
        if (outcome.pinned !== undefined && !patched.has(outcome.pointer)) {
          patched.add(outcome.pointer);
          patches.push({ op: 'replace', path: outcome.pointer, value: outcome.pinned });
        }
        continue;
      }
      if (outcome.status === 'skip') {
        warnings.push(toWarning(result, outcome.message));
        continue;
      }
      const isError = ERROR_REASONS.has(outcome.reason);
      const blocks = isError ? result.failurePolicy === 'Fail' : result.failureAction === 'Enforce';
      if (blocks) blocking ??= outcome;
      else warnings.push(toWarning(result, outcome.message));
    }
    // One line per rule, as Kyverno's policy → rule map has room for: the first image that blocked.
    if (blocking?.status === 'fail')
      blocked.push({ policy: result.policy, rule: result.rule, message: blocking.message });
  }
  if (blocked.length > 0) return { $case: 'deny', message: formatBlockedMessage(resource, blocked), warnings };
  return { $case: 'admit', patches, warnings };
}

/** `policy <policy>.<rule>: <message>`, as Kyverno words warnings, cut to what the API server keeps. */
function toWarning(result: RuleResult, message: string): string {
  const text = `policy ${result.policy}.${result.rule}: ${message}`;
  return text.length > MAX_WARNING_LENGTH ? `${text.slice(0, MAX_WARNING_LENGTH - 1)}…` : text;
}
