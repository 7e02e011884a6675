// One verifyImages entry compiled: image patterns, attestor sets, attestations and switches, with the legacy fields
// (image, key, issuer/subject/roots, annotations) converted as Kyverno's ImageVerification.Convert() does, except
// where Convert() loses the key (see legacyAttestorSet).
import type { ImageVerificationType } from '../api/v1/index.js';
import { compileImageReferencePattern, parseImageRef, type ImageRef } from '../imageref/index.js';
import type { AttestorCompiler, AttestorSet, Fail } from './attestors.js';
import type {
  CompiledAttestation,
  CompiledAttestorSet,
  CompiledImageVerification,
  FailureAction,
} from './compiled-policy.js';
import {
  compileConditions,
  compileDeny,
  compileTextTemplate,
  type CompiledConditions,
  type TextTemplate,
} from '../conditions/index.js';
import { checkImageVerificationFields } from './unsupported-fields.js';

export interface VerificationContext {
  readonly fail: Fail;
  readonly attestors: AttestorCompiler;
}

export function compileImageVerification(
  iv: ImageVerificationType,
  field: string,
  specAction: FailureAction,
  context: VerificationContext,
): CompiledImageVerification {
  const { fail, attestors: compiler } = context;
  const type = iv.type ?? 'Cosign';
  // Parsed here, once, rather than at each admission that reads signatures from it.
  let repository: ImageRef | undefined;
  let repositoryTemplate: TextTemplate | undefined;
  if (iv.repository?.includes('{{')) {
    // Filled, then parsed, at admission (resolve-attestors.ts fillEntry).
    const template = compileTextTemplate(iv.repository, `${field}.repository`);
    if (template.ok) repositoryTemplate = template.value;
    else for (const e of template.error) fail('InvalidSpec', e.field, e.message);
  } else if (iv.repository) {
    const parsed = parseImageRef(iv.repository);
    if (parsed.ok) repository = parsed.value;
    else fail('InvalidSpec', `${field}.repository`, parsed.error);
  }
  const failureAction = iv.failureAction ?? specAction;
  const mutateDigest = iv.mutateDigest ?? true;
  if (failureAction === 'Audit' && mutateDigest) {
    fail(
      'InvalidSpec',
      `${field}.mutateDigest`,
      'mutateDigest must be set to false for \u2018Audit\u2019 failure action',
    );
  }
  const references = [...(iv.imageReferences ?? []), ...(iv.image ? [iv.image] : [])];
  const referencesField = iv.image && !iv.imageReferences ? `${field}.image` : `${field}.imageReferences`;
  if (references.length === 0) fail('InvalidSpec', `${field}.imageReferences`, 'An image reference is required');
  const patterns = (list: readonly string[], at: string) =>
    list.map((p, k) => {
      if (p.includes('{{')) fail('InvalidImagePattern', `${at}[${k}]`, 'variables are not allowed in image reference');
      return compileImageReferencePattern(p);
    });

  // Legacy fields (image, key, issuer/subject/roots, annotations) become one attestor set, as Kyverno's
  // ImageVerification.Convert() does: the image's signatures are checked with it, or, when the entry lists
  // attestations, the attestations that name no attestors of their own are. Unlike Convert(), which drops the set
  // whenever attestations are listed (kyverno-verifyimages.md §2) and so leaves the seed's attest-code-review policy
  // checking nothing, the legacy key is never lost: when no attestation takes it (an empty list, or attestations
  // that all name their own attestors), it checks the image's signatures.
  checkImageVerificationFields(iv, field, fail);
  // Notary signatures are not verified: such an entry is refused (refuseNotary), and its attestors are not compiled
  // as cosign's, whose trust checks (Rekor, CT logs) would only add misleading errors.
  const notary = type === 'Notary';
  if (notary) refuseNotary(iv, field, fail);
  const compileSet = (s: AttestorSet, at: string) => (notary ? [] : [compiler.set(s, at, type)]);
  const legacy = notary ? undefined : legacyAttestorSet(iv, field, type, compiler);
  const attestors = (iv.attestors ?? []).flatMap((s, k) => compileSet(s, `${field}.attestors[${k}]`));
  let legacyUsed = false;
  const attestations = (iv.attestations ?? []).map((a, k): CompiledAttestation => {
    const at = `${field}.attestations[${k}]`;
    const predicateType = a.type ?? a.predicateType ?? '';
    if (predicateType === '') fail('InvalidSpec', `${at}.type`, 'missing type');
    const sets = (a.attestors ?? []).flatMap((s, m) => compileSet(s, `${at}.attestors[${m}]`));
    if (legacy && sets.length === 0) {
      sets.push(legacy);
      legacyUsed = true;
    }
    // Compiled once, here: a typo is a Ready=False naming the field, and admissions only evaluate.
    const compiled = compileConditions(a.conditions ?? [], `${at}.conditions`);
    if (!compiled.ok) for (const e of compiled.error) fail('InvalidSpec', e.field, e.message);
    const conditions: CompiledConditions = compiled.ok ? compiled.value : { field: `${at}.conditions`, blocks: [] };
    return {
      field: at,
      ...(a.name !== undefined ? { name: a.name } : {}),
      predicateType,
      attestors: sets,
      conditions,
    };
  });
  if (legacy && !legacyUsed) attestors.push(legacy);
  const deny = iv.validate ? compileDeny(iv.validate, `${field}.validate`) : undefined;
  if (deny && !deny.ok) for (const e of deny.error) fail('InvalidSpec', e.field, e.message);
  return {
    field,
    type,
    imageReferences: patterns(references, referencesField),
    skipImageReferences: patterns(iv.skipImageReferences ?? [], `${field}.skipImageReferences`),
    attestors,
    attestations,
    ...(deny?.ok && deny.value.conditions ? { validate: deny.value } : {}),
    ...(repository ? { repository } : {}),
    ...(repositoryTemplate ? { repositoryTemplate } : {}),
    failureAction,
    failureActionIsOwn: iv.failureAction !== undefined,
    registrySecrets: iv.imageRegistryCredentials?.secrets ?? [],
    allowInsecureRegistry: iv.imageRegistryCredentials?.allowInsecureRegistry ?? false,
    mutateDigest,
    verifyDigest: iv.verifyDigest ?? true,
    required: iv.required ?? true,
    useCache: iv.useCache ?? true,
  };
}

/**
 * type: Notary is refused with Unsupported, after Kyverno's own checks of such an entry (ImageVerification.Validate:
 * no keys, no keyless; the legacy key and issuer are converted to those first), so that a policy Kyverno refuses
 * is still InvalidSpec with Kyverno's words.
 */
function refuseNotary(iv: ImageVerificationType, field: string, fail: Fail): void {
  if (iv.key) fail('InvalidSpec', `${field}.key`, 'Keys field is not allowed for type notary');
  else if (iv.issuer) fail('InvalidSpec', `${field}.issuer`, 'Keyless field is not allowed for type notary');
  (iv.attestors ?? []).forEach((set, k) =>
    (set.entries ?? []).forEach((e, m) => {
      const at = `${field}.attestors[${k}].entries[${m}]`;
      if (e.keyless) fail('InvalidSpec', `${at}.keyless`, 'Keyless field is not allowed for type notary');
      if (e.keys) fail('InvalidSpec', `${at}.keys`, 'Keys field is not allowed for type notary');
    }),
  );
  fail(
    'Unsupported',
    `${field}.type`,
    'type Notary is not supported yet: Imprimatur verifies cosign and Sigstore signatures only, so this entry ' +
      'would check nothing; sign the images with cosign and use type Cosign',
  );
}

function legacyAttestorSet(
  iv: ImageVerificationType,
  field: string,
  type: string,
  compiler: AttestorCompiler,
): CompiledAttestorSet | undefined {
  if (!iv.key && !iv.issuer && !iv.annotations) return undefined;
  let entry: NonNullable<AttestorSet['entries']>[number];
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
  return compiler.set({ entries: [entry] }, field, type, entryField);
}
