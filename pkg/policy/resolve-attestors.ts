// Fills an entry's deferred attestors for one admission: their variables from the rule's context, their Secret
// references (k8s://namespace/name, keys.secret) from the Secrets the webhook watches. Each filled attestor is then
// compiled as a static one, once per distinct content: the SHA-256 of its JSON finds it again in the attestor's memo,
// so a key that did not change is never parsed again. The fingerprints of what was filled go into the result cache's
// key, so that a key rotated in its ConfigMap is used at once and a pass made with the old one is never reused.
import { createHash } from 'node:crypto';
import { substituteValue, substituteVariables } from '../conditions/index.js';
import { parseImageRef } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import { SECRET_REFERENCE, splitPublicKeys } from './attestors.js';
import type {
  CompileError,
  CompiledAttestation,
  CompiledAttestor,
  CompiledAttestorSet,
  CompiledImageVerification,
  DeferredAttestor,
} from './compiled-policy.js';

/** Filled contents each deferred attestor keeps compiled: a few rotations and per-namespace keys. */
export const MAX_FILLED_ATTESTORS = 64;

/** cosign's data key for the public key in a k8s:// Secret. */
export const SECRET_PUBLIC_KEY = 'cosign.pub';

export interface AttestorLookups {
  /** The public key (PEM) a Secret holds under cosign.pub, or why there is none. */
  readonly secretPublicKey: (namespace: string, name: string) => Result<string, string>;
  /** The wall clock, for the time functions a variable may call. */
  readonly now: () => number;
}

/** An entry with every attestor filled, and what it was filled with, for the result cache key ('' if nothing). */
export interface FilledEntry {
  readonly entry: CompiledImageVerification;
  readonly fingerprint: string;
}

/** Why an attestor could not be filled: a variable, a Secret, or the filled key or certificate itself. */
export interface FillFailure {
  readonly field: string;
  readonly message: string;
}

/** Whether the entry has attestors (or a repository) to fill per admission. */
export function hasDeferredAttestors(entry: CompiledImageVerification): boolean {
  return (
    entry.repositoryTemplate !== undefined ||
    entry.attestors.some(setHasDeferred) ||
    entry.attestations.some((a) => a.attestors.some(setHasDeferred))
  );
}

/** The entry with its deferred attestors filled from `context` (the rule's JSON context) and the Secrets. */
export function fillEntry(
  entry: CompiledImageVerification,
  context: unknown,
  lookups: AttestorLookups,
): Result<FilledEntry, FillFailure> {
  const fingerprints: string[] = [];
  let repository = entry.repository;
  if (entry.repositoryTemplate) {
    const filled = substituteVariables(entry.repositoryTemplate, context, { now: lookups.now });
    if (!filled.ok)
      return err({ field: filled.error.field, message: `failed to substitute variables: ${filled.error.message}` });
    const parsed = parseImageRef(filled.value);
    if (!parsed.ok) return err({ field: entry.repositoryTemplate.field, message: `${filled.value}: ${parsed.error}` });
    repository = parsed.value;
    fingerprints.push(sha256(`repository ${filled.value}`));
  }
  const fillSets = (sets: readonly CompiledAttestorSet[]): Result<CompiledAttestorSet[], FillFailure> => {
    const filled: CompiledAttestorSet[] = [];
    for (const set of sets) {
      const one = fillSet(set, context, lookups, fingerprints);
      if (!one.ok) return one;
      filled.push(one.value);
    }
    return ok(filled);
  };
  const attestors = fillSets(entry.attestors);
  if (!attestors.ok) return attestors;
  const attestations: CompiledAttestation[] = [];
  for (const attestation of entry.attestations) {
    const sets = fillSets(attestation.attestors);
    if (!sets.ok) return sets;
    attestations.push({ ...attestation, attestors: sets.value });
  }
  return ok({
    entry: { ...entry, attestors: attestors.value, attestations, ...(repository ? { repository } : {}) },
    fingerprint: fingerprints.length === 0 ? '' : sha256(fingerprints.join('\n')),
  });
}

function fillSet(
  set: CompiledAttestorSet,
  context: unknown,
  lookups: AttestorLookups,
  fingerprints: string[],
): Result<CompiledAttestorSet, FillFailure> {
  if (!setHasDeferred(set)) return ok(set);
  const entries: CompiledAttestor[] = [];
  for (const attestor of set.entries) {
    if (attestor.$case === 'nested') {
      const nested = fillSet(attestor.set, context, lookups, fingerprints);
      if (!nested.ok) return nested;
      entries.push({ ...attestor, set: nested.value });
    } else if (attestor.$case === 'deferred') {
      const filled = fillAttestor(attestor, context, lookups, fingerprints);
      if (!filled.ok) return filled;
      entries.push(
        ...(attestor.label === undefined ? filled.value : filled.value.map((a) => withLabel(a, attestor.label!))),
      );
    } else entries.push(attestor);
  }
  return ok({ ...set, entries, count: set.countsAll ? entries.length : set.count });
}

function fillAttestor(
  attestor: DeferredAttestor,
  context: unknown,
  lookups: AttestorLookups,
  fingerprints: string[],
): Result<CompiledAttestor[], FillFailure> {
  const substituted = substituteValue(attestor.source, context, { now: lookups.now });
  if (!substituted.ok) {
    return err({
      field: substituted.error.field,
      message: `failed to substitute variables: ${substituted.error.message}`,
    });
  }
  const withKeys = readSecretKeys(substituted.value, attestor.field, lookups);
  if (!withKeys.ok) return withKeys;
  const json = JSON.stringify(withKeys.value);
  const fingerprint = sha256(json);
  fingerprints.push(fingerprint);
  let compiled = attestor.memo.get(fingerprint);
  if (compiled) {
    // Most recently used last: the oldest goes first when the memo is full.
    attestor.memo.delete(fingerprint);
  } else {
    compiled = attestor.compile(withKeys.value);
    if (attestor.memo.size >= MAX_FILLED_ATTESTORS) attestor.memo.delete(attestor.memo.keys().next().value!);
  }
  attestor.memo.set(fingerprint, compiled);
  if (!compiled.ok) return err(describeCompileErrors(compiled.error));
  return ok(compiled.value);
}

/**
 * The filled attestor with its Secret references replaced by the keys they hold: keys.secret {name, namespace}, and
 * each k8s://namespace/name among its public keys.
 */
function readSecretKeys(filled: unknown, field: string, lookups: AttestorLookups): Result<unknown, FillFailure> {
  if (filled === null || typeof filled !== 'object' || Array.isArray(filled)) return ok(filled);
  const attestor = filled as { keys?: unknown };
  const keys = attestor.keys;
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) return ok(filled);
  const { secret, publicKeys, ...rest } = keys as { secret?: unknown; publicKeys?: unknown };
  if (publicKeys !== undefined && typeof publicKeys !== 'string') return ok(filled);
  const texts: string[] = [];
  let replaced = false;
  if (secret !== undefined) {
    const { name, namespace } = (secret ?? {}) as { name?: unknown; namespace?: unknown };
    if (typeof name !== 'string' || typeof namespace !== 'string') {
      return err({ field: `${field}.keys.secret`, message: 'a Secret needs a name and a namespace' });
    }
    const key = lookups.secretPublicKey(namespace, name);
    if (!key.ok) return err({ field: `${field}.keys.secret`, message: key.error });
    texts.push(key.value.trim());
    replaced = true;
  }
  // Split as the compiler splits them, so that each part is what it would have compiled on its own.
  for (const part of splitPublicKeys(publicKeys ?? '')) {
    const text = part.trim();
    if (!text.startsWith(SECRET_REFERENCE)) {
      texts.push(text);
      continue;
    }
    const [namespace, name, ...more] = text.slice(SECRET_REFERENCE.length).split('/');
    if (!namespace || !name || more.length > 0) {
      return err({ field: `${field}.keys.publicKeys`, message: `${text}: expected k8s://<namespace>/<name>` });
    }
    const key = lookups.secretPublicKey(namespace, name);
    if (!key.ok) return err({ field: `${field}.keys.publicKeys`, message: key.error });
    texts.push(key.value.trim());
    replaced = true;
  }
  if (!replaced) return ok(filled);
  return ok({ ...attestor, keys: { ...rest, publicKeys: texts.join('\n') } });
}

function describeCompileErrors(errors: readonly CompileError[]): FillFailure {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return { field: first.field, message: `${first.message}${more}` };
}

function setHasDeferred(set: CompiledAttestorSet): boolean {
  return set.entries.some((a) => a.$case === 'deferred' || (a.$case === 'nested' && setHasDeferred(a.set)));
}

function withLabel(attestor: CompiledAttestor, label: string): CompiledAttestor {
  return attestor.$case === 'nested' ? attestor : { ...attestor, label };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
