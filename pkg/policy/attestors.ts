// Attestors as a policy writes them (attestors[].entries[]: keys, certificates, keyless, or a nested set) compiled
// into what verification reads: keys and certificates parsed, identity patterns and expressions compiled, and the
// trust material each attestor is checked against built from the policy and the operator's trusted root. Messages
// follow Kyverno's (kyverno-verifyimages.md §1.4), with the field to fix.
import { createPublicKey, X509Certificate } from 'node:crypto';
import { parseAttestorSet, type ImageVerificationType } from '../api/v1/index.js';
import { compileImagePattern } from '../imageref/index.js';
import { compileValueSubstitution } from '../conditions/index.js';
import { err, ok, type Result } from '../result/index.js';
import { checkExtensionKeys, EMPTY_TRUST_ROOT, toAttestorTrust, type TrustRoot } from '../trust/index.js';
import type { AttestorTrust, CompileError, CompiledAttestor, CompiledAttestorSet } from './compiled-policy.js';

const SIGNATURE_ALGORITHMS = new Set(['', 'sha224', 'sha256', 'sha384', 'sha512']);
/** Key references cosign resolves through a KMS: awskms://, gcpkms://, azurekms://, hashivault://. */
const KMS_REFERENCE = /^(?:[a-z]+kms|hashivault):\/\//;
const END_PUBLIC_KEY = '-----END PUBLIC KEY-----';

export type AttestorSet = NonNullable<ImageVerificationType['attestors']>[number];
type Attestor = NonNullable<AttestorSet['entries']>[number];
type RekorSettings = NonNullable<NonNullable<Attestor['keys']>['rekor']>;
type CTLogSettings = NonNullable<NonNullable<Attestor['keys']>['ctlog']>;
export type VerifierType = NonNullable<ImageVerificationType['type']>;

export type Fail = (reason: CompileError['reason'], field: string, message: string) => void;

export interface AttestorSetOptions {
  /** The set's field path, for messages. */
  readonly field?: string;
  /**
   * Names for the set's entries, in order: each attestor an entry compiles into carries its entry's label, and
   * verified matches name it (the CLI names a key by its file). Unlabelled attestors are named by their field.
   */
  readonly labels?: readonly string[];
  readonly trustRoot?: TrustRoot;
  readonly type?: VerifierType;
}

/**
 * Compiles one attestor set written as in a policy (`{count, entries}`), checked against the policy schema first:
 * what `imprimatur verify-image` builds from its flags.
 */
export function compileAttestorSet(
  set: unknown,
  options: AttestorSetOptions = {},
): Result<CompiledAttestorSet, CompileError[]> {
  const field = options.field ?? 'attestors[0]';
  const parsed = parseAttestorSet(set, field);
  if (!parsed.ok) return err(parsed.error.map((e) => ({ reason: 'InvalidSpec' as const, ...e })));
  const errors: CompileError[] = [];
  const compiler = new AttestorCompiler(options.trustRoot ?? EMPTY_TRUST_ROOT, (reason, f, message) =>
    errors.push({ reason, field: f, message }),
  );
  const compiled = compiler.set(parsed.value, field, options.type ?? 'Cosign', undefined, options.labels);
  return errors.length > 0 ? err(errors) : ok(compiled);
}

export class AttestorCompiler {
  readonly #trustRoot: TrustRoot;
  readonly #fail: Fail;

  constructor(trustRoot: TrustRoot, fail: Fail) {
    this.#trustRoot = trustRoot;
    this.#fail = fail;
  }

  /**
   * One attestor set. `legacyField` names the single entry made from the legacy key/issuer fields; `labels` name the
   * entries (see AttestorSetOptions).
   */
  set(
    set: AttestorSet,
    field: string,
    type: string,
    legacyField?: string,
    labels?: readonly string[],
  ): CompiledAttestorSet {
    const entries = set.entries ?? [];
    if (entries.length === 0) this.#fail('InvalidSpec', `${field}.entries`, 'An entry is required');
    if (set.count !== undefined && set.count > entries.length) {
      this.#fail('InvalidSpec', `${field}.count`, 'Count cannot exceed length of entries');
    }
    const compiled = entries.flatMap((e, k) => {
      const attestors = this.#attestor(e, legacyField ?? `${field}.entries[${k}]`, type, !!legacyField);
      const label = labels?.[k];
      return label === undefined ? attestors : attestors.map((a) => ({ ...a, label }));
    });
    // count applies after multi-PEM keys are expanded into separate entries (Kyverno ExpandStaticKeys).
    const count = set.count === undefined ? compiled.length : set.count;
    return { field, count, entries: compiled, ...(set.count === undefined ? { countsAll: true } : {}) };
  }

  #attestor(a: Attestor, field: string, type: string, legacy: boolean, filled = false): CompiledAttestor[] {
    const kinds = (['keys', 'certificates', 'keyless', 'attestor'] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      this.#fail('InvalidSpec', field, 'keys, certificates, keyless, or a nested attestor is required');
      return [];
    }
    const kms = a.keys?.kms ?? splitPublicKeys(a.keys?.publicKeys ?? '').find((pem) => KMS_REFERENCE.test(pem));
    if (kms !== undefined) {
      this.#fail(
        'Unsupported',
        a.keys?.kms !== undefined ? `${field}.keys.kms` : legacy ? field : `${field}.keys.publicKeys`,
        `keys held in a KMS (${kms.split('://')[0]}://) are not supported yet`,
      );
      return [];
    }
    // Filled at each admission: what it holds is known only then (resolve-attestors.ts). A filled attestor is never
    // deferred again: text that a ConfigMap put there is text.
    if (!filled && isDeferred(a)) return this.#deferred(a, field, type, legacy);
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
      const pems = splitPublicKeys(keys.publicKeys ?? '');
      if (pems.length === 0) {
        this.#fail('InvalidKey', keyField, 'invalid public key: no PEM block "-----BEGIN PUBLIC KEY-----" found');
        return [];
      }
      // Keys first, then what they are checked against: a key that does not parse is the first thing to fix.
      const parsedKeys = pems.map((pem, n) => {
        const parsed = parsePublicKey(pem);
        if (!parsed.ok) {
          const which = pems.length > 1 ? ` (key ${n + 1} of ${pems.length})` : '';
          this.#fail('InvalidKey', keyField, `invalid public key${which}: ${parsed.error}`);
        }
        return parsed.ok ? { key: parsed.value } : undefined;
      });
      const trust = this.#trust(legacy ? field : `${field}.keys`, legacy, keys, false);
      return parsedKeys.flatMap((parsed, n): CompiledAttestor[] => {
        if (parsed === undefined) return [];
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
      if (badExtension) {
        // Kyverno accepts the policy and fails each admission it applies to; refused now, on purpose.
        const why = ' (refused when the policy is applied, on purpose: Kyverno would fail every admission with it)';
        this.#fail('InvalidSpec', `${at}.additionalExtensions`, badExtension + why);
      }
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
    // A nested set is free-form JSON in the schema (Kyverno's apiextensions.JSON); it gets the same checks as a set
    // at the top, so that a count of -1, null or "0" is refused here too.
    const at = `${field}.attestor`;
    const nested = parseAttestorSet(a.attestor, at);
    if (!nested.ok) {
      for (const e of nested.error)
        this.#fail('InvalidSpec', e.field, `failed to unmarshal attestor set: ${e.message}`);
      return [];
    }
    return [{ $case: 'nested', field: at, set: this.set(nested.value, at, type) }];
  }

  /**
   * An attestor with variables or Secret references: its strings compiled as templates now (a typo is a Ready=False
   * now, not an error at every admission), the rest at admission once filled, by this same compiler.
   */
  #deferred(a: Attestor, field: string, type: string, legacy: boolean): CompiledAttestor[] {
    // As JSON has it: members the legacy fields left undefined are not members.
    const source = compileValueSubstitution(JSON.parse(JSON.stringify(a)) as unknown, field);
    if (!source.ok) {
      for (const e of source.error) this.#fail('InvalidSpec', e.field, e.message);
      return [];
    }
    this.#checkDeferredTrust(a, field, legacy);
    const trustRoot = this.#trustRoot;
    const compile = (filled: unknown): Result<CompiledAttestor[], CompileError[]> => {
      const parsed = parseAttestorSet({ entries: [filled] }, field);
      if (!parsed.ok) return err(parsed.error.map((e) => ({ reason: 'InvalidSpec' as const, ...e })));
      const errors: CompileError[] = [];
      const compiler = new AttestorCompiler(trustRoot, (reason, f, message) =>
        errors.push({ reason, field: f, message }),
      );
      const attestors = compiler.#attestor(parsed.value.entries![0]!, field, type, legacy, true);
      return errors.length > 0 ? err(errors) : ok(attestors);
    };
    return [{ $case: 'deferred', field, source: source.value, compile, memo: new Map() }];
  }

  /**
   * Whether the log, CT log and CAs a deferred attestor needs are known does not depend on its variables, unless
   * they are in the settings that decide it: checked now, so that such a policy is Ready=False at once rather than
   * failing at every admission. (What the filled attestor needs is checked again when it compiles.)
   */
  #checkDeferredTrust(a: Attestor, field: string, legacy: boolean): void {
    const fixed = (...parts: unknown[]) => !parts.some(hasTemplateText);
    if (a.keys && fixed(a.keys.rekor, a.keys.ctlog))
      this.#trust(legacy ? field : `${field}.keys`, legacy, a.keys, false);
    if (a.keyless && fixed(a.keyless.rekor, a.keyless.ctlog, a.keyless.roots)) {
      const at = legacy ? field : `${field}.keyless`;
      const roots = a.keyless.roots ? this.#certificates(a.keyless.roots, `${at}.roots`) : [];
      this.#trust(at, legacy, a.keyless, true, roots);
    }
    const c = a.certificates;
    if (c && c.certChain !== undefined && fixed(c.rekor, c.ctlog, c.certChain)) {
      const chain = this.#certificates(c.certChain, `${field}.certificates.certChain`);
      this.#trust(`${field}.certificates`, false, c, true, chain);
    }
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
    // Kyverno accepts such policies and fetches what is missing at admission; refusing them is deliberate, and the
    // messages say so (README, "Where Imprimatur differs from Kyverno on purpose").
    const offline =
      " (on purpose: Imprimatur never fetches trust material online, where Kyverno reads Sigstore's TUF repository)";
    if (requireTlog && authorities.tlogs.length === 0) {
      // The legacy fields (key, issuer) have no rekor settings: Kyverno always checks their signatures against the log.
      const remedy = legacy
        ? `${trustedRoot} the log, or write the key as attestors[].entries[].keys with rekor.pubkey or rekor.ignoreTlog`
        : `set rekor.pubkey, set rekor.ignoreTlog: true, or ${trustedRoot} the log`;
      this.#fail(
        'MissingTrustRoot',
        at('rekor'),
        `signatures must be checked against the Rekor transparency log, but no Rekor public key is known: ${remedy}` +
          offline,
      );
    }
    if (checksCertificates && authorities.certificateAuthorities.length === 0) {
      this.#fail(
        'MissingTrustRoot',
        at('roots'),
        `no certificate authority to check signing certificates against: set roots, or ${trustedRoot} the Fulcio CA` +
          offline,
      );
    }
    if (checksCertificates && !requireTlog && authorities.timestampAuthorities.length === 0) {
      this.#fail(
        'InvalidSpec',
        at('rekor.ignoreTlog'),
        'a signing certificate is checked at the signing time that the transparency log proves; with ' +
          'rekor.ignoreTlog: true there is none unless a timestamp authority is trusted: set ctlog.tsaCertChain, ' +
          `or ${trustedRoot} the timestamp authority, or keep the transparency log (on purpose: Kyverno accepts ` +
          'this, and cosign then checks the certificate at the current time, so its signatures stop verifying ' +
          'minutes after they were made)',
      );
    }
    if (requireSct && authorities.ctlogs.length === 0) {
      this.#fail(
        'MissingTrustRoot',
        at('ctlog'),
        'signing certificates must carry a certificate transparency timestamp (ctlog.ignoreSCT is not set), but no ' +
          `CT log public key is known: set ctlog.pubkey, set ctlog.ignoreSCT: true, or ${trustedRoot} the CT log` +
          offline,
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

/** Splits concatenated PEM public keys, as Kyverno's ExpandStaticKeys does; a k8s:// reference is one part. */
export function splitPublicKeys(text: string): string[] {
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

/**
 * Whether an attestor must be filled at admission: a string in its keys, certificates or keyless settings holds a
 * variable, or its key is in a Secret (keys.secret, or a k8s://namespace/name public key, as cosign writes it).
 */
function isDeferred(a: Attestor): boolean {
  if (a.keys?.secret !== undefined) return true;
  if (splitPublicKeys(a.keys?.publicKeys ?? '').some((pem) => pem.startsWith(SECRET_REFERENCE))) return true;
  return [a.keys, a.certificates, a.keyless].some((part) => part !== undefined && hasTemplateText(part));
}

/** cosign's reference to a public key in a Kubernetes Secret. */
export const SECRET_REFERENCE = 'k8s://';

function hasTemplateText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('{{');
  if (Array.isArray(value)) return value.some(hasTemplateText);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasTemplateText);
  return false;
}
