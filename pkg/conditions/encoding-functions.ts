// Kyverno's encoding functions: base64_decode/base64_encode, parse_json/parse_yaml (text into JSON values, bounded:
// the text is often an attestation's), the sha256/sha1/md5 digests as hex, and image_normalize. Decoded bytes that
// are not UTF-8 become U+FFFD, since a JSON string cannot hold raw bytes as Go's strings do.
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { parseImageRef, toKyvernoString } from '../imageref/index.js';
import { sanitizeText } from '../text/index.js';
import { evaluationFailure } from './evaluation-failure.js';
import { checkedLength, type EvaluationRun } from './evaluation-run.js';
import { functionError, STRING, type FunctionDefinition } from './function-definition.js';
import { isJsonObject, type JsonValue } from './json-value.js';
import { MAX_NESTING_DEPTH, MAX_PARSE_JSON_LENGTH, MAX_PARSE_YAML_LENGTH, MAX_YAML_ALIASES } from './limits.js';

export const ENCODING_FUNCTIONS: readonly FunctionDefinition[] = [
  { name: 'base64_decode', signature: [STRING], run: ([text], run) => decodeBase64(text as string, run) },
  {
    name: 'base64_encode',
    signature: [STRING],
    run: ([text], run) => {
      const bytes = Buffer.from(text as string, 'utf8');
      checkedLength(Math.ceil(bytes.length / 3) * 4, 'the result of base64_encode', run);
      return bytes.toString('base64');
    },
  },
  { name: 'parse_json', signature: [STRING], run: ([text], run) => parseJsonText(text as string, run) },
  { name: 'parse_yaml', signature: [STRING], run: ([text], run) => parseYamlText(text as string, run) },
  { name: 'sha256', signature: [STRING], run: ([text], run) => digest('sha256', text as string, run) },
  { name: 'sha1', signature: [STRING], run: ([text], run) => digest('sha1', text as string, run) },
  { name: 'md5', signature: [STRING], run: ([text], run) => digest('md5', text as string, run) },
  {
    name: 'image_normalize',
    signature: [STRING],
    run: ([image], run) => {
      run.budget.charge(1 + (image as string).length);
      const parsed = parseImageRef(image as string);
      if (!parsed.ok) throw functionError('image_normalize', sanitizeText(parsed.error, 200));
      return toKyvernoString(parsed.value);
    },
  },
];

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** base64.StdEncoding.DecodeString: padded standard alphabet, line breaks ignored, anything else an error. */
function decodeBase64(text: string, run: EvaluationRun): string {
  run.budget.charge(1 + text.length);
  let clean = '';
  for (const c of text) if (c !== '\r' && c !== '\n') clean += c;
  let padding = 0;
  while (padding < clean.length && clean[clean.length - 1 - padding] === '=') padding++;
  const body = clean.slice(0, clean.length - padding);
  const valid = clean.length % 4 === 0 && padding <= 2 && [...body].every((c) => BASE64_ALPHABET.includes(c));
  if (!valid) throw functionError('base64_decode', 'illegal base64 data');
  return new TextDecoder('utf-8').decode(Buffer.from(clean, 'base64'));
}

function digest(algorithm: 'sha256' | 'sha1' | 'md5', text: string, run: EvaluationRun): string {
  run.budget.charge(1 + text.length);
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

/** json.Unmarshal into interface{}: any JSON text, bounded in length and depth. */
function parseJsonText(text: string, run: EvaluationRun): JsonValue {
  if (text.length > MAX_PARSE_JSON_LENGTH) {
    throw functionError('parse_json', `the text is longer than ${MAX_PARSE_JSON_LENGTH} characters`);
  }
  run.budget.charge(1 + text.length);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw functionError('parse_json', sanitizeText(String((e as Error).message), 200));
  }
  checkJson(value, 'parse_json', run);
  return value as JsonValue;
}

/**
 * The YAML text's first document as JSON (sigs.k8s.io/yaml's YAMLToJSON). Aliases are limited, since a few of them
 * can describe an exponentially large document; YAML 1.2's core schema decides types.
 */
function parseYamlText(text: string, run: EvaluationRun): JsonValue {
  if (text.length > MAX_PARSE_YAML_LENGTH) {
    throw functionError('parse_yaml', `the text is longer than ${MAX_PARSE_YAML_LENGTH} characters`);
  }
  run.budget.charge(1 + text.length * 4);
  let value: unknown;
  try {
    const documents = parseAllDocuments(text, { uniqueKeys: false, merge: true });
    const list = Array.isArray(documents) ? documents : [documents];
    const first = list[0];
    if (first === undefined) return null;
    if (first.errors.length > 0) throw first.errors[0]!;
    value = first.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    throw functionError('parse_yaml', sanitizeText(String((e as Error).message), 200));
  }
  checkJson(value, 'parse_yaml', run);
  return (value ?? null) as JsonValue;
}

/** Walks a parsed value once: plain JSON only, no deeper than MAX_NESTING_DEPTH, each node charged. */
function checkJson(root: unknown, fn: string, run: EvaluationRun): void {
  const stack: { value: unknown; depth: number }[] = [{ value: root, depth: 0 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop()!;
    run.budget.charge(1);
    if (depth > MAX_NESTING_DEPTH)
      throw functionError(fn, `the value is nested deeper than ${MAX_NESTING_DEPTH} levels`);
    if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw functionError(fn, `json: unsupported value: ${value}`);
      continue;
    }
    if (Array.isArray(value)) {
      for (const element of value) stack.push({ value: element, depth: depth + 1 });
      continue;
    }
    if (isJsonObject(value) && Object.getPrototypeOf(value) === Object.prototype) {
      for (const key of Object.keys(value)) stack.push({ value: value[key], depth: depth + 1 });
      continue;
    }
    throw evaluationFailure(`JMESPath function '${fn}': the document holds a value JSON cannot (${describe(value)})`);
  }
}

function describe(value: unknown): string {
  if (value instanceof Date) return 'a timestamp';
  if (value instanceof Uint8Array) return 'binary data';
  return `a ${typeof value}`;
}
