// A rule's imageExtractors compiled once: where images sit in kinds other than Pod and the Pod controllers (a Tekton
// Task's /spec/steps/*/image), as Kyverno reads them (pkg/utils/api/image.go: lookupImageExtractor, extract;
// shared/reference/kyverno-verifyimages.md §3.2). The walk itself is the webhook's; this file decides, ahead of any
// admission, what each extractor means, and rejects the configurations that Kyverno would accept but that could
// never find an image, since an extractor that finds nothing lets the resource in unverified.
//
// The optional jmesPath transform is evaluated here too (applyImageTransform), by a JMESPath interpreter of this
// file's own, so that the Kyverno functions it adds (trim_prefix, ...) are known when the policy compiles and no
// other user of @jmespath-community/jmespath sees them.
import { compile as compileJmesPath, TreeInterpreter, TYPE_STRING, type JSONValue } from '@jmespath-community/jmespath';
import type { FieldError, RuleType } from '../api/v1/index.js';
import { err, ok, type Result } from '../result/index.js';
import { quoteText, sanitizeText } from '../text/index.js';

/** A path segment that stands for every element of an array, or every member of an object. */
export const EACH = '*';

/** Kyverno's name for an extractor that has none. */
export const DEFAULT_EXTRACTOR_NAME = 'custom';

/**
 * Deeper than any real resource; the bound keeps the webhook's walk, which recurses once per segment, far from the
 * stack's limit.
 */
export const MAX_PATH_FIELDS = 32;

/**
 * Longest string a transform is given. A reference longer than 1,024 characters cannot parse anyway; the room above
 * that is for prefixes a transform removes. It bounds what replace_all can make of a hostile string.
 */
export const MAX_TRANSFORM_INPUT_LENGTH = 4096;

type ExpressionNode = ReturnType<typeof compileJmesPath>;

/** Expressions are the policy author's, but they reach admission responses: quoted, cleaned and cut. */
const quoteExpression = (expression: string): string => quoteText(expression, 200);

/** A JMESPath expression applied to each extracted string, e.g. trim_prefix(@, 'docker://'). */
export interface ImageTransform {
  /** As written, for messages. */
  readonly expression: string;
  readonly node: ExpressionNode;
}

export interface CompiledImageExtractor {
  /** The context key Kyverno files the images under (images.<name>.<key>): the user's name, or 'custom'. */
  readonly name: string;
  /**
   * Object members to walk, in order, from the resource down to the objects that hold an image; EACH expands an
   * array or an object. Spaces around a segment are trimmed and empty segments dropped, as Kyverno does.
   */
  readonly fields: readonly string[];
  /** The member of each reached object that holds the image (the last path segment when value is unset). */
  readonly value: string;
  /** The member of each reached object that names the image (a container's name); unset: the image's pointer. */
  readonly key?: string;
  readonly transform?: ImageTransform;
}

/**
 * Extractors by kind, without group or version, as Kyverno looks them up (resource.GetKind()). A kind listed here
 * replaces the built-in extractors for that kind. A Map, so that a kind never meets Object.prototype's members.
 */
export type CompiledImageExtractors = ReadonlyMap<string, readonly CompiledImageExtractor[]>;

type ExtractorConfig = NonNullable<RuleType['imageExtractors']>[string][number];

/**
 * Compiles a rule's imageExtractors; `field` is where they sit (spec.rules[0].imageExtractors). Every problem is
 * reported, each with the field to fix.
 */
export function compileImageExtractors(
  extractors: RuleType['imageExtractors'],
  field: string,
): Result<CompiledImageExtractors, FieldError[]> {
  const errors: FieldError[] = [];
  const compiled = new Map<string, readonly CompiledImageExtractor[]>();
  for (const [kind, configs] of Object.entries(extractors ?? {})) {
    const kindField = `${field}.${kind}`;
    if (kind === '' || kind.includes('/')) {
      // Kyverno looks extractors up by the bare kind: one keyed apps/v1/Deployment would never be used.
      errors.push({ field: kindField, message: 'must be a kind alone, without group or version, e.g. Task' });
      continue;
    }
    if (configs.length === 0) {
      errors.push({ field: kindField, message: `no extractors found for ${kind}` });
      continue;
    }
    const list = configs.flatMap((config, i) => {
      const result = compileExtractor(config, `${kindField}[${i}]`);
      if (result.ok) return [result.value];
      errors.push(...result.error);
      return [];
    });
    compiled.set(kind, list);
  }
  return errors.length > 0 ? err(errors) : ok(compiled);
}

function compileExtractor(config: ExtractorConfig, field: string): Result<CompiledImageExtractor, FieldError[]> {
  const errors: FieldError[] = [];
  const fail = (at: string, message: string) => errors.push({ field: `${field}.${at}`, message });

  if (!config.path.startsWith('/')) fail('path', "must start with '/', e.g. /spec/steps/*/image");
  // lookupImageExtractor: split on '/', trim spaces, drop empty segments.
  const segments = config.path
    .split('/')
    .map(trimSpaces)
    .filter((s) => s !== '');
  const partial = segments.find((s) => s !== EACH && s.includes(EACH));
  if (partial !== undefined) {
    fail('path', `'*' must be a whole segment, standing for every element: ${quoteText(partial)} is not one`);
  }
  if (segments.length > MAX_PATH_FIELDS) fail('path', `must have at most ${MAX_PATH_FIELDS} segments`);

  // Empty strings are unset, as Go's zero values are.
  const explicitValue = config.value === '' ? undefined : config.value;
  const key = config.key === '' ? undefined : config.key;
  const name = config.name === undefined || config.name === '' ? DEFAULT_EXTRACTOR_NAME : config.name;
  const value = explicitValue ?? segments.at(-1);
  const fields = explicitValue === undefined ? segments.slice(0, -1) : segments;
  if (value === undefined) {
    fail('path', 'must name the field that holds the image, e.g. /spec/image');
  } else if (value === EACH) {
    const at = explicitValue === undefined ? 'path' : 'value';
    fail(at, "the field that holds the image cannot be '*'; end path with the array and name the field in value");
  }
  // One member of the reached object, as Kyverno reads output[value]: a nested path there would never match, and an
  // extractor that matches nothing admits the resource unverified.
  if (explicitValue?.includes('/')) fail('value', 'must name one field; put the fields above it in path');
  if (key?.includes('/')) fail('key', 'must name one field of the objects that path reaches');

  let transform: ImageTransform | undefined;
  if (config.jmesPath !== undefined && config.jmesPath !== '') {
    const result = compileTransform(config.jmesPath);
    if (result.ok) transform = result.value;
    else fail('jmesPath', result.error);
  }
  if (errors.length > 0 || value === undefined) return err(errors);
  return ok({
    name,
    fields,
    value,
    ...(key === undefined ? {} : { key }),
    ...(transform === undefined ? {} : { transform }),
  });
}

/** Go's strings.Trim(s, " "): spaces only, not other whitespace. */
function trimSpaces(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s[start] === ' ') start++;
  while (end > start && s[end - 1] === ' ') end--;
  return s.slice(start, end);
}

function compileTransform(expression: string): Result<ImageTransform, string> {
  let node: ExpressionNode;
  try {
    node = compileJmesPath(expression);
  } catch (e) {
    return err(
      `invalid JMESPath expression ${quoteExpression(expression)}: ${sanitizeText(String((e as Error).message), 200)}`,
    );
  }
  let names: string[];
  try {
    names = functionNames(node);
  } catch {
    // Only a stack overflow: the parser accepted nesting deeper than this walk can follow.
    return err(`invalid JMESPath expression ${quoteExpression(expression)}: nested too deeply`);
  }
  const unknown = names.find((n) => !TRANSFORMS.runtime.isRegistered(n));
  if (unknown !== undefined) {
    return err(
      `invalid JMESPath expression ${quoteExpression(expression)}: unknown function ${unknown}(); ` +
        `besides JMESPath's own, image transforms know ${KYVERNO_FUNCTIONS.map((f) => `${f.name}()`).join(', ')}`,
    );
  }
  return ok({ expression, node });
}

/** Every function an expression calls, found by walking its syntax tree (plain objects and arrays). */
function functionNames(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(functionNames);
  if (typeof node !== 'object' || node === null) return [];
  const { type, name } = node as { type?: unknown; name?: unknown };
  // A literal's value is data, whatever it looks like.
  if (type === 'Literal') return [];
  const own = type === 'Function' && typeof name === 'string' ? [name] : [];
  return [...own, ...Object.values(node).flatMap(functionNames)];
}

/**
 * Applies an extractor's transform to the string it extracted. The result must be a string (Kyverno: "jmespath %s
 * must produce a string"); the message quotes what else came out through quoteText.
 */
export function applyImageTransform(transform: ImageTransform, text: string): Result<string, string> {
  if (text.length > MAX_TRANSFORM_INPUT_LENGTH) {
    return err(`the image is longer than ${MAX_TRANSFORM_INPUT_LENGTH} characters`);
  }
  let result: JSONValue;
  try {
    result = TRANSFORMS.search(transform.node, text) as JSONValue;
  } catch (e) {
    // The interpreter reports type and arity mistakes by throwing.
    return err(
      `failed to apply jmespath ${quoteExpression(transform.expression)}: ${sanitizeText(String((e as Error).message), 200)}`,
    );
  }
  if (typeof result !== 'string') {
    return err(
      `jmespath ${quoteExpression(transform.expression)} must produce a string, but produced ${quoteText(result)}`,
    );
  }
  return ok(result);
}

/**
 * Kyverno's string functions that make sense on an image reference (pkg/engine/jmespath/functions.go), with
 * Kyverno's meaning. Regular-expression functions are left out: their patterns would run on hostile strings with
 * JavaScript's backtracking engine rather than Go's linear one.
 */
const KYVERNO_FUNCTIONS: readonly { name: string; arity: number; run: (args: string[]) => string }[] = [
  // strings.TrimPrefix
  { name: 'trim_prefix', arity: 2, run: ([s, prefix]) => (s!.startsWith(prefix!) ? s!.slice(prefix!.length) : s!) },
  // strings.ReplaceAll; split/join, since String.replaceAll reads '$' in the replacement.
  { name: 'replace_all', arity: 3, run: ([s, old, by]) => replaceAll(s!, old!, by!) },
  { name: 'to_lower', arity: 1, run: ([s]) => s!.toLowerCase() },
  { name: 'to_upper', arity: 1, run: ([s]) => s!.toUpperCase() },
];

function replaceAll(s: string, old: string, by: string): string {
  // Go inserts the replacement before every rune and at the end when old is empty.
  if (old === '') return `${by}${[...s].join(by)}${s === '' ? '' : by}`;
  return s.split(old).join(by);
}

/** An interpreter of this file's own: its function table is not the library's shared one. */
const TRANSFORMS = new (TreeInterpreter.constructor as new () => typeof TreeInterpreter)();
for (const f of KYVERNO_FUNCTIONS) {
  TRANSFORMS.runtime.register(
    f.name,
    (args) => f.run(args as string[]),
    Array.from({ length: f.arity }, () => ({ types: [TYPE_STRING] })),
  );
}
