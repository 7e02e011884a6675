// compile(policy): the user's kyverno.io/v1 object in, the webhook's internal form (or every problem found) out.
// Pure: no I/O, no clock. Validation messages follow Kyverno's (shared/reference/kyverno-verifyimages.md §1.4–§1.5)
// so that a policy Kyverno rejects is rejected here with the same words, plus the field to fix.
import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  KIND_NAMES,
  parsePolicy,
  type ImageVerificationType,
  type PolicyKind,
  type PolicyResource,
  type RuleType,
} from '../api/v1/index.js';
import { compileImagePattern } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import { AUTOGEN_ANNOTATION, toAutogenRules } from './autogen.js';
import { findExpressionErrors } from './condition-expressions.js';
import { checkExtensionKeys, EMPTY_TRUST_ROOT, toAttestorTrust, type TrustRoot } from '../trust/index.js';
import {
  toPolicyKey,
  type AttestorTrust,
  type CompileError,
  type CompiledAttestation,
  type CompiledAttestor,
  type CompiledAttestorSet,
  type CompiledImageVerification,
  type CompiledPolicy,
  type CompiledRule,
  type FailureAction,
  type RuleCount,
} from './compiled-policy.js';

/** Kyverno's webhook default (--webhookTimeout). */
export const DEFAULT_TIMEOUT_SECONDS = 10;
const SIGNATURE_ALGORITHMS = new Set(['', 'sha224', 'sha256', 'sha384', 'sha512']);
const END_PUBLIC_KEY = '-----END PUBLIC KEY-----';

type Attestor = NonNullable<NonNullable<ImageVerificationType['attestors']>[number]['entries']>[number];
type AttestorSet = NonNullable<ImageVerificationType['attestors']>[number];
type RekorSettings = NonNullable<NonNullable<Attestor['keys']>['rekor']>;
type CTLogSettings = NonNullable<NonNullable<Attestor['keys']>['ctlog']>;

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
  readonly #trustRoot: TrustRoot;
  readonly #errors: CompileError[] = [];

  constructor(policy: PolicyResource, trustRoot: TrustRoot) {
    this.#policy = policy;
    this.#trustRoot = trustRoot;
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
      if (!own.has(rule.name)) rules.push(this.#rule(rule, `status.autogen.rules[${rule.name}]`, specAction));
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
      failureActionOverrides: (spec.validationFailureActionOverrides ?? []).map((o) => ({
        action: /^enforce$/i.test(o.action ?? '') ? ('Enforce' as const) : ('Audit' as const),
        namespaces: (o.namespaces ?? []).map((n) => compileImagePattern(n)),
        ...(o.namespaceSelector ? { namespaceSelector: o.namespaceSelector } : {}),
      })),
      revision: `${typeof meta.uid === 'string' ? meta.uid : ''}/${typeof meta.generation === 'number' ? meta.generation : 0}/${typeof autogenAnnotation === 'string' ? autogenAnnotation : ''}`,
    });
  }

  #fail(reason: CompileError['reason'], field: string, message: string): void {
    this.#errors.push({ reason, field, message });
  }

  #rule(rule: RuleType, field: string, specAction: FailureAction): CompiledRule {
    const types = (['mutate', 'validate', 'generate', 'verifyImages'] as const).filter((t) => rule[t] !== undefined);
    if (types.length > 1) {
      this.#fail(
        'InvalidSpec',
        field,
        `Multiple operations defined in the rule '${rule.name}', only one operation (mutate,validate,generate,verifyImages) is allowed per rule`,
      );
    }
    const kinds = matchKinds(rule);
    const verifyImages = (rule.verifyImages ?? []).map((iv, j) =>
      this.#imageVerification(iv, `${field}.verifyImages[${j}]`, specAction),
    );
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
    return { name: rule.name, kinds, verifyImages };
  }

  #imageVerification(iv: ImageVerificationType, field: string, specAction: FailureAction): CompiledImageVerification {
    const type = iv.type ?? 'Cosign';
    const failureAction = iv.failureAction ?? specAction;
    const mutateDigest = iv.mutateDigest ?? true;
    if (failureAction === 'Audit' && mutateDigest) {
      this.#fail(
        'InvalidSpec',
        `${field}.mutateDigest`,
        'mutateDigest must be set to false for \u2018Audit\u2019 failure action',
      );
    }
    const references = [...(iv.imageReferences ?? []), ...(iv.image ? [iv.image] : [])];
    const referencesField = iv.image && !iv.imageReferences ? `${field}.image` : `${field}.imageReferences`;
    if (references.length === 0)
      this.#fail('InvalidSpec', `${field}.imageReferences`, 'An image reference is required');
    const patterns = (list: readonly string[], at: string) =>
      list.map((p, k) => {
        if (p.includes('{{'))
          this.#fail('InvalidImagePattern', `${at}[${k}]`, 'variables are not allowed in image reference');
        return compileImagePattern(p);
      });

    // Legacy fields (image, key, issuer/subject/roots, annotations) become one attestor set, as Kyverno's
    // ImageVerification.Convert() does. Unlike Convert(), a legacy key also signs the attestations: Kyverno drops
    // it there (kyverno-verifyimages.md §2), which leaves the seed's attest-code-review policy checking nothing.
    const legacy = this.#legacyAttestorSet(iv, field, type);
    const attestors = (iv.attestors ?? []).map((s, k) => this.#attestorSet(s, `${field}.attestors[${k}]`, type));
    if (legacy && !iv.attestations) attestors.push(legacy);
    const attestations = (iv.attestations ?? []).map((a, k): CompiledAttestation => {
      const at = `${field}.attestations[${k}]`;
      const predicateType = a.type ?? a.predicateType ?? '';
      if (predicateType === '') this.#fail('InvalidSpec', `${at}.type`, 'missing type');
      const sets = (a.attestors ?? []).map((s, m) => this.#attestorSet(s, `${at}.attestors[${m}]`, type));
      if (legacy && sets.length === 0) sets.push(legacy);
      for (const e of findExpressionErrors(a.conditions ?? [], `${at}.conditions`)) {
        this.#fail('InvalidSpec', e.field, e.message);
      }
      return {
        field: at,
        ...(a.name !== undefined ? { name: a.name } : {}),
        predicateType,
        attestors: sets,
        conditions: a.conditions ?? [],
      };
    });
    return {
      field,
      type,
      imageReferences: patterns(references, referencesField),
      skipImageReferences: patterns(iv.skipImageReferences ?? [], `${field}.skipImageReferences`),
      attestors,
      attestations,
      ...(iv.repository ? { repository: iv.repository } : {}),
      failureAction,
      mutateDigest,
      verifyDigest: iv.verifyDigest ?? true,
      required: iv.required ?? true,
      useCache: iv.useCache ?? true,
    };
  }

  #legacyAttestorSet(iv: ImageVerificationType, field: string, type: string): CompiledAttestorSet | undefined {
    if (!iv.key && !iv.issuer && !iv.annotations) return undefined;
    let entry: Attestor;
    let entryField: string;
    if (iv.key) {
      entry = { keys: { publicKeys: iv.key }, annotations: iv.annotations };
      entryField = `${field}.key`;
    } else if (iv.issuer) {
      entry = { keyless: { issuer: iv.issuer, subject: iv.subject, roots: iv.roots }, annotations: iv.annotations };
      entryField = `${field}.issuer`;
    } else {
      return undefined;
    }
    return this.#attestorSet({ entries: [entry] }, field, type, entryField);
  }

  #attestorSet(set: AttestorSet, field: string, type: string, legacyField?: string): CompiledAttestorSet {
    const entries = set.entries ?? [];
    if (entries.length === 0) this.#fail('InvalidSpec', `${field}.entries`, 'An entry is required');
    if (set.count !== undefined && set.count > entries.length) {
      this.#fail('InvalidSpec', `${field}.count`, 'Count cannot exceed length of entries');
    }
    const compiled = entries.flatMap((e, k) =>
      this.#attestor(e, legacyField ?? `${field}.entries[${k}]`, type, !!legacyField),
    );
    // count applies after multi-PEM keys are expanded into separate entries (Kyverno ExpandStaticKeys).
    const count = set.count === undefined || set.count === 0 ? compiled.length : set.count;
    return { field, count, entries: compiled };
  }

  #attestor(a: Attestor, field: string, type: string, legacy: boolean): CompiledAttestor[] {
    const kinds = (['keys', 'certificates', 'keyless', 'attestor'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      this.#fail('InvalidSpec', field, 'keys, certificates, keyless, or a nested attestor is required');
      return [];
    }
    const annotations = a.annotations ?? {};
    const repository = a.repository ? { repository: a.repository } : {};
    if (a.keys) {
      if (type === 'Notary') this.#fail('InvalidSpec', `${field}.keys`, 'Keys field is not allowed for type notary');
      const keys = a.keys;
      const keyField = legacy ? field : `${field}.keys.publicKeys`;
      if (!keys.publicKeys && !keys.kms && !keys.secret) {
        this.#fail('InvalidSpec', `${field}.keys`, 'A public key, kms key or secret is required');
        return [];
      }
      const algorithm = keys.signatureAlgorithm ?? a.signatureAlgorithm ?? 'sha256';
      if (keys.publicKeys && !SIGNATURE_ALGORITHMS.has(algorithm)) {
        this.#fail('InvalidSpec', `${field}.keys.signatureAlgorithm`, 'Invalid signature algorithm provided');
      }
      if (keys.kms) return [{ $case: 'keyRef', field: `${field}.keys.kms`, ref: keys.kms, annotations, ...repository }];
      if (keys.secret) {
        const ref = `k8s://${keys.secret.namespace}/${keys.secret.name}`;
        return [{ $case: 'keyRef', field: `${field}.keys.secret`, ref, annotations, ...repository }];
      }
      const pems = splitPublicKeys(keys.publicKeys ?? '');
      if (pems.length === 0) {
        this.#fail('InvalidKey', keyField, 'invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found');
        return [];
      }
      // Keys first, then what they are checked against: a key that does not parse is the first thing to fix.
      const parsedKeys = pems.map((pem, n) => {
        if (pem.startsWith('k8s://') || /^[a-z]+kms:\/\//.test(pem) || pem.startsWith('hashivault://')) {
          return { $case: 'keyRef' as const, ref: pem };
        }
        const parsed = parsePublicKey(pem);
        if (!parsed.ok) {
          const which = pems.length > 1 ? ` (key ${n + 1} of ${pems.length})` : '';
          this.#fail('InvalidKey', keyField, `invalid public key${which}: ${parsed.error}`);
        }
        return parsed.ok ? { $case: 'key' as const, key: parsed.value } : undefined;
      });
      const trust = this.#trust(legacy ? field : `${field}.keys`, legacy, keys, false);
      return parsedKeys.flatMap((parsed, n): CompiledAttestor[] => {
        if (parsed === undefined) return [];
        if (parsed.$case === 'keyRef') {
          return [{ $case: 'keyRef', field: keyField, ref: parsed.ref, annotations, ...repository }];
        }
        return [
          {
            $case: 'key',
            field: keyField,
            keyIndex: n,
            key: parsed.key,
            trust,
            annotations,
            signatureAlgorithm: algorithm,
            ...repository,
          },
        ];
      });
    }
    if (a.certificates) {
      const c = a.certificates;
      if (!c.cert && !c.certChain) {
        this.#fail('InvalidSpec', `${field}.certificates`, 'cert or certChain required');
        return [];
      }
      const cert = c.cert ? this.#certificates(c.cert, `${field}.certificates.cert`)[0] : undefined;
      const chain = c.certChain ? this.#certificates(c.certChain, `${field}.certificates.certChain`) : [];
      // A certificate without a chain is used as a key (Kyverno buildCosignOptions): what it signed verifies with its
      // key, whether or not the signature carries the certificate. With a chain, the signature's certificate must lead
      // to the chain.
      if (cert && chain.length === 0) {
        const trust = this.#trust(`${field}.certificates`, false, c, false);
        const keyField = `${field}.certificates.cert`;
        return [
          {
            $case: 'key',
            field: keyField,
            keyIndex: 0,
            key: cert.publicKey,
            trust,
            annotations,
            signatureAlgorithm: 'sha256',
            ...repository,
          },
        ];
      }
      const trust = this.#trust(`${field}.certificates`, false, c, true, chain);
      return [
        {
          $case: 'certificate',
          field: `${field}.certificates`,
          ...(cert ? { cert } : {}),
          chain,
          trust,
          annotations,
          ...repository,
        },
      ];
    }
    if (a.keyless) {
      if (type === 'Notary')
        this.#fail('InvalidSpec', `${field}.keyless`, 'Keyless field is not allowed for type notary');
      const k = a.keyless;
      const at = legacy ? field : `${field}.keyless`;
      if (!k.rekor && !k.roots) this.#fail('InvalidSpec', at, 'Either Rekor URL or roots are required');
      if (k.rekor && !k.rekor.url) this.#fail('InvalidSpec', `${at}.rekor.url`, 'An URL is required');
      // An empty expression is no expression, as in Kyverno.
      const regexp = (source: string | undefined, f: string) => {
        if (source === undefined || source === '') return undefined;
        try {
          return new RegExp(source);
        } catch (e) {
          this.#fail('InvalidSpec', f, `invalid regular expression: ${(e as Error).message}`);
          return undefined;
        }
      };
      const issuerRegExp = regexp(k.issuerRegExp, `${at}.issuerRegExp`);
      const subjectRegExp = regexp(k.subjectRegExp, `${at}.subjectRegExp`);
      const badExtension = checkExtensionKeys(k.additionalExtensions ?? {});
      if (badExtension) this.#fail('InvalidSpec', `${at}.additionalExtensions`, badExtension);
      const roots = k.roots ? this.#certificates(k.roots, `${at}.roots`) : [];
      const trust = this.#trust(at, legacy, k, true, roots);
      return [
        {
          $case: 'keyless',
          field: at,
          ...(k.issuer ? { issuer: compileImagePattern(k.issuer) } : {}),
          ...(issuerRegExp ? { issuerRegExp } : {}),
          ...(k.subject ? { subject: compileImagePattern(k.subject) } : {}),
          ...(subjectRegExp ? { subjectRegExp } : {}),
          extensions: k.additionalExtensions ?? {},
          trust,
          annotations,
          ...repository,
        },
      ];
    }
    const nested = a.attestor as AttestorSet | undefined;
    if (typeof nested !== 'object' || nested === null || Array.isArray(nested)) {
      this.#fail(
        'InvalidSpec',
        `${field}.attestor`,
        'failed to unmarshal attestor set: expected an object with count and entries',
      );
      return [];
    }
    return [{ $case: 'nested', field: `${field}.attestor`, set: this.#attestorSet(nested, `${field}.attestor`, type) }];
  }

  /**
   * The trust an attestor verifies against, and a MissingTrustRoot failure when it needs material that neither the
   * policy nor the operator's trust root holds: it is never fetched online, so it is better said now than at the
   * first admission. `checksCertificates` is whether a signing certificate is validated against CAs (and SCTs).
   */
  #trust(
    field: string,
    legacy: boolean,
    settings: { rekor?: RekorSettings; ctlog?: CTLogSettings },
    checksCertificates: boolean,
    roots: readonly X509Certificate[] = [],
  ): AttestorTrust {
    const at = (sub: string) => (legacy ? field : `${field}.${sub}`);
    const { rekor, ctlog } = settings;
    const requireTlog = !(rekor?.ignoreTlog ?? false);
    const requireSct = checksCertificates && !(ctlog?.ignoreSCT ?? false);
    const rekorKey = rekor?.pubkey ? this.#publicKey(rekor.pubkey, at('rekor.pubkey')) : undefined;
    const ctlogKey = ctlog?.pubkey ? this.#publicKey(ctlog.pubkey, at('ctlog.pubkey')) : undefined;
    const tsaChain = ctlog?.tsaCertChain ? this.#certificates(ctlog.tsaCertChain, at('ctlog.tsaCertChain')) : [];
    let authorities: AttestorTrust['authorities'];
    try {
      authorities = toAttestorTrust(this.#trustRoot, {
        rekorKeys: rekorKey ? [rekorKey] : [],
        ...(rekor?.url ? { rekorUrl: rekor.url } : {}),
        ctlogKeys: ctlogKey ? [ctlogKey] : [],
        roots: roots.map((c) => c.raw),
        tsaChain: tsaChain.map((c) => c.raw),
      });
    } catch (e) {
      // Node's parser accepted the certificates; sigstore's stricter one did not.
      this.#fail(
        'InvalidKey',
        at(roots.length > 0 ? 'roots' : 'ctlog.tsaCertChain'),
        `invalid certificate: ${(e as Error).message}`,
      );
      authorities = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
    }
    const trustedRoot = 'start the operator with a --trusted-root that holds';
    if (requireTlog && authorities.tlogs.length === 0) {
      // The legacy fields (key, issuer) have no rekor settings: Kyverno always checks their signatures against the log.
      const remedy = legacy
        ? `${trustedRoot} the log, or write the key as attestors[].entries[].keys with rekor.pubkey or rekor.ignoreTlog`
        : `set rekor.pubkey, set rekor.ignoreTlog: true, or ${trustedRoot} the log`;
      this.#fail(
        'MissingTrustRoot',
        at('rekor'),
        `signatures must be checked against the Rekor transparency log, but no Rekor public key is known: ${remedy}`,
      );
    }
    if (checksCertificates && authorities.certificateAuthorities.length === 0) {
      this.#fail(
        'MissingTrustRoot',
        at('roots'),
        `no certificate authority to check signing certificates against: set roots, or ${trustedRoot} the Fulcio CA`,
      );
    }
    if (checksCertificates && !requireTlog && authorities.timestampAuthorities.length === 0) {
      this.#fail(
        'InvalidSpec',
        at('rekor.ignoreTlog'),
        'a signing certificate is checked at the signing time that the transparency log proves; with ' +
          'rekor.ignoreTlog: true there is none unless a timestamp authority is trusted: set ctlog.tsaCertChain, ' +
          `or ${trustedRoot} the timestamp authority, or keep the transparency log`,
      );
    }
    if (requireSct && authorities.ctlogs.length === 0) {
      this.#fail(
        'MissingTrustRoot',
        at('ctlog'),
        'signing certificates must carry a certificate transparency timestamp (ctlog.ignoreSCT is not set), but no ' +
          `CT log public key is known: set ctlog.pubkey, set ctlog.ignoreSCT: true, or ${trustedRoot} the CT log`,
      );
    }
    return { requireTlog, requireSct, authorities };
  }

  #publicKey(pem: string, field: string) {
    const parsed = parsePublicKey(pem);
    if (!parsed.ok) this.#fail('InvalidKey', field, `invalid public key: ${parsed.error}`);
    return parsed.ok ? parsed.value : undefined;
  }

  #certificates(pem: string, field: string) {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0)
      this.#fail('InvalidKey', field, 'invalid certificate: no PEM block "-----BEGIN CERTIFICATE-----" found');
    return blocks.flatMap((b) => {
      try {
        return [new X509Certificate(b)];
      } catch (e) {
        this.#fail('InvalidKey', field, `invalid certificate: ${(e as Error).message}`);
        return [];
      }
    });
  }
}

/** Splits concatenated PEM public keys, as Kyverno's ExpandStaticKeys does. */
function splitPublicKeys(text: string): string[] {
  return text
    .split(END_PUBLIC_KEY)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => (part.includes('-----BEGIN') ? `${part}\n${END_PUBLIC_KEY}\n` : part));
}

function parsePublicKey(pem: string): Result<ReturnType<typeof createPublicKey>, string> {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) return err('no PEM block "-----BEGIN PUBLIC KEY-----" found');
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    const type = key.asymmetricKeyType;
    if (type !== 'ec' && type !== 'rsa' && type !== 'ed25519' && type !== 'rsa-pss') {
      return err(`unsupported key type ${String(type)}`);
    }
    return ok(key);
  } catch (e) {
    // OpenSSL's decoder messages are terse ("error:1E08010C:DECODER routines::unsupported"); say what failed too.
    return err(`the PEM block does not decode to a public key (${(e as Error).message})`);
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
