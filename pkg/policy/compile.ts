// compile(policy): the user's kyverno.io/v1 object in, the webhook's internal form (or every problem found) out.
// Pure: no I/O, no clock. Validation messages follow Kyverno's (shared/reference/kyverno-verifyimages.md §1.4–§1.5)
// so that a policy Kyverno rejects is rejected here with the same words, plus the field to fix. The policy and its
// rules are compiled here; image verifications in image-verification.ts, attestors in attestors.ts.
import { KIND_NAMES, parsePolicy, type PolicyKind, type PolicyResource, type RuleType } from '../api/v1/index.js';
import { compileImagePattern } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import { EMPTY_TRUST_ROOT, type TrustRoot } from '../trust/index.js';
import { AttestorCompiler } from './attestors.js';
import { AUTOGEN_ANNOTATION, toAutogenRules } from './autogen.js';
import {
  toPolicyKey,
  type CompileError,
  type CompiledImageVerification,
  type CompiledPolicy,
  type CompiledRule,
  type FailureAction,
  type RuleCount,
} from './compiled-policy.js';
import { compileImageExtractors, type CompiledImageExtractors } from './image-extractors.js';
import { compileResourceFilters } from './resource-filter.js';
import { compileLabelSelector, type CompiledLabelSelector, type LabelSelector } from './resource-filter-labels.js';
import { compileImageVerification, type VerificationContext } from './image-verification.js';
import { checkRuleFields, checkSpecFields } from './unsupported-fields.js';
import { compileRuleContext } from './rule-context.js';
import { hasDeferredAttestors } from './resolve-attestors.js';

/** Kyverno's webhook default (--webhookTimeout). */
export const DEFAULT_TIMEOUT_SECONDS = 10;

export interface CompileOptions {
  /** The operator's trust root (--trusted-root); policies add their own keys and roots to it. */
  readonly trustRoot?: TrustRoot;
}

/** Compiles a ClusterPolicy or Policy object as read from the API server or a file. */
export function compile(object: unknown, options: CompileOptions = {}): Result<CompiledPolicy, CompileError[]> {
  const parsed = parsePolicy(object);
  if (!parsed.ok) return err(parsed.error.map((e) => ({ reason: 'InvalidSpec', ...e })));
  return new Compiler(parsed.value, options.trustRoot ?? EMPTY_TRUST_ROOT).run();
}

class Compiler {
  readonly #policy: PolicyResource;
  readonly #errors: CompileError[] = [];
  readonly #context: VerificationContext;
  /**
   * The verifyImages of the policy's own rules, by their JSON: an autogen rule is a copy of its rule with other
   * kinds, so its entries are the very same objects (one parsed key and one set of patterns, not three per policy,
   * which is most of what 1,000 policies weigh); their messages name the rule the user wrote. Entries that autogen
   * rewrote compile on their own, and so does each of the user's rules (its messages name its own fields).
   */
  readonly #verifyImagesByJson = new Map<string, CompiledImageVerification[]>();

  constructor(policy: PolicyResource, trustRoot: TrustRoot) {
    this.#policy = policy;
    const fail = (reason: CompileError['reason'], field: string, message: string) => this.#fail(reason, field, message);
    this.#context = { fail, attestors: new AttestorCompiler(trustRoot, fail) };
  }

  run(): Result<CompiledPolicy, CompileError[]> {
    const policy = this.#policy;
    const meta = (policy.metadata ?? {}) as {
      name?: unknown;
      namespace?: unknown;
      uid?: unknown;
      generation?: unknown;
      resourceVersion?: unknown;
    };
    const kind: PolicyKind = policy.kind === 'Policy' ? 'Policy' : 'ClusterPolicy';
    if (policy.kind !== undefined && !(policy.kind in KIND_NAMES)) {
      this.#fail(
        'InvalidSpec',
        'kind',
        `Unsupported value ${JSON.stringify(policy.kind)}: supported values: "ClusterPolicy", "Policy"`,
      );
    }
    const name = typeof meta.name === 'string' ? meta.name : '';
    if (name === '') this.#fail('InvalidSpec', 'metadata.name', 'Required value');
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : '';
    if (kind === 'ClusterPolicy' && namespace !== '') {
      this.#fail(
        'InvalidSpec',
        'metadata.namespace',
        'a ClusterPolicy is cluster-scoped and must not have a namespace',
      );
    }
    const spec = policy.spec;
    const timeout = spec.webhookConfiguration?.timeoutSeconds ?? spec.webhookTimeoutSeconds;
    if (timeout !== undefined && (timeout < 1 || timeout > 30)) {
      this.#fail(
        'InvalidSpec',
        'spec.webhookTimeoutSeconds',
        `Invalid value ${timeout}: the timeout value must be between 1 and 30 seconds`,
      );
    }
    if (spec.webhookTimeoutSeconds !== undefined && spec.webhookConfiguration?.timeoutSeconds !== undefined) {
      this.#fail(
        'InvalidSpec',
        'spec.webhookTimeoutSeconds',
        'remove the deprecated field and use spec.webhookConfiguration.timeoutSeconds instead',
      );
    }
    if (spec.failurePolicy !== undefined && spec.webhookConfiguration?.failurePolicy !== undefined) {
      this.#fail(
        'InvalidSpec',
        'spec.failurePolicy',
        'remove the deprecated field and use spec.webhookConfiguration.failurePolicy instead',
      );
    }
    checkSpecFields(spec, (reason, field, message) => this.#fail(reason, field, message));
    const specAction: FailureAction = /^enforce$/i.test(spec.validationFailureAction ?? '') ? 'Enforce' : 'Audit';
    const names = new Set<string>();
    const rules: CompiledRule[] = [];
    spec.rules.forEach((rule, i) => {
      const field = `spec.rules[${i}]`;
      if (names.has(rule.name))
        this.#fail('InvalidSpec', `${field}.name`, `Duplicate value ${JSON.stringify(rule.name)}`);
      names.add(rule.name);
      rules.push(this.#rule(rule, field, specAction));
    });
    if (this.#errors.length > 0) return err(this.#errors);
    // Generated rules are copies of rules that just compiled; they are compiled the same way, so the webhook sees
    // no difference between a rule and its autogen copies but the kinds.
    const autogenRules = toAutogenRules(policy);
    const own = new Set(spec.rules.map((r) => r.name));
    autogenRules.forEach((rule) => {
      if (!own.has(rule.name)) rules.push(this.#rule(rule, `status.autogen.rules[${rule.name}]`, specAction, true));
    });
    if (this.#errors.length > 0) return err(this.#errors);
    const annotations = (meta as { annotations?: Record<string, unknown> }).annotations;
    const autogenAnnotation = annotations?.[AUTOGEN_ANNOTATION];
    return ok({
      key: toPolicyKey({ kind, namespace, name }),
      ref: { kind, namespace, name },
      uid: typeof meta.uid === 'string' ? meta.uid : '',
      generation: typeof meta.generation === 'number' ? meta.generation : 0,
      resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
      failurePolicy: spec.webhookConfiguration?.failurePolicy ?? spec.failurePolicy ?? 'Fail',
      timeoutSeconds: timeout ?? DEFAULT_TIMEOUT_SECONDS,
      rules,
      ruleCount: countRules(spec.rules),
      autogenRules,
      unenforcedRules: spec.rules.flatMap((r) =>
        (['validate', 'mutate', 'generate'] as const)
          .filter((t) => r[t] !== undefined)
          .map((t) => `${t} rule ${JSON.stringify(r.name)}`),
      ),
      failureActionOverrides: (spec.validationFailureActionOverrides ?? []).map((o, i) => {
        let namespaceSelector: CompiledLabelSelector | undefined;
        if (o.namespaceSelector) {
          const at = `spec.validationFailureActionOverrides[${i}].namespaceSelector`;
          const compiled = compileLabelSelector(o.namespaceSelector as LabelSelector, at);
          if (compiled.ok) namespaceSelector = compiled.value;
          else for (const e of compiled.error) this.#fail('InvalidSpec', e.field, e.message);
        }
        return {
          action: /^enforce$/i.test(o.action ?? '') ? ('Enforce' as const) : ('Audit' as const),
          namespaces: (o.namespaces ?? []).map((n) => compileImagePattern(n)),
          ...(namespaceSelector ? { namespaceSelector } : {}),
        };
      }),
      revision: `${typeof meta.uid === 'string' ? meta.uid : ''}/${typeof meta.generation === 'number' ? meta.generation : 0}/${typeof autogenAnnotation === 'string' ? autogenAnnotation : ''}`,
    });
  }

  #fail(reason: CompileError['reason'], field: string, message: string): void {
    this.#errors.push({ reason, field, message });
  }

  #rule(rule: RuleType, field: string, specAction: FailureAction, autogen = false): CompiledRule {
    const types = (['mutate', 'validate', 'generate', 'verifyImages'] as const).filter((t) => rule[t] !== undefined);
    if (types.length > 1) {
      this.#fail(
        'InvalidSpec',
        field,
        `Multiple operations defined in the rule '${rule.name}', only one operation (mutate,validate,generate,verifyImages) is allowed per rule`,
      );
    }
    checkRuleFields(rule, field, (reason, at, message) => this.#fail(reason, at, message));
    const kinds = matchKinds(rule);
    const json = JSON.stringify(rule.verifyImages ?? []);
    const verifyImages =
      (autogen ? this.#verifyImagesByJson.get(json) : undefined) ??
      (rule.verifyImages ?? []).map((iv, j) =>
        compileImageVerification(iv, `${field}.verifyImages[${j}]`, specAction, this.#context),
      );
    if (!autogen) this.#verifyImagesByJson.set(json, verifyImages);
    if (verifyImages.length > 0 && kinds.has('*')) {
      this.#fail('InvalidSpec', `${field}.match`, 'wildcard policy does not support rule type');
    }
    if (rule.imageExtractors !== undefined && rule.verifyImages === undefined) {
      this.#fail(
        'InvalidSpec',
        `${field}.imageExtractors`,
        `Invalid rule spec for rule '${rule.name}', imageExtractors can only be defined for verifyImages rule`,
      );
    }
    // Loaded per admission by the webhook, for the rules that apply (rule-context.ts).
    const context =
      rule.verifyImages && rule.context
        ? compileRuleContext(rule.context, `${field}.context`, (reason, f, message) => this.#fail(reason, f, message))
        : [];
    const filters = compileResourceFilters(rule.match, rule.exclude, field);
    if (!filters.ok) for (const e of filters.error) this.#fail('InvalidSpec', e.field, e.message);
    let imageExtractors: CompiledImageExtractors | undefined;
    if (rule.imageExtractors !== undefined) {
      const compiled = compileImageExtractors(rule.imageExtractors, `${field}.imageExtractors`);
      if (compiled.ok) imageExtractors = compiled.value;
      else for (const e of compiled.error) this.#fail('InvalidSpec', e.field, e.message);
    }
    return {
      name: rule.name,
      kinds,
      verifyImages,
      ...(context.length > 0 ? { context } : {}),
      ...(context.length > 0 || verifyImages.some(hasDeferredAttestors) ? { fills: true } : {}),
      ...(filters.ok ? { filter: filters.value } : {}),
      ...(imageExtractors ? { imageExtractors } : {}),
    };
  }
}

/** The kinds a rule matches, stripped of group and version once here rather than at every admission. */
function matchKinds(rule: RuleType): ReadonlySet<string> {
  const descriptions = [
    rule.match.resources,
    ...(rule.match.any ?? []).map((f) => f.resources),
    ...(rule.match.all ?? []).map((f) => f.resources),
  ];
  return new Set(descriptions.flatMap((d) => d?.kinds ?? []).map((k) => k.slice(k.lastIndexOf('/') + 1)));
}

/** status.rulecount; autogen rules are not counted (Kyverno policy_status.go). */
function countRules(rules: readonly RuleType[]): RuleCount {
  const own = rules.filter((r) => !r.name.startsWith('autogen-'));
  const count = (t: 'validate' | 'mutate' | 'generate' | 'verifyImages') =>
    own.filter((r) => r[t] !== undefined).length;
  return {
    validate: count('validate'),
    mutate: count('mutate'),
    generate: count('generate'),
    verifyimages: count('verifyImages'),
  };
}
