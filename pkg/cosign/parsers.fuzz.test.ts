// The parsers of signer- and registry-controlled bytes, fed arbitrary JSON (deep nesting, nulls, wrong types,
// __proto__ and constructor keys, huge strings) and random bytes from a seeded generator, so every run feeds the same
// inputs and a failure names the seed and input that made it. Each call must return, never throw, and every message it
// returns must be a string that is safe to show: no control characters, no bidirectional overrides, not huge.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeDigest, type Descriptor } from '../oci/index.js';
import { toBundleArtifact } from './bundle-artifact.js';
import { DSSE_MEDIA_TYPE, toDsseArtifacts } from './dsse-artifact.js';
import { checkClaims, type ClaimRequirement } from './check-claims.js';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  toLegacyArtifact,
} from './legacy-artifact.js';
import { parseRekorBundle } from './rekor-bundle.js';
import type { SignedArtifact } from './signed-artifact.js';
import { parseSimpleSigningPayload } from './simple-signing.js';
import { COSIGN_SIGN_PREDICATE_TYPE, IN_TOTO_PAYLOAD_TYPE, parseInTotoStatement } from './statement.js';
import { keyBundle, statement, toBlob } from './testdata/signed-bundles.js';

const SEED = 0x1badc0de;
const ROUNDS = 250;
const DIGEST = computeDigest(Buffer.from('the image manifest'));
const HEX = DIGEST.slice('sha256:'.length);
/** What the text module takes out of outside text (pkg/text): controls, bidi overrides and marks, line separators. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** A message a person reads: a few hundred characters, with room to spare. */
const MAX_MESSAGE = 4096;

/** mulberry32: a small, seeded, good-enough generator. */
function generator(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '',
  'subject',
  'digest',
  'sha256',
  'annotations',
  'predicateType',
  'predicate',
  'critical',
  'Critical',
  'image',
  'docker-manifest-digest',
  'Docker-Manifest-Digest',
  'optional',
  'SignedEntryTimestamp',
  'Payload',
  'body',
  'integratedTime',
  'logIndex',
  'logID',
  'env',
] as const;

const STRINGS = [
  '',
  DIGEST,
  HEX,
  COSIGN_SIGN_PREDICATE_TYPE,
  'sha256:',
  ':',
  'null',
  '__proto__',
  'line\nbreak\r\n\u0000\u001b[31mred',
  '\u202eevil\u2066\u2028\u0085\u200e\u061c',
  '\ud800 lone surrogate',
  '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  'AAAA',
  '====',
] as const;

const NUMBERS = [
  '0',
  '-0',
  '1',
  '-1',
  '1.5',
  '1e21',
  '1e400',
  '-1e400',
  '9007199254740993',
  '8640000000001',
  '-8640000000001',
  '1700000000',
] as const;

class Fuzz {
  readonly #next: () => number;
  /** Huge strings and deep nesting still allowed in the input being made: one, so that inputs stay under 1 MiB. */
  #large = 0;

  constructor(seed: number) {
    this.#next = generator(seed);
  }

  /** Starts a new input. */
  begin(): void {
    this.#large = 1;
  }

  #takeLarge(): boolean {
    if (this.#large === 0 || !this.chance(0.3)) return false;
    this.#large--;
    return true;
  }

  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A string, as a JavaScript value. */
  string(): string {
    switch (this.int(6)) {
      case 0:
        return this.pick(STRINGS);
      case 1:
        return this.pick(KEYS);
      case 2:
        return 'x'.repeat(this.#takeLarge() ? this.pick([70_000, 200_000]) : 1000);
      case 3:
        return String.fromCharCode(...Array.from({ length: this.int(40) }, () => this.int(0x3000)));
      case 4:
        return Buffer.from(this.bytes(64)).toString('base64');
      default:
        return this.int(2) === 0 ? HEX : `${this.pick(STRINGS)}${this.pick(STRINGS)}`;
    }
  }

  /** JSON text of any value: scalars, arrays and objects of them, and deep nesting. */
  json(depth = 0): string {
    const kinds = depth > 3 ? 5 : 9;
    switch (this.int(kinds)) {
      case 0:
        return 'null';
      case 1:
        return this.pick(['true', 'false']);
      case 2:
        return this.pick(NUMBERS);
      case 3:
      case 4:
        return JSON.stringify(this.string());
      case 5:
        return `[${Array.from({ length: this.int(4) }, () => this.json(depth + 1)).join(',')}]`;
      case 6:
      case 7:
        return this.object(Array.from({ length: this.int(5) }, () => [this.pick(KEYS), this.json(depth + 1)]));
      default: {
        const n = this.#takeLarge() ? this.pick([5000, 20_000]) : 100;
        return this.chance(0.5) ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}null${'}'.repeat(n)}`;
      }
    }
  }

  /** JSON text of an object with these members, in order; keys may repeat, and may be __proto__. */
  object(members: readonly (readonly [string, string])[]): string {
    return `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
  }

  /** One of `a` or `b`: the likely shape, or anything. */
  either(likely: () => string): string {
    return this.chance(0.7) ? likely() : this.json(1);
  }

  /** Text that is JSON, or JSON cut short, or not JSON at all. */
  text(json: () => string): string {
    const whole = json();
    switch (this.int(10)) {
      case 0:
        return whole.slice(0, this.int(whole.length + 1));
      case 1:
        return Buffer.from(this.bytes(200)).toString('latin1');
      default:
        return whole;
    }
  }

  bytes(max: number): Uint8Array {
    return Uint8Array.from({ length: this.int(max + 1) }, () => this.int(256));
  }

  /** An in-toto statement, more or less; or a well-formed one about many subjects, none of them this image. */
  statement(): string {
    if (this.chance(0.05)) return this.manySubjects(1000);
    const hex = () => this.pick([HEX, HEX.toUpperCase(), this.string()]);
    const subject = () =>
      this.object([
        ['name', JSON.stringify(this.string())],
        [
          'digest',
          this.either(() =>
            this.object([[this.pick(['sha256', 'sha256', 'sha512', '__proto__']), JSON.stringify(hex())]]),
          ),
        ],
        [
          'annotations',
          this.either(() => this.object([[this.pick(['env', '__proto__', 'constructor']), this.json(2)]])),
        ],
      ]);
    const count = this.pick([0, 1, 2, 3]);
    return this.object([
      ['_type', JSON.stringify('https://in-toto.io/Statement/v1')],
      [
        'subject',
        this.either(
          () => `[${Array.from({ length: count }, () => (this.chance(0.1) ? this.json(2) : subject())).join(',')}]`,
        ),
      ],
      [
        'predicateType',
        this.either(() => JSON.stringify(this.chance(0.8) ? COSIGN_SIGN_PREDICATE_TYPE : this.string())),
      ],
      ['predicate', this.json(1)],
    ]);
  }

  /** A cosign signature statement about `count` images, none of them this one: a provenance-sized subject list. */
  manySubjects(count: number): string {
    const offset = this.int(1 << 20);
    const subjects = Array.from(
      { length: count },
      (_, i) => `{"digest":{"sha256":"${(offset + i).toString(16).padStart(64, 'f')}"}}`,
    );
    return `{"subject":[${subjects.join(',')}],"predicateType":"${COSIGN_SIGN_PREDICATE_TYPE}"}`;
  }

  /** A simple-signing payload, more or less. */
  simpleSigning(): string {
    return this.object([
      [
        this.pick(['critical', 'Critical', '__proto__']),
        this.either(() =>
          this.object([
            [
              this.pick(['image', 'IMAGE']),
              this.either(() =>
                this.object([
                  [
                    this.pick(['docker-manifest-digest', 'Docker-Manifest-Digest']),
                    this.either(() => JSON.stringify(this.pick([DIGEST, this.string()]))),
                  ],
                ]),
              ),
            ],
          ]),
        ),
      ],
      ['optional', this.either(() => this.object([[this.pick(['env', '__proto__', 'constructor']), this.json(2)]]))],
    ]);
  }

  /** The dev.sigstore.cosign/bundle annotation, more or less. */
  rekor(): string {
    return this.object([
      ['SignedEntryTimestamp', this.either(() => JSON.stringify(Buffer.from(this.bytes(72)).toString('base64')))],
      [
        'Payload',
        this.either(() =>
          this.object([
            ['body', this.either(() => JSON.stringify(Buffer.from(this.json(2)).toString('base64')))],
            ['integratedTime', this.either(() => this.pick(NUMBERS))],
            ['logIndex', this.either(() => this.pick(NUMBERS))],
            ['logID', this.either(() => JSON.stringify(this.pick([HEX, HEX.toUpperCase(), this.string()])))],
          ]),
        ),
      ],
    ]);
  }
}

/** Sets `value` at a random place in `tree`, which it mutates; only existing keys, so never a prototype. */
function mutate(fuzz: Fuzz, tree: unknown, value: unknown): unknown {
  if (typeof tree !== 'object' || tree === null || fuzz.chance(0.2)) return value;
  const keys = Object.keys(tree);
  if (keys.length === 0) return value;
  const key = fuzz.pick(keys);
  const node = tree as Record<string, unknown>;
  node[key] = mutate(fuzz, node[key], value);
  return tree;
}

const PLACEHOLDER = '\u0000placeholder';

interface Violation {
  readonly target: string;
  readonly input: string;
  readonly problem: string;
}

function preview(input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}… (${text.length} characters)` : text);
}

describe('the parsers of signed and logged bytes, given arbitrary input', () => {
  const violations: Violation[] = [];
  const fuzz = new Fuzz(SEED);
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const bundles = [
    readFileSync(join(import.meta.dirname, 'testdata', 'oci-attestation.sigstore.json'), 'utf8'),
    toBlob(keyBundle(p256.privateKey, statement(DIGEST))).toString('utf8'),
  ];
  const WANTS: readonly ClaimRequirement[] = [
    { digest: DIGEST, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations: {} },
    { digest: DIGEST, predicateType: COSIGN_SIGN_PREDICATE_TYPE, annotations: { env: 'prod' } },
    {
      digest: DIGEST,
      predicateType: COSIGN_SIGN_PREDICATE_TYPE,
      annotations: JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>,
    },
  ];

  /** Runs `call`, recording a throw, or a message that is not safe, as a violation. */
  function run(target: string, input: string | Uint8Array, call: () => readonly unknown[]): void {
    let messages: readonly unknown[];
    try {
      messages = call();
    } catch (e) {
      violations.push({ target, input: preview(input), problem: `threw ${String(e)}` });
      return;
    }
    for (const m of messages) {
      if (typeof m !== 'string') violations.push({ target, input: preview(input), problem: `message ${String(m)}` });
      else if (UNSAFE.test(m))
        violations.push({ target, input: preview(input), problem: `unsafe ${JSON.stringify(m)}` });
      else if (m.length > MAX_MESSAGE) {
        violations.push({ target, input: preview(input), problem: `a message of ${m.length} characters` });
      }
    }
  }

  /** The messages an artifact carries, and those of checking its claims. */
  function messagesOf(artifact: SignedArtifact): unknown[] {
    const messages: unknown[] = [];
    if (!artifact.claims.ok) messages.push(artifact.claims.error);
    if (artifact.certificate && !artifact.certificate.ok) messages.push(artifact.certificate.error);
    if (artifact.rekor && !artifact.rekor.ok) messages.push(artifact.rekor.error);
    const failure = checkClaims(artifact, fuzz.pick(WANTS));
    if (failure) messages.push(failure.detail);
    return messages;
  }

  const errorOf = (r: { ok: true } | { ok: false; error: unknown }) => (r.ok ? [] : [r.error]);

  afterAll(() => {
    // Keeps a failure's report short: the first few are enough to reproduce with the seed.
    if (violations.length > 0) console.error(violations.slice(0, 10));
  });

  it('parseInTotoStatement returns, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      fuzz.begin();
      const input = fuzz.chance(0.9) ? Buffer.from(fuzz.text(() => fuzz.statement())) : fuzz.bytes(512);
      run('parseInTotoStatement', input, () => errorOf(parseInTotoStatement(input)));
    }
    expect(violations.filter((v) => v.target === 'parseInTotoStatement')).toEqual([]);
  });

  it('parseSimpleSigningPayload returns, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      fuzz.begin();
      const input = fuzz.chance(0.9) ? Buffer.from(fuzz.text(() => fuzz.simpleSigning())) : fuzz.bytes(512);
      run('parseSimpleSigningPayload', input, () => errorOf(parseSimpleSigningPayload(input)));
    }
    expect(violations.filter((v) => v.target === 'parseSimpleSigningPayload')).toEqual([]);
  });

  it('parseRekorBundle returns, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      fuzz.begin();
      const input = fuzz.chance(0.9) ? fuzz.text(() => fuzz.rekor()) : Buffer.from(fuzz.bytes(512)).toString('utf8');
      run('parseRekorBundle', input, () => errorOf(parseRekorBundle(input)));
    }
    expect(violations.filter((v) => v.target === 'parseRekorBundle')).toEqual([]);
  });

  it('toBundleArtifact and checkClaims return, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      let input: Uint8Array;
      fuzz.begin();
      if (fuzz.chance(0.1)) {
        input = fuzz.bytes(2048);
      } else {
        // A real bundle with its statement replaced, or with anything put somewhere in it.
        const tree = JSON.parse(fuzz.pick(bundles)) as Record<string, Record<string, unknown>>;
        if (fuzz.chance(0.5) && tree['dsseEnvelope']) {
          tree['dsseEnvelope']['payload'] = Buffer.from(fuzz.text(() => fuzz.statement())).toString('base64');
          tree['dsseEnvelope']['payloadType'] = fuzz.chance(0.9) ? IN_TOTO_PAYLOAD_TYPE : fuzz.string();
          input = Buffer.from(JSON.stringify(tree));
        } else {
          // The text of any value, deep nesting and __proto__ keys included, in place of a placeholder.
          const text = JSON.stringify(mutate(fuzz, tree, PLACEHOLDER));
          input = Buffer.from(text.replace(JSON.stringify(PLACEHOLDER), () => fuzz.json(1)));
        }
      }
      run('toBundleArtifact', input, () => {
        const artifact = toBundleArtifact('referrer sha256:fuzz', DIGEST, input);
        return artifact.ok ? messagesOf(artifact.value) : [artifact.error];
      });
    }
    expect(violations.filter((v) => v.target === 'toBundleArtifact')).toEqual([]);
  });

  it('toDsseArtifacts and checkClaims return, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      fuzz.begin();
      let input: Uint8Array;
      if (fuzz.chance(0.1)) {
        input = fuzz.bytes(2048);
      } else if (fuzz.chance(0.6)) {
        // An envelope around any statement, with any signatures.
        const envelope = {
          payloadType: fuzz.chance(0.9) ? IN_TOTO_PAYLOAD_TYPE : fuzz.string(),
          payload: Buffer.from(fuzz.text(() => fuzz.statement())).toString(fuzz.chance(0.8) ? 'base64' : 'base64url'),
          signatures: fuzz.chance(0.9) ? [{ sig: Buffer.from(fuzz.bytes(72)).toString('base64') }] : PLACEHOLDER,
        };
        const text = JSON.stringify(envelope);
        input = Buffer.from(text.replace(JSON.stringify(PLACEHOLDER), () => fuzz.json(1)));
      } else {
        // Anything in place of a member.
        const text = JSON.stringify({ payloadType: PLACEHOLDER, payload: PLACEHOLDER, signatures: PLACEHOLDER });
        input = Buffer.from(text.replaceAll(JSON.stringify(PLACEHOLDER), () => fuzz.json(1)));
      }
      const layer: Descriptor = {
        mediaType: DSSE_MEDIA_TYPE,
        digest: computeDigest(input),
        size: input.length,
        annotations: fuzz.chance(0.5) ? { [BUNDLE_ANNOTATION]: fuzz.text(() => fuzz.rekor()) } : {},
      };
      run('toDsseArtifacts', input, () => {
        const artifacts = toDsseArtifacts('sha256-fuzz.att layer 0', layer, input);
        return artifacts.ok ? artifacts.value.flatMap(messagesOf) : [artifacts.error];
      });
    }
    expect(violations.filter((v) => v.target === 'toDsseArtifacts')).toEqual([]);
  });

  it('toLegacyArtifact and checkClaims return, with safe messages', () => {
    for (let i = 0; i < ROUNDS; i++) {
      fuzz.begin();
      const payload = fuzz.chance(0.9) ? Buffer.from(fuzz.text(() => fuzz.simpleSigning())) : fuzz.bytes(512);
      const annotations = JSON.parse(
        fuzz.object([
          [
            SIGNATURE_ANNOTATION,
            JSON.stringify(fuzz.chance(0.5) ? Buffer.from(fuzz.bytes(80)).toString('base64') : fuzz.string()),
          ],
          ...(fuzz.chance(0.5) ? [[CERTIFICATE_ANNOTATION, JSON.stringify(fuzz.string())] as const] : []),
          ...(fuzz.chance(0.7) ? [[BUNDLE_ANNOTATION, JSON.stringify(fuzz.text(() => fuzz.rekor()))] as const] : []),
          ...(fuzz.chance(0.2) ? [['__proto__', JSON.stringify(fuzz.string())] as const] : []),
        ]),
      ) as Record<string, string>;
      const layer: Descriptor = {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: computeDigest(payload),
        size: payload.length,
        annotations,
      };
      run('toLegacyArtifact', payload, () => messagesOf(toLegacyArtifact('sha256-fuzz.sig layer 0', layer, payload)));
    }
    expect(violations.filter((v) => v.target === 'toLegacyArtifact')).toEqual([]);
  });
});
