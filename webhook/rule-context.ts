// The JSON context a rule's variables are read from, for one admission: Kyverno's built-in variables (request,
// serviceAccountName, serviceAccountNamespace, images), then the rule's own context entries, loaded in order, each
// able to use those before it. Loaded only for a rule that applies and needs it, once per admission. A ConfigMap is
// read from the informer; an API call goes to the API server, within the admission's budget of calls, bytes and time.
// Whatever cannot be loaded makes the rule's error ("failed to load context: ..."), which its failurePolicy decides.
import { runQuery, substituteValue, type JsonValue } from '../pkg/conditions/index.js';
import type { CompiledContextEntry } from '../pkg/policy/index.js';
import { err, ok, type Result } from '../pkg/result/index.js';
import { substituteVariables } from '../pkg/conditions/index.js';
import type { AdmissionRequest } from './admission-review.js';
import type { ExtractedImage } from './extract-images.js';
import { toKyvernoString, type ImageRef } from '../pkg/imageref/index.js';

export interface RuleContextDeps {
  /** A ConfigMap as the informer holds it, or why not. */
  readonly configMap?: (namespace: string, name: string) => Result<unknown, string>;
  /** A GET of the API server path; the JSON it answered, or why not (bounded in size and time by the caller). */
  readonly apiCall?: (urlPath: string, signal: AbortSignal) => Promise<Result<unknown, string>>;
  readonly now: () => number;
}

/** API calls one admission may make, over all its rules: each is a request to the API server while it waits. */
export const MAX_API_CALLS_PER_ADMISSION = 10;

/** Kyverno's built-in variables for the admission; `images` from the images the rule's extractors found. */
export function toBuiltInContext(
  request: AdmissionRequest,
  images: readonly ExtractedImage[],
): Record<string, JsonValue> {
  const account = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(request.userInfo.username);
  return {
    request: request as unknown as JsonValue,
    serviceAccountName: account?.[2] ?? '',
    serviceAccountNamespace: account?.[1] ?? '',
    images: toImagesContext(images),
  };
}

/** images.<extractor>.<key>: registry, name, path, tag, digest, reference, referenceWithTag (Kyverno's ImageInfo). */
function toImagesContext(images: readonly ExtractedImage[]): JsonValue {
  const byExtractor: Record<string, Record<string, JsonValue>> = Object.create(null) as Record<
    string,
    Record<string, JsonValue>
  >;
  for (const image of images) {
    (byExtractor[image.extractor] ??= Object.create(null) as Record<string, JsonValue>)[image.key] = toImageInfo(
      image.ref,
    );
  }
  return byExtractor;
}

/** Kyverno's ImageInfo of an image: what `images.<…>` and, in attestation conditions, `image` hold. */
export function toImageInfo(ref: ImageRef): JsonValue {
  const path = ref.repository;
  const name = path.slice(path.lastIndexOf('/') + 1);
  return {
    registry: ref.registry,
    name,
    path,
    tag: ref.tag ?? '',
    digest: ref.digest ?? '',
    reference: toKyvernoString(ref),
    referenceWithTag: toKyvernoString({ ...ref, digest: undefined }),
  };
}

/** The admission's count of API calls, shared by its rules. */
export interface ApiCallBudget {
  used: number;
}

/** The built-ins with the rule's context entries loaded on top, in order. */
export async function loadRuleContext(
  entries: readonly CompiledContextEntry[],
  builtIns: Readonly<Record<string, JsonValue>>,
  deps: RuleContextDeps,
  budget: ApiCallBudget,
  signal: AbortSignal,
): Promise<Result<Record<string, JsonValue>, string>> {
  const context: Record<string, JsonValue> = { ...builtIns };
  const options = { now: deps.now };
  for (const entry of entries) {
    const loaded = await loadEntry(entry, context, deps, budget, signal, options);
    if (!loaded.ok) return err(`failed to load context: ${loaded.error}`);
    context[entry.name] = loaded.value;
  }
  return ok(context);
}

async function loadEntry(
  entry: CompiledContextEntry,
  context: Record<string, JsonValue>,
  deps: RuleContextDeps,
  budget: ApiCallBudget,
  signal: AbortSignal,
  options: { now: () => number },
): Promise<Result<JsonValue, string>> {
  switch (entry.$case) {
    case 'configMap': {
      const name = substituteVariables(entry.configMapName, context, options);
      if (!name.ok) return err(`${name.error.field}: ${name.error.message}`);
      const namespace = substituteVariables(entry.namespace, context, options);
      if (!namespace.ok) return err(`${namespace.error.field}: ${namespace.error.message}`);
      if (!deps.configMap) return err(`context entry ${entry.name}: ConfigMaps are not read by this webhook`);
      const found = deps.configMap(namespace.value, name.value);
      return found.ok
        ? ok(found.value as JsonValue)
        : err(`failed to retrieve config map for context entry ${entry.name}: ${found.error}`);
    }
    case 'variable': {
      let value: JsonValue = context as JsonValue;
      if (entry.value) {
        const substituted = substituteValue(entry.value, context, options);
        if (!substituted.ok) return withDefault(entry, context, options, substituted.error.message);
        value = substituted.value;
      }
      if (entry.jmesPath) {
        const queried = runQuery(entry.jmesPath, value, context, options);
        if (!queried.ok) return withDefault(entry, context, options, queried.error.message);
        value = queried.value;
      }
      return value === null ? withDefault(entry, context, options, undefined) : ok(value);
    }
    case 'apiCall': {
      const path = substituteVariables(entry.urlPath, context, options);
      if (!path.ok) return err(`${path.error.field}: ${path.error.message}`);
      if (!deps.apiCall) return err(`context entry ${entry.name}: API calls are not made by this webhook`);
      if (budget.used >= MAX_API_CALLS_PER_ADMISSION)
        return err(`context entry ${entry.name}: more than ${MAX_API_CALLS_PER_ADMISSION} API calls in one admission`);
      budget.used++;
      const answer = await deps.apiCall(path.value, signal);
      if (!answer.ok) return withDefault(entry, context, options, `API call to ${path.value} failed: ${answer.error}`);
      let value = answer.value as JsonValue;
      if (entry.jmesPath) {
        const queried = runQuery(entry.jmesPath, value, context, options);
        if (!queried.ok) return withDefault(entry, context, options, queried.error.message);
        value = queried.value;
      }
      return value === null ? withDefault(entry, context, options, undefined) : ok(value);
    }
  }
}

/** The entry's default when it has one; else the failure (or, for a null value with no default, null). */
function withDefault(
  entry: Extract<CompiledContextEntry, { $case: 'variable' | 'apiCall' }>,
  context: Record<string, JsonValue>,
  options: { now: () => number },
  failure: string | undefined,
): Result<JsonValue, string> {
  if (entry.default) {
    const fallback = substituteValue(entry.default, context, options);
    return fallback.ok ? ok(fallback.value) : err(`${fallback.error.field}: ${fallback.error.message}`);
  }
  return failure === undefined ? ok(null) : err(`context entry ${entry.name}: ${failure}`);
}
