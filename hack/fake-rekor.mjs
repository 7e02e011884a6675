// A fake Rekor v1 transparency log, in memory, on 127.0.0.1. Test infrastructure only, never product code: the e2e
// tests sign with the real cosign CLIs against it and verify offline with the log key it writes, so signatures carry
// real tlog entries (SET, RFC 6962 inclusion proof, signed checkpoint) without any network. Dependency-free
// (node: built-ins only).
//
// Usage: node hack/fake-rekor.mjs PORT STATE_DIR        (PORT 0 picks a free port)
//   Reuses STATE_DIR/rekor.key (PKCS#8 PEM, ECDSA P-256) or generates it, and writes
//   STATE_DIR/rekor.pub           the log key, PEM SPKI
//   STATE_DIR/rekor.url           http://127.0.0.1:PORT
//   STATE_DIR/trusted_root.json   a sigstore TrustedRoot listing the log (and hack/fake-fulcio.mjs's CA and CT log
//                                 when that runs on the same STATE_DIR; see writeTrustedRoot)
//   Entries live in memory only: a restart starts an empty log with a new tree ID (the key stays).
// With cosign:
//   sign/attest  v2: --rekor-url URL;  v3: --use-signing-config=false --rekor-url URL (both bundle formats)
//   verify       v2: SIGSTORE_REKOR_PUBLIC_KEY=STATE_DIR/rekor.pub (or --trusted-root, as v3)
//                v3: --trusted-root STATE_DIR/trusted_root.json
//
// API (https://github.com/sigstore/rekor/blob/main/openapi.yaml):
//   POST /api/v1/log/entries                 201 {entryID: LogEntryAnon}, ETag: entryID, Location; 409 if known
//   GET  /api/v1/log/entries?logIndex=N      GET /api/v1/log/entries/{uuid or entryID}
//   POST /api/v1/log/entries/retrieve        {entryUUIDs | logIndexes | entries} (cosign verify without a bundle)
//   POST /api/v1/index/retrieve              {hash | publicKey | email | subject, operator}
//   GET  /api/v1/log                         LogInfo with signed tree head
//   GET  /api/v1/log/proof?firstSize&lastSize  RFC 6962 consistency proof
//   GET  /api/v1/log/publicKey               PEM
//   Errors are JSON {code, message}: 400 malformed or unverifiable input, 404, 409, 413, 422.
// Entry kinds accepted, stored canonicalized as Rekor does (https://github.com/sigstore/rekor/tree/main/pkg/types):
//   hashedrekord 0.0.1 (cosign sign, all versions and formats), dsse 0.0.1 (cosign v2 attest default, cosign v3
//   attest, new-bundle sign), intoto 0.0.1 (cosign v2 attest --rekor-entry-type intoto), intoto 0.0.2.
//   Signatures are checked as Rekor does (hashedrekord: ECDSA P-256/P-384 and RSA PKCS#1 v1.5 over the digest), except
//   hashedrekord with Ed25519 keys, accepted unchecked (Node has no Ed25519ph).
// Formats followed:
//   RFC 8785 JSON canonicalization (bodies, SET payload)  https://www.rfc-editor.org/rfc/rfc8785
//   RFC 6962 §2.1 Merkle tree, inclusion and consistency proofs  https://www.rfc-editor.org/rfc/rfc6962#section-2.1
//   SET = ECDSA-SHA256 (ASN.1 DER) over JCS({body, integratedTime, logID, logIndex}), logID = hex sha256(DER SPKI)
//     https://github.com/sigstore/rekor/blob/main/pkg/api/entries.go (signEntry)
//   checkpoint = signed note "<origin>\n<size>\n<b64 root>\n" + "\n— <name> b64(keyhint(4) || ECDSA sig)\n",
//     origin "<host> - <treeID>" (sigstore-go treats only that shape as a Rekor v1 checkpoint), key hint = first 4
//     bytes of sha256(DER SPKI)  https://github.com/sigstore/rekor/blob/main/pkg/util/checkpoint.go, .../signed_note.go
//   DSSE PAE  https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
//   TrustedRoot  https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto
import { createServer } from 'node:http';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  publicDecrypt,
  randomBytes,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL, pathToFileURL } from 'node:url';

const MAX_BODY = 32 << 20;
// The checkpoint signer name and origin host: sigstore-js accepts a checkpoint only when the log's baseUrl contains the
// signer name (as https://rekor.sigstore.dev contains rekor.sigstore.dev).
const HOST = '127.0.0.1';
const VALID_FROM = '2020-01-01T00:00:00Z';

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared with hack/fake-fulcio.mjs

const sha256 = (data) => createHash('sha256').update(data).digest();

/** RFC 8785 canonical JSON of plain data (strings, safe integers, booleans, null, arrays, objects). */
export function canonicalJSON(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(value[k])}`).join(',')}}`;
}

/** PEM-encodes DER bytes with 64-character lines, as Go's encoding/pem does. */
export function toPEM(type, der) {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join('\n')}\n-----END ${type}-----\n`;
}

/** Every PEM block in text, as {type, der}. */
export function parsePEM(text) {
  const blocks = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    blocks.push({ type: m[1], der: Buffer.from(m[2].replace(/\s+/g, ''), 'base64') });
  }
  return blocks;
}

/** Loads a PKCS#8 PEM key from file, or generates one (default ECDSA P-256) and writes it there. */
export function loadOrCreateKey(file, type = 'ec', options = { namedCurve: 'P-256' }) {
  if (existsSync(file)) return createPrivateKey(readFileSync(file));
  const { privateKey } = generateKeyPairSync(type, options);
  writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return privateKey;
}

export const spkiDER = (key) => createPublicKey(key).export({ type: 'spki', format: 'der' });

function keyDetails(key) {
  const pub = createPublicKey(key);
  const curve = pub.asymmetricKeyDetails?.namedCurve;
  if (pub.asymmetricKeyType === 'ec' && curve === 'prime256v1') return 'PKIX_ECDSA_P256_SHA_256';
  if (pub.asymmetricKeyType === 'ec' && curve === 'secp384r1') return 'PKIX_ECDSA_P384_SHA_384';
  if (pub.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  throw new Error(`unsupported log key type ${pub.asymmetricKeyType} ${curve ?? ''}`);
}

export function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/**
 * (Re)writes STATE_DIR/trusted_root.json from the public material the fake services left in STATE_DIR:
 *   rekor.pub + rekor.url                       → tlogs
 *   fulcio-root.pem (+ fulcio.url)              → certificateAuthorities (hack/fake-fulcio.mjs)
 *   ctlog.pub (+ ctlog.url)                     → ctlogs (hack/fake-fulcio.mjs)
 * `pending` holds files about to be written ({'rekor.url': …}): each service writes its URL files only after the
 * trusted root, so whoever waits for them finds the trusted root complete. Start the fake services one after the
 * other: each rewrites the whole file.
 */
export function writeTrustedRoot(stateDir, pending = {}) {
  const file = (name) => join(stateDir, name);
  const read = (name) =>
    pending[name]?.trim() ?? (existsSync(file(name)) ? readFileSync(file(name), 'utf8').trim() : undefined);
  const transparencyLog = (pubName, urlName) => {
    const pem = read(pubName);
    if (!pem) return [];
    const der = spkiDER(pem);
    return [
      {
        baseUrl: read(urlName) ?? 'http://127.0.0.1',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: der.toString('base64'), keyDetails: keyDetails(pem), validFor: { start: VALID_FROM } },
        logId: { keyId: sha256(der).toString('base64') },
      },
    ];
  };
  const certificateAuthorities = [];
  const caPEM = read('fulcio-root.pem');
  if (caPEM) {
    const certs = parsePEM(caPEM).filter((b) => b.type === 'CERTIFICATE');
    const root = new X509Certificate(certs[certs.length - 1].der);
    certificateAuthorities.push({
      subject: { organization: 'imprimatur-test', commonName: 'fake-fulcio' },
      uri: read('fulcio.url') ?? 'http://127.0.0.1',
      certChain: { certificates: certs.map((c) => ({ rawBytes: c.der.toString('base64') })) },
      validFor: { start: (root.validFromDate ?? new Date(root.validFrom)).toISOString() },
    });
  }
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: transparencyLog('rekor.pub', 'rekor.url'),
    certificateAuthorities,
    ctlogs: transparencyLog('ctlog.pub', 'ctlog.url'),
    timestampAuthorities: [],
  };
  writeAtomic(file('trusted_root.json'), `${JSON.stringify(trustedRoot, null, 2)}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// RFC 6962 Merkle tree

const EMPTY_ROOT = sha256(Buffer.alloc(0));
const leafHash = (data) => sha256(Buffer.concat([Buffer.from([0]), data]));
const nodeHash = (l, r) => sha256(Buffer.concat([Buffer.from([1]), l, r]));
/** The largest power of two smaller than n (n ≥ 2). */
function splitPoint(n) {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

class MerkleTree {
  leaves = [];
  #complete = new Map(); // hashes of complete subtrees, which never change: "start:size" → hash

  append(hash) {
    this.leaves.push(hash);
  }

  get size() {
    return this.leaves.length;
  }

  /** MTH(D[start:start+size]). */
  hash(start, size) {
    if (size === 0) return EMPTY_ROOT;
    if (size === 1) return this.leaves[start];
    const complete = (size & (size - 1)) === 0;
    const key = `${start}:${size}`;
    if (complete && this.#complete.has(key)) return this.#complete.get(key);
    const k = splitPoint(size);
    const h = nodeHash(this.hash(start, k), this.hash(start + k, size - k));
    if (complete) this.#complete.set(key, h);
    return h;
  }

  root(size = this.size) {
    return this.hash(0, size);
  }

  /** PATH(m, D[start:start+size]), leaf to root. */
  inclusion(m, size, start = 0) {
    if (size <= 1) return [];
    const k = splitPoint(size);
    return m < k
      ? [...this.inclusion(m, k, start), this.hash(start + k, size - k)]
      : [...this.inclusion(m - k, size - k, start + k), this.hash(start, k)];
  }

  /** PROOF(m, D[0:n]). */
  consistency(m, n) {
    const sub = (m, size, start, whole) => {
      if (m === size) return whole ? [] : [this.hash(start, size)];
      const k = splitPoint(size);
      return m <= k
        ? [...sub(m, k, start, whole), this.hash(start + k, size - k)]
        : [...sub(m - k, size - k, start + k, false), this.hash(start, k)];
    };
    return m === 0 || m === n ? [] : sub(m, n, 0, true);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Signature checks (what Rekor verifies before it accepts an entry)

class BadRequest extends Error {}
const fail = (message) => {
  throw new BadRequest(message);
};

const CURVES = {
  prime256v1: {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    gx: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
    gy: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
  },
  secp384r1: {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    gx: 0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7n,
    gy: 0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5fn,
  },
};

const bigFrom = (buf) => (buf.length ? BigInt(`0x${buf.toString('hex')}`) : 0n);

/** Reads an ASN.1 ECDSA signature SEQUENCE { r INTEGER, s INTEGER }. */
function parseECDSASignature(der) {
  let i = 0;
  const readLength = () => {
    let len = der[i++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 2) return -1;
      len = 0;
      for (let j = 0; j < n; j++) len = (len << 8) | der[i++];
    }
    return len;
  };
  if (der[i++] !== 0x30 || readLength() !== der.length - i) return undefined;
  const ints = [];
  for (let j = 0; j < 2; j++) {
    if (der[i++] !== 0x02) return undefined;
    const len = readLength();
    if (len <= 0 || i + len > der.length) return undefined;
    ints.push(bigFrom(der.subarray(i, i + len)));
    i += len;
  }
  return i === der.length ? ints : undefined;
}

/** ECDSA verification of a precomputed digest (Node's crypto only verifies messages it hashes itself). */
function verifyECDSADigest(curve, x, y, digest, der) {
  const { p, n, gx, gy } = curve;
  const rs = parseECDSASignature(der);
  if (!rs) return false;
  const [r, s] = rs;
  if (r <= 0n || r >= n || s <= 0n || s >= n) return false;
  const mod = (a, m = p) => ((a % m) + m) % m;
  const inv = (a, m) => {
    let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
    while (r1 !== 0n) {
      const q = r0 / r1;
      [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
    }
    return mod(s0, m);
  };
  // Jacobian coordinates, a = -3; Z = 0 is the point at infinity.
  const double = ([X, Y, Z]) => {
    if (Z === 0n || Y === 0n) return [0n, 1n, 0n];
    const delta = mod(Z * Z);
    const gamma = mod(Y * Y);
    const beta = mod(X * gamma);
    const alpha = mod(3n * (X - delta) * (X + delta));
    const X3 = mod(alpha * alpha - 8n * beta);
    const Z3 = mod((Y + Z) * (Y + Z) - gamma - delta);
    const Y3 = mod(alpha * (4n * beta - X3) - 8n * gamma * gamma);
    return [X3, Y3, Z3];
  };
  const add = (P, Q) => {
    if (P[2] === 0n) return Q;
    if (Q[2] === 0n) return P;
    const [X1, Y1, Z1] = P;
    const [X2, Y2, Z2] = Q;
    const Z1Z1 = mod(Z1 * Z1);
    const Z2Z2 = mod(Z2 * Z2);
    const U1 = mod(X1 * Z2Z2);
    const U2 = mod(X2 * Z1Z1);
    const S1 = mod(Y1 * Z2 * Z2Z2);
    const S2 = mod(Y2 * Z1 * Z1Z1);
    const H = mod(U2 - U1);
    const R = mod(S2 - S1);
    if (H === 0n) return R === 0n ? double(P) : [0n, 1n, 0n];
    const HH = mod(H * H);
    const HHH = mod(H * HH);
    const X3 = mod(R * R - HHH - 2n * U1 * HH);
    const Y3 = mod(R * (U1 * HH - X3) - S1 * HHH);
    return [X3, Y3, mod(H * Z1 * Z2)];
  };
  const multiply = (k, P) => {
    let acc = [0n, 1n, 0n];
    for (let bit = BigInt(k.toString(2).length - 1); bit >= 0n; bit--) {
      acc = double(acc);
      if ((k >> bit) & 1n) acc = add(acc, P);
    }
    return acc;
  };
  const nBits = n.toString(2).length;
  let e = bigFrom(digest);
  if (digest.length * 8 > nBits) e >>= BigInt(digest.length * 8 - nBits);
  const w = inv(s, n);
  const point = add(multiply(mod(e * w, n), [gx, gy, 1n]), multiply(mod(r * w, n), [x, y, 1n]));
  if (point[2] === 0n) return false;
  const zInv = inv(point[2], p);
  return mod(mod(point[0] * zInv * zInv), n) === r;
}

const DIGEST_INFO = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

/** Verifies a signature over a precomputed digest, as Rekor's hashedrekord does. */
function verifyDigest(key, algorithm, digest, signature) {
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve];
    if (!curve) fail(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
    const jwk = key.export({ format: 'jwk' });
    const coord = (c) => bigFrom(Buffer.from(c, 'base64url'));
    return verifyECDSADigest(curve, coord(jwk.x), coord(jwk.y), digest, signature);
  }
  if (key.asymmetricKeyType === 'rsa') {
    try {
      const decrypted = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return decrypted.equals(Buffer.concat([Buffer.from(DIGEST_INFO[algorithm], 'hex'), digest]));
    } catch {
      return false;
    }
  }
  if (key.asymmetricKeyType === 'ed25519') return true; // Ed25519ph: not available in Node; accepted unverified
  fail(`unsupported key type ${key.asymmetricKeyType}`);
}

/** DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(payload) SP payload. */
const pae = (type, payload) =>
  Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);

/** Verifies a message signature (DSSE PAE) the way Rekor's DSSE types do, allowing each key's usual hash. */
function verifyMessage(key, message, signature) {
  if (key.asymmetricKeyType === 'ed25519') return verify(null, message, key, signature);
  const hashes = ['sha256'];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') hashes.push('sha384');
  if (curve === 'secp521r1') hashes.push('sha512');
  return hashes.some((h) => {
    try {
      return verify(h, message, key, signature);
    } catch {
      return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Entry kinds: proposed entry → canonical body (what Rekor stores), plus index keys for /api/v1/index/retrieve

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const need = (v, what) => (v === undefined || v === null || v === '' ? fail(`missing ${what}`) : v);
const needString = (v, what) => (typeof need(v, what) === 'string' ? v : fail(`${what} must be a string`));

function decodeBase64(s, what) {
  needString(s, what);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) fail(`${what} is not valid base64`);
  return Buffer.from(s, 'base64');
}

/**
 * Parses a PEM public key, certificate or certificate chain as Rekor's x509.NewPublicKey does; returns the
 * canonical PEM (re-encoded), the crypto key (leaf's for certificates) and the certificate subjects.
 */
function parseVerifier(pemBytes, what) {
  const blocks = parsePEM(pemBytes.toString('utf8'));
  if (blocks.length === 0) fail(`invalid public key: failure decoding PEM (${what})`);
  try {
    if (blocks.length === 1 && blocks[0].type === 'PUBLIC KEY') {
      const key = createPublicKey({ key: blocks[0].der, format: 'der', type: 'spki' });
      return { canonical: toPEM('PUBLIC KEY', blocks[0].der), key, subjects: [] };
    }
    if (blocks.every((b) => b.type === 'CERTIFICATE')) {
      const certs = blocks.map((b) => new X509Certificate(b.der));
      const subjects = (certs[0].subjectAltName ?? '')
        .split(/,\s*/)
        .map((s) => s.replace(/^(email|URI|DNS|IP Address):/, ''))
        .filter(Boolean);
      return {
        canonical: blocks.map((b) => toPEM('CERTIFICATE', b.der)).join(''),
        key: certs[0].publicKey,
        subjects,
      };
    }
  } catch (err) {
    fail(`invalid public key (${what}): ${err.message}`);
  }
  fail(`invalid public key: cannot handle type ${blocks[0].type} (${what})`);
}

const HASH_LENGTHS = { sha256: 64, sha384: 96, sha512: 128 };

function hashedrekord001(spec) {
  const sig = decodeBase64(spec?.signature?.content, 'signature.content');
  if (sig.length === 0) fail('missing signature');
  const verifier = parseVerifier(decodeBase64(spec.signature.publicKey?.content, 'publicKey.content'), 'publicKey');
  const hash = spec.data?.hash;
  if (!isObject(hash)) fail('missing hash');
  const algorithm = hash.algorithm ?? 'sha256';
  if (!HASH_LENGTHS[algorithm]) fail(`unsupported hash algorithm ${algorithm}`);
  const value = needString(hash.value, 'hash value');
  if (!/^[0-9a-fA-F]+$/.test(value) || value.length !== HASH_LENGTHS[algorithm]) fail('invalid value for hash');
  if (!verifyDigest(verifier.key, algorithm, Buffer.from(value, 'hex'), sig)) {
    fail('verifying signature: invalid signature when validating ASN.1 encoded signature');
  }
  return {
    body: {
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm, value } },
        signature: { content: sig.toString('base64'), publicKey: { content: b64(verifier.canonical) } },
      },
    },
    keys: [keyIndex(verifier), ...verifier.subjects, `${algorithm}:${value}`.toLowerCase()],
  };
}

const b64 = (s) => Buffer.from(s).toString('base64');
const hexSha256 = (data) => sha256(data).toString('hex');
const keyIndex = (verifier) => `sha256:${hexSha256(verifier.canonical)}`;

/** Parses a DSSE envelope (JSON text) and its decoded payload. */
function parseEnvelope(text) {
  let env;
  try {
    env = JSON.parse(text);
  } catch {
    fail('envelope is not valid JSON');
  }
  if (!isObject(env) || typeof env.payloadType !== 'string' || typeof env.payload !== 'string') {
    fail('envelope must have payloadType and payload');
  }
  if (!Array.isArray(env.signatures) || env.signatures.length === 0) {
    fail('DSSE envelope must contain 1 or more signatures');
  }
  const payload = decodeBase64(env.payload, 'envelope payload');
  for (const s of env.signatures) if (!isObject(s) || typeof s.sig !== 'string') fail('malformed envelope signature');
  return { env, payload };
}

/** Subject digests of an in-toto statement, which Rekor indexes. */
function statementKeys(env, payload) {
  if (env.payloadType !== 'application/vnd.in-toto+json') return [];
  try {
    const statement = JSON.parse(payload.toString('utf8'));
    return (statement.subject ?? []).flatMap((s) => Object.entries(s?.digest ?? {}).map(([a, d]) => `${a}:${d}`));
  } catch {
    return [];
  }
}

function dsse001(spec) {
  const proposed = spec?.proposedContent;
  if (!isObject(proposed)) fail('either proposedContent or envelopeHash, payloadHash, and signatures must be present');
  const envelopeText = needString(proposed.envelope, 'proposedContent.envelope');
  const { env, payload } = parseEnvelope(envelopeText);
  const verifiers = (Array.isArray(proposed.verifiers) ? proposed.verifiers : []).map((v, i) =>
    parseVerifier(decodeBase64(v, `verifiers[${i}]`), `verifiers[${i}]`),
  );
  const message = pae(env.payloadType, payload);
  const signatures = env.signatures.map((s) => {
    const verifier = verifiers.find((v) => verifyMessage(v.key, message, decodeBase64(s.sig, 'signature')));
    if (!verifier) fail('all signatures must have a key that verifies it');
    return { signature: s.sig, verifier: b64(verifier.canonical), v: verifier };
  });
  signatures.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  const payloadHash = hexSha256(payload);
  const envelopeHash = hexSha256(Buffer.from(envelopeText));
  return {
    body: {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: { algorithm: 'sha256', value: envelopeHash },
        payloadHash: { algorithm: 'sha256', value: payloadHash },
        signatures: signatures.map(({ signature, verifier }) => ({ signature, verifier })),
      },
    },
    keys: [
      ...signatures.flatMap(({ v }) => [keyIndex(v), ...v.subjects]),
      `sha256:${payloadHash}`,
      `sha256:${envelopeHash}`,
      ...statementKeys(env, payload),
    ],
  };
}

function intoto001(spec) {
  const verifier = parseVerifier(decodeBase64(spec?.publicKey, 'publicKey'), 'publicKey');
  const envelopeText = needString(spec.content?.envelope, 'content.envelope');
  const { env, payload } = parseEnvelope(envelopeText);
  const message = pae(env.payloadType, payload);
  if (!env.signatures.some((s) => verifyMessage(verifier.key, message, decodeBase64(s.sig, 'signature')))) {
    fail('could not verify envelope: no valid signature');
  }
  const payloadHash = hexSha256(payload);
  const envelopeHash = hexSha256(Buffer.from(envelopeText));
  return {
    body: {
      apiVersion: '0.0.1',
      kind: 'intoto',
      spec: {
        content: {
          hash: { algorithm: 'sha256', value: envelopeHash },
          payloadHash: { algorithm: 'sha256', value: payloadHash },
        },
        publicKey: b64(verifier.canonical),
      },
    },
    keys: [keyIndex(verifier), ...verifier.subjects, `sha256:${payloadHash}`, ...statementKeys(env, payload)],
  };
}

function intoto002(spec) {
  const content = spec?.content;
  const envelope = content?.envelope;
  if (!isObject(envelope)) fail('missing content or envelope in intoto v0.0.2 entry');
  // payload and sig are base64 of the envelope's own base64 strings (swagger "format: byte" over those strings).
  const payloadB64 = decodeBase64(envelope.payload, 'envelope.payload').toString('utf8');
  const payloadType = needString(envelope.payloadType, 'envelope.payloadType');
  const payload = decodeBase64(payloadB64, 'decoded envelope payload');
  if (!Array.isArray(envelope.signatures) || envelope.signatures.length === 0) fail('missing signatures');
  const message = pae(payloadType, payload);
  const verifiers = envelope.signatures.map((s, i) => {
    if (!isObject(s)) fail('malformed signature');
    const verifier = parseVerifier(decodeBase64(s.publicKey, `signatures[${i}].publicKey`), `signatures[${i}]`);
    const sig = decodeBase64(decodeBase64(s.sig, `signatures[${i}].sig`).toString('utf8'), `signatures[${i}].sig`);
    if (!verifyMessage(verifier.key, message, sig)) fail('could not verify envelope: signature invalid');
    return verifier;
  });
  const hash = content.hash;
  if (!isObject(hash)) fail('missing envelope digest');
  if (hash.algorithm !== 'sha256' || !/^[0-9a-fA-F]{64}$/.test(hash.value ?? '')) fail('invalid envelope digest');
  const payloadHash = hexSha256(payload);
  return {
    body: {
      apiVersion: '0.0.2',
      kind: 'intoto',
      spec: {
        content: {
          envelope: {
            payloadType,
            signatures: envelope.signatures.map((s) => ({
              keyid: s.keyid || undefined,
              publicKey: s.publicKey,
              sig: s.sig,
            })),
          },
          hash: { algorithm: hash.algorithm, value: hash.value },
          payloadHash: { algorithm: 'sha256', value: payloadHash },
        },
      },
    },
    keys: [
      ...verifiers.flatMap((v) => [keyIndex(v), ...v.subjects]),
      `sha256:${payloadHash}`,
      ...statementKeys({ payloadType }, payload),
    ],
  };
}

const KINDS = {
  'hashedrekord/0.0.1': hashedrekord001,
  'dsse/0.0.1': dsse001,
  'intoto/0.0.1': intoto001,
  'intoto/0.0.2': intoto002,
};

/** Proposed entry → {body (canonical bytes), keys}. */
function canonicalize(proposed) {
  if (!isObject(proposed)) fail('proposed entry must be a JSON object');
  const kind = needString(proposed.kind, 'kind');
  const version = needString(proposed.apiVersion, 'apiVersion');
  const handler = KINDS[`${kind}/${version}`];
  if (!handler) fail(`unsupported entry kind/apiVersion ${kind}/${version} (fake-rekor knows ${Object.keys(KINDS)})`);
  if (!isObject(proposed.spec)) fail('missing spec');
  const { body, keys } = handler(proposed.spec);
  return { body: Buffer.from(canonicalJSON(body)), keys: keys.map((k) => k.toLowerCase()) };
}

// ---------------------------------------------------------------------------------------------------------------
// The log

class Log {
  constructor(privateKey) {
    this.key = privateKey;
    this.der = spkiDER(privateKey);
    this.logID = hexSha256(this.der);
    this.hint = sha256(this.der).subarray(0, 4);
    // Rekor tree IDs are positive int64s; entry IDs carry it as 16 hex digits.
    this.treeID = (randomBytes(8).readBigUInt64BE() >> 1n || 1n).toString();
    this.treeHex = BigInt(this.treeID).toString(16).padStart(16, '0');
    this.tree = new MerkleTree();
    this.entries = [];
    this.byUUID = new Map();
  }

  /** A signed checkpoint (Rekor v1 flavour: origin "<host> - <treeID>", signature name "<host>"). */
  checkpoint(size) {
    const note = `${HOST} - ${this.treeID}\n${size}\n${this.tree.root(size).toString('base64')}\n`;
    const sig = sign('sha256', Buffer.from(note), this.key);
    return `${note}\n\u2014 ${HOST} ${Buffer.concat([this.hint, sig]).toString('base64')}\n`;
  }

  add(proposed) {
    const { body, keys } = canonicalize(proposed);
    const uuid = leafHash(body).toString('hex');
    const existing = this.byUUID.get(uuid);
    if (existing) return { conflict: existing };
    const entry = {
      uuid,
      entryID: this.treeHex + uuid,
      logIndex: this.entries.length,
      integratedTime: Math.floor(Date.now() / 1000),
      body: body.toString('base64'),
      keys: new Set(keys),
    };
    const payload = {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logID: this.logID,
      logIndex: entry.logIndex,
    };
    entry.set = sign('sha256', Buffer.from(canonicalJSON(payload)), this.key).toString('base64');
    this.entries.push(entry);
    this.byUUID.set(uuid, entry);
    this.tree.append(Buffer.from(uuid, 'hex'));
    return { entry };
  }

  /** LogEntry {entryID: LogEntryAnon} with an inclusion proof against the current tree. */
  render(entry) {
    const size = this.tree.size;
    return {
      [entry.entryID]: {
        body: entry.body,
        integratedTime: entry.integratedTime,
        logID: this.logID,
        logIndex: entry.logIndex,
        verification: {
          inclusionProof: {
            checkpoint: this.checkpoint(size),
            hashes: this.tree.inclusion(entry.logIndex, size).map((h) => h.toString('hex')),
            logIndex: entry.logIndex,
            rootHash: this.tree.root(size).toString('hex'),
            treeSize: size,
          },
          signedEntryTimestamp: entry.set,
        },
      },
    };
  }

  find(id) {
    if (typeof id !== 'string' || !/^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.test(id)) return undefined;
    const lower = id.toLowerCase();
    if (lower.length === 80 && lower.slice(0, 16) !== this.treeHex) return undefined;
    return this.byUUID.get(lower.slice(-64));
  }

  info() {
    const size = this.tree.size;
    return {
      inactiveShards: [],
      rootHash: this.tree.root(size).toString('hex'),
      signedTreeHead: this.checkpoint(size),
      treeID: this.treeID,
      treeSize: size,
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

class HTTPError extends Error {
  constructor(code, message, headers = {}) {
    super(message);
    this.code = code;
    this.headers = headers;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HTTPError(413, `request body larger than ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJSON(req) {
  const text = (await readBody(req)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new HTTPError(400, 'request body is not valid JSON');
  }
}

function searchIndex(log, query) {
  if (!isObject(query)) throw new HTTPError(400, 'search query must be a JSON object');
  const wanted = [];
  if (query.hash !== undefined) {
    const h = needString(query.hash, 'hash').toLowerCase();
    wanted.push(h.includes(':') ? h : `sha256:${h}`);
  }
  if (query.publicKey !== undefined) {
    if (!isObject(query.publicKey) || query.publicKey.format !== 'x509') {
      throw new HTTPError(400, 'the PKI format requested is not supported by this server');
    }
    wanted.push(keyIndex(parseVerifier(decodeBase64(query.publicKey.content, 'publicKey.content'), 'publicKey')));
  }
  if (query.email !== undefined) wanted.push(needString(query.email, 'email').toLowerCase());
  if (query.subject !== undefined) wanted.push(needString(query.subject, 'subject').toLowerCase());
  if (wanted.length === 0) throw new HTTPError(400, 'at least one of hash, publicKey, email or subject is required');
  const and = (query.operator ?? 'or') === 'and';
  return log.entries
    .filter((e) => (and ? wanted.every((k) => e.keys.has(k)) : wanted.some((k) => e.keys.has(k))))
    .map((e) => e.entryID);
}

function searchLog(log, query) {
  if (!isObject(query)) fail('search query must be a JSON object');
  const found = [];
  const list = (v, what) => {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) fail(`${what} must be an array`);
    if (v.length > 10) throw new HTTPError(422, `more than max allowed 10 entries in request`);
    return v;
  };

  for (const id of list(query.entryUUIDs, 'entryUUIDs')) {
    if (typeof id !== 'string' || !/^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.test(id)) fail(`invalid entry UUID ${id}`);
    found.push(log.find(id));
  }
  for (const i of list(query.logIndexes, 'logIndexes')) {
    if (!Number.isSafeInteger(i) || i < 0) fail(`invalid log index ${i}`);
    found.push(log.entries[i]);
  }
  for (const proposed of list(query.entries, 'entries')) {
    found.push(log.byUUID.get(leafHash(canonicalize(proposed).body).toString('hex')));
  }
  return found.filter(Boolean).map((e) => log.render(e));
}

function handler(log) {
  return async (req, res) => {
    res.on('finish', () => process.stdout.write(`fake-rekor: ${req.method} ${req.url} ${res.statusCode}\n`));
    const send = (code, body, headers = {}) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
      res.writeHead(code, { 'content-type': type, ...headers }).end(`${text}\n`);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.replace(/\/+$/, '');
      const route = `${req.method} ${path}`;
      if (route === 'POST /api/v1/log/entries') {
        const result = log.add(await readJSON(req));
        if (result.conflict) {
          const id = result.conflict.entryID;
          throw new HTTPError(409, `an equivalent entry already exists in the transparency log with UUID ${id}`, {
            location: `/api/v1/log/entries/${id}`,
          });
        }
        const { entryID } = result.entry;
        return send(201, log.render(result.entry), { etag: entryID, location: `/api/v1/log/entries/${entryID}` });
      }
      if (route === 'GET /api/v1/log/entries') {
        const raw = url.searchParams.get('logIndex');
        if (raw === null || !/^\d+$/.test(raw)) throw new HTTPError(400, 'logIndex must be a non-negative integer');
        const entry = log.entries[Number(raw)];
        if (!entry) throw new HTTPError(404, 'log entry not found');
        return send(200, log.render(entry));
      }
      const byID = /^GET \/api\/v1\/log\/entries\/([^/]+)$/.exec(route);
      if (byID && byID[1] !== 'retrieve') {
        if (!/^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.test(byID[1])) throw new HTTPError(400, 'invalid entry UUID');
        const entry = log.find(byID[1]);
        if (!entry) throw new HTTPError(404, 'log entry not found');
        return send(200, log.render(entry));
      }
      if (route === 'POST /api/v1/log/entries/retrieve') return send(200, searchLog(log, await readJSON(req)));
      if (route === 'POST /api/v1/index/retrieve') return send(200, searchIndex(log, await readJSON(req)));
      if (route === 'GET /api/v1/log') return send(200, log.info());
      if (route === 'GET /api/v1/log/publicKey') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(toPEM('PUBLIC KEY', log.der));
        return;
      }
      if (route === 'GET /api/v1/log/proof') {
        const first = Number(url.searchParams.get('firstSize') ?? 1);
        const last = Number(url.searchParams.get('lastSize'));
        if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 1 || last < first) {
          throw new HTTPError(400, 'firstSize and lastSize must satisfy 1 <= firstSize <= lastSize');
        }
        if (last > log.tree.size) throw new HTTPError(400, `lastSize ${last} is beyond the tree size ${log.tree.size}`);
        return send(200, {
          hashes: log.tree.consistency(first, last).map((h) => h.toString('hex')),
          rootHash: log.tree.root(last).toString('hex'),
        });
      }
      if (route === 'GET /ping') return send(200, 'pong');
      throw new HTTPError(404, `no route for ${req.method} ${url.pathname}`);
    } catch (err) {
      let e = err;
      if (err instanceof BadRequest) e = new HTTPError(400, `error processing entry: ${err.message}`);
      if (!(e instanceof HTTPError)) {
        process.stderr.write(`fake-rekor: ${err?.stack ?? err}\n`);
        e = new HTTPError(500, 'internal error');
      }
      if (e.code >= 400 && e.code < 500) process.stderr.write(`fake-rekor: ${req.method} ${req.url}: ${e.message}\n`);
      if (!res.headersSent) send(e.code, { code: e.code, message: e.message }, e.headers);
    }
  };
}

function main() {
  const [portArg, stateDir] = process.argv.slice(2);
  if (!stateDir || !/^\d+$/.test(portArg ?? '')) {
    process.stderr.write('usage: fake-rekor.mjs PORT STATE_DIR\n');
    process.exit(2);
  }
  mkdirSync(stateDir, { recursive: true });
  const log = new Log(loadOrCreateKey(join(stateDir, 'rekor.key')));
  writeFileSync(join(stateDir, 'rekor.pub'), toPEM('PUBLIC KEY', log.der));
  const server = createServer(handler(log));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(Number(portArg), HOST, () => {
    const url = `http://${HOST}:${server.address().port}`;
    writeTrustedRoot(stateDir, { 'rekor.url': url });
    writeAtomic(join(stateDir, 'rekor.url'), `${url}\n`);
    process.stdout.write(`fake-rekor: ${url} log ID ${log.logID} tree ${log.treeID}; trust material in ${stateDir}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (err) => process.stderr.write(`fake-rekor: uncaught ${err?.stack ?? err}\n`));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
