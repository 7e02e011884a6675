// desiredStatus: what a policy's status should say, from the policy and its compile result. Pure.
import { isDeepStrictEqual } from 'node:util';
import { formatFieldErrors } from '../pkg/api/v1/index.js';
import { CONDITION_READY, setCondition, type Condition } from '../pkg/conditions/index.js';
import type { CompileError, CompiledPolicy, RuleCount } from '../pkg/policy/index.js';
import type { Result } from '../pkg/result/index.js';

export interface PolicyStatus {
  readonly conditions: Condition[];
  readonly rulecount: RuleCount;
  /** The generated rules (Kyverno's status.autogen); empty when none. */
  readonly autogen: { readonly rules: readonly unknown[] };
}

/** What the controller reads of a policy object. */
export interface PolicyObject {
  readonly metadata?: { readonly generation?: number; readonly [k: string]: unknown };
  readonly spec?: { readonly rules?: readonly unknown[] };
  readonly status?: {
    readonly conditions?: readonly Condition[];
    readonly rulecount?: RuleCount;
    readonly autogen?: { readonly rules?: readonly unknown[] };
  };
}

/** The condition message limit of metav1.Condition. */
const MAX_MESSAGE = 32768;

export function desiredStatus(
  policy: PolicyObject,
  result: Result<CompiledPolicy, CompileError[]>,
  now: Date,
): PolicyStatus {
  const observedGeneration = policy.metadata?.generation ?? 0;
  const previous = policy.status?.conditions;
  if (result.ok) {
    const { unenforcedRules } = result.value;
    // Kyverno's message is "Ready"; a policy with rules this operator does not run says which, so nobody relies on them.
    const message =
      unenforcedRules.length === 0
        ? 'Ready'
        : `Ready; verifyImages rules are enforced, these are not (Imprimatur runs verifyImages only): ${unenforcedRules.join(', ')}`;
    return {
      conditions: setCondition(
        previous,
        { type: CONDITION_READY, status: 'True', reason: 'Succeeded', message: truncate(message), observedGeneration },
        now,
      ),
      rulecount: result.value.ruleCount,
      autogen: { rules: result.value.autogenRules },
    };
  }
  const first = result.error[0];
  const message = formatFieldErrors(result.error);
  return {
    conditions: setCondition(
      previous,
      {
        type: CONDITION_READY,
        status: 'False',
        reason: first?.reason ?? 'InvalidSpec',
        message: truncate(message),
        observedGeneration,
      },
      now,
    ),
    rulecount: countRulesLeniently(policy.spec?.rules),
    autogen: { rules: [] },
  };
}

function truncate(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
}

/** Whether writing `desired` would change what the object already says. */
export function isStatusCurrent(policy: PolicyObject, desired: PolicyStatus): boolean {
  return isDeepStrictEqual(pick(policy.status), desired);
}

function pick(status: PolicyObject['status']): PolicyStatus | undefined {
  if (!status?.conditions || !status.rulecount || !status.autogen) return undefined;
  const r = status.rulecount;
  return {
    conditions: status.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      observedGeneration: c.observedGeneration ?? 0,
      lastTransitionTime: c.lastTransitionTime,
    })),
    rulecount: { validate: r.validate, mutate: r.mutate, generate: r.generate, verifyimages: r.verifyimages },
    autogen: { rules: status.autogen.rules ?? [] },
  };
}

/** Rule counts of a policy that did not compile: whatever its rules look like. */
function countRulesLeniently(rules: readonly unknown[] | undefined): RuleCount {
  const own = (rules ?? []).filter(
    (r): r is Record<string, unknown> =>
      typeof r === 'object' && r !== null && !String((r as { name?: unknown }).name ?? '').startsWith('autogen-'),
  );
  const count = (t: string) => own.filter((r) => r[t] !== undefined).length;
  return {
    validate: count('validate'),
    mutate: count('mutate'),
    generate: count('generate'),
    verifyimages: count('verifyImages'),
  };
}
