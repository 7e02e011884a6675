// The in-toto statement inside a DSSE envelope (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md):
// what a Sigstore bundle or a legacy .att layer signs. cosign v3 signs an image as a statement of predicate type
// https://sigstore.dev/cosign/sign/v1 whose one subject names the image digest and carries the `cosign sign -a`
// annotations (cosign-formats.md §3.2). The JSON is a signer's: its shape is checked here, once, before anything
// reads it; a statement that does not have the shape is no statement at all.
import { quoteText } from '../text/index.js';
import { err, ok, type Result } from '../result/index.js';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';

export interface StatementSubject {
  /** Algorithm → lower-case hex, as written (only string values are kept). */
  readonly digest: ReadonlyMap<string, string>;
  /** The subject's annotations; cosign v3 writes `cosign sign -a` values here. */
  readonly annotations: ReadonlyMap<string, unknown>;
}

export interface InTotoStatement {
  readonly predicateType: string;
  readonly subjects: readonly StatementSubject[];
  /** The predicate, for conditions on attestations; undefined when absent. */
  readonly predicate: unknown;
}

/** Parses the DSSE payload of an in-toto statement; the error says what is wrong with it. */
export function parseInTotoStatement(payload: Uint8Array): Result<InTotoStatement, string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return err('the in-toto statement is not JSON');
  }
  if (!isObject(json)) return err('the in-toto statement is not a JSON object');
  const predicateType = json['predicateType'];
  if (typeof predicateType !== 'string' || predicateType === '') {
    return err(`the in-toto statement has no predicateType (found ${quoteText(predicateType)})`);
  }
  const subject = json['subject'];
  if (!Array.isArray(subject) || subject.length === 0) return err('the in-toto statement has no subject');
  const subjects: StatementSubject[] = [];
  for (const s of subject as unknown[]) {
    // cosign refuses a statement with a null subject entry ("invalid in-toto statement: null subject entry").
    if (!isObject(s) || !isObject(s['digest'])) return err('the in-toto statement has a subject without a digest');
    const digest = new Map<string, string>();
    for (const [algorithm, hex] of Object.entries(s['digest'])) {
      if (typeof hex === 'string') digest.set(algorithm, hex);
    }
    const annotations = isObject(s['annotations']) ? new Map(Object.entries(s['annotations'])) : new Map();
    subjects.push({ digest, annotations });
  }
  return ok({ predicateType, subjects, predicate: json['predicate'] });
}

/** The subject that names `digest` (algorithm:hex), if any. */
export function findSubject(statement: InTotoStatement, digest: string): StatementSubject | undefined {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  return statement.subjects.find((s) => s.digest.get(algorithm) === hex);
}

/** Subjects named in a message, at most: a provenance statement can have thousands. */
const MAX_SUBJECTS_SHOWN = 5;

/** The subjects' digests as messages print them: `sha256:…, sha256:…` (and how many more). */
export function describeSubjects(statement: InTotoStatement, algorithm: string): string {
  const named = statement.subjects.slice(0, MAX_SUBJECTS_SHOWN).map((s) => {
    const hex = s.digest.get(algorithm);
    return hex === undefined ? '?' : `${algorithm}:${quoteText(hex, 128).slice(1, -1)}`;
  });
  const more = statement.subjects.length - named.length;
  return `${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}` || 'no subject';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
