// A fake Rekor v1 transparency log, in memory, on 127.0.0.1. Test infrastructure only, never product code: the e2e
// tests sign with the real cosign CLIs against it and verify offline with the log key it writes, so signatures carry
// real tlog entries (SET, RFC 6962 inclusion proof, signed checkpoint) without any network. Built on the product's
// own dependencies: @noble/curves checks signatures over a digest (which node:crypto cannot), @peculiar/x509 and
// @peculiar/asn1-* read PEM, certificates and key structures, @sigstore/core gives RFC 8785 JSON and the DSSE PAE;
// node:crypto does the rest.
//
// Usage: node hack/fake-rekor.mjs PORT STATE_DIR        (PORT 0 picks a free port)
//   Reuses STATE_DIR/rekor.key (PKCS#8 PEM, ECDSA P-256) or generates it, and writes
//   STATE_DIR/rekor.pub           the log key, PEM SPKI
//   STATE_DIR/rekor.url           http://127.0.0.1:PORT
//   STATE_DIR/trusted_root.json   a sigstore TrustedRoot listing the log (and hack/fake-fulcio.mjs's CA and CT log
//                                 when that runs on the same STATE_DIR, and the timestamp authority whose chain
//                                 hack/cluster-up.sh saved as tsa-chain.pem; see writeTrustedRoot)
//   Entries live in memory only: a restart starts an empty log with a new tree ID (the key stays).
// With cosign:
//   sign/attest  v2: --rekor-url URL;  v3: --use-signing-config=false --rekor-url URL (both bundle formats)
//   verify       v2: SIGSTORE_REKOR_PUBLIC_KEY=STATE_DIR/rekor.pub (or --trusted-root, as v3)
//                v3: --trusted-root STATE_DIR/trusted_root.json
//
// API, only what cosign v2 and v3 call (https://github.com/sigstore/rekor/blob/main/openapi.yaml):
//   POST /api/v1/log/entries             201 {entryID: LogEntryAnon}, ETag: entryID, Location; 409 if known (every
//                                        cosign sign and attest)
//   GET  /api/v1/log/entries/{uuid or entryID}   cosign v2 fetches the known entry named by a 409's Location
//   GET  /api/v1/log/publicKey           PEM; cosign v2 after a 409, and hack/cluster-up.sh's health check
//   Errors are JSON {code, message}: 400 malformed or unverifiable input, 404, 409, 413.
//   Verification is offline (the entry's SET and inclusion proof), so no search, log info or consistency proofs.
// Entry kinds accepted, stored canonicalized as Rekor does (https://github.com/sigstore/rekor/tree/main/pkg/types):
//   hashedrekord 0.0.1 (cosign sign, all versions and formats), dsse 0.0.1 (cosign attest, v2 and v3).
//   Signatures are checked as Rekor does: hashedrekord over the digest (ECDSA P-256/P-384/P-521, RSA PKCS#1 v1.5,
//   Ed25519ph with a SHA-512 digest), DSSE over the PAE (ECDSA with SHA-256 or the curve's hash, RSA, Ed25519).
// Formats followed:
//   RFC 8785 JSON canonicalization (bodies, SET payload)  https://www.rfc-editor.org/rfc/rfc8785
//   RFC 6962 §2.1 Merkle tree and inclusion proofs  https://www.rfc-editor.org/rfc/rfc6962#section-2.1
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
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL, pathToFileURL } from 'node:url';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { DigestInfo, sha256 as sha256Id, sha384 as sha384Id, sha512 as sha512Id } from '@peculiar/asn1-rsa';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { dsse, json } from '@sigstore/core';

const MAX_BODY = 32 << 20;
// The checkpoint signer name and origin host: sigstore-js accepts a checkpoint only when the log's baseUrl contains the
// signer name (as https://rekor.sigstore.dev contains rekor.sigstore.dev).
const HOST = '127.0.0.1';
const VALID_FROM = '2020-01-01T00:00:00Z';

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared with hack/fake-fulcio.mjs

const sha256 = (data) => createHash('sha256').update(data).digest();

/** PEM of DER bytes as Go's encoding/pem writes it: Rekor's canonical bodies carry Go's bytes, final newline too. */
export const toPEM = (type, der) => `${x509.PemConverter.encode(der, type)}\n`;

/** Every PEM block in text, as {type, der}. */
export const parsePEM = (text) =>
  x509.PemConverter.decodeWithHeaders(text).map((b) => ({ type: b.type, der: Buffer.from(b.rawData) }));

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
    const root = new x509.X509Certificate(certs[certs.length - 1].der);
    certificateAuthorities.push({
      subject: {
        organization: root.subjectName.getField('O')[0] ?? '',
        commonName: root.subjectName.getField('CN')[0] ?? '',
      },
      uri: read('fulcio.url') ?? 'http://127.0.0.1',
      certChain: { certificates: certs.map((c) => ({ rawBytes: c.der.toString('base64') })) },
      validFor: { start: root.notBefore.toISOString() },
    });
  }
  // An RFC 3161 timestamp authority's chain (leaf first, as timestamp-server serves it), when hack/cluster-up.sh
  // started one and saved it here.
  const timestampAuthorities = [];
  const tsaPEM = read('tsa-chain.pem');
  if (tsaPEM) {
    const certs = parsePEM(tsaPEM).filter((b) => b.type === 'CERTIFICATE');
    const leaf = new x509.X509Certificate(certs[0].der);
    timestampAuthorities.push({
      subject: {
        organization: leaf.subjectName.getField('O')[0] ?? '',
        commonName: leaf.subjectName.getField('CN')[0] ?? '',
      },
      uri: read('tsa.url') ?? 'http://127.0.0.1',
      certChain: { certificates: certs.map((c) => ({ rawBytes: c.der.toString('base64') })) },
      validFor: { start: VALID_FROM },
    });
  }
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: transparencyLog('rekor.pub', 'rekor.url'),
    certificateAuthorities,
    ctlogs: transparencyLog('ctlog.pub', 'ctlog.url'),
    timestampAuthorities,
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
}

// ---------------------------------------------------------------------------------------------------------------
// Signature checks (what Rekor verifies before it accepts an entry)

class BadRequest extends Error {}
const fail = (message) => {
  throw new BadRequest(message);
};

const ECDSA_CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 };
const DIGEST_ALGORITHMS = { sha256: sha256Id, sha384: sha384Id, sha512: sha512Id };

/** The subjectPublicKey bits of a DER SPKI: the SEC1 point of an EC key, the 32 bytes of an Ed25519 key. */
const rawPublicKey = (spki) => new Uint8Array(AsnConvert.parse(spki, SubjectPublicKeyInfo).subjectPublicKey);

// Ed25519ph (RFC 8032 §5.1) is Ed25519 over PH(M) = SHA-512(M) with dom2(phflag 1). noble's ed25519ph computes PH(M)
// itself, but a hashedrekord entry holds only the digest, so this is the same scheme with PH already applied.
const ed25519phOverDigest = eddsa(ed25519.Point, (data) => createHash('sha512').update(data).digest(), {
  domain: (data, context, phflag) =>
    Buffer.concat([
      Buffer.from('SigEd25519 no Ed25519 collisions'),
      Buffer.from([phflag ? 1 : 0, context.length]),
      context,
      data,
    ]),
  prehash: (digest) => digest,
});

/** Library verifiers throw on malformed input (bad DER, wrong lengths): that is simply not a valid signature. */
function quietly(check) {
  try {
    return check();
  } catch {
    return false;
  }
}

/**
 * Verifies a signature over a precomputed digest, as Rekor's hashedrekord does (sigstore/pkg/signature with
 * options.WithDigest): node:crypto hashes every message itself, so ECDSA and Ed25519ph go through @noble/curves.
 */
function verifyDigest(verifier, algorithm, digest, signature) {
  const { key, spki } = verifier;
  if (key.asymmetricKeyType === 'ec') {
    const curve = ECDSA_CURVES[key.asymmetricKeyDetails?.namedCurve];
    if (!curve) fail(`unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
    // As Go's ecdsa.VerifyASN1: the digest as given (truncated to the curve order), ASN.1 DER, high S allowed.
    return quietly(() =>
      curve.verify(signature, digest, rawPublicKey(spki), { prehash: false, lowS: false, format: 'der' }),
    );
  }
  if (key.asymmetricKeyType === 'rsa') {
    // PKCS#1 v1.5: OpenSSL's public-key operation checks and strips the padding, what remains must be the DigestInfo.
    const expected = AsnConvert.serialize(
      new DigestInfo({ digestAlgorithm: DIGEST_ALGORITHMS[algorithm], digest: new OctetString(digest) }),
    );
    return quietly(() =>
      publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature).equals(Buffer.from(expected)),
    );
  }
  if (key.asymmetricKeyType === 'ed25519') {
    // Rekor verifies Ed25519 hashedrekord entries as Ed25519ph, whose prehash is SHA-512 and nothing else.
    if (algorithm !== 'sha512') fail(`verifying signature: unsupported hash algorithm ${algorithm} for ed25519ph`);
    return quietly(() => ed25519phOverDigest.verify(signature, digest, rawPublicKey(spki)));
  }
  fail(`unsupported key type ${key.asymmetricKeyType}`);
}

/** Verifies a message signature (DSSE PAE) the way Rekor's DSSE type does, allowing each key's usual hash. */
function verifyMessage(key, message, signature) {
  if (key.asymmetricKeyType === 'ed25519') return quietly(() => verify(null, message, key, signature));
  const hashes = ['sha256'];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') hashes.push('sha384');
  if (curve === 'secp521r1') hashes.push('sha512');
  return hashes.some((h) => quietly(() => verify(h, message, key, signature)));
}

// ---------------------------------------------------------------------------------------------------------------
// Entry kinds: proposed entry → canonical body (what Rekor stores)

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const need = (v, what) => (v === undefined || v === null || v === '' ? fail(`missing ${what}`) : v);
const needString = (v, what) => (typeof need(v, what) === 'string' ? v : fail(`${what} must be a string`));
const b64 = (s) => Buffer.from(s).toString('base64');
const hexSha256 = (data) => sha256(data).toString('hex');

function decodeBase64(s, what) {
  needString(s, what);
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) fail(`${what} is not valid base64`);
  return Buffer.from(s, 'base64');
}

/**
 * Parses a PEM public key, certificate or certificate chain as Rekor's x509.NewPublicKey does; returns the
 * canonical PEM (re-encoded), and the key (the leaf's for certificates) as a KeyObject and as DER SPKI.
 */
function parseVerifier(pemBytes, what) {
  const blocks = parsePEM(pemBytes.toString('utf8'));
  if (blocks.length === 0) fail(`invalid public key: failure decoding PEM (${what})`);
  try {
    let spki;
    if (blocks.length === 1 && blocks[0].type === 'PUBLIC KEY') spki = blocks[0].der;
    else if (blocks.every((b) => b.type === 'CERTIFICATE')) {
      spki = Buffer.from(new x509.X509Certificate(blocks[0].der).publicKey.rawData);
    }
    if (spki) {
      return {
        canonical: blocks.map((b) => toPEM(b.type, b.der)).join(''),
        key: createPublicKey({ key: spki, format: 'der', type: 'spki' }),
        spki,
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
  if (!verifyDigest(verifier, algorithm, Buffer.from(value, 'hex'), sig)) {
    fail('verifying signature: invalid signature when validating ASN.1 encoded signature');
  }
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm, value } },
      signature: { content: sig.toString('base64'), publicKey: { content: b64(verifier.canonical) } },
    },
  };
}

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

function dsse001(spec) {
  const proposed = spec?.proposedContent;
  if (!isObject(proposed)) fail('either proposedContent or envelopeHash, payloadHash, and signatures must be present');
  const envelopeText = needString(proposed.envelope, 'proposedContent.envelope');
  const { env, payload } = parseEnvelope(envelopeText);
  const verifiers = (Array.isArray(proposed.verifiers) ? proposed.verifiers : []).map((v, i) =>
    parseVerifier(decodeBase64(v, `verifiers[${i}]`), `verifiers[${i}]`),
  );
  const message = dsse.preAuthEncoding(env.payloadType, payload);
  const signatures = env.signatures.map((s) => {
    const verifier = verifiers.find((v) => verifyMessage(v.key, message, decodeBase64(s.sig, 'signature')));
    if (!verifier) fail('all signatures must have a key that verifies it');
    return { signature: s.sig, verifier: b64(verifier.canonical) };
  });
  signatures.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: hexSha256(Buffer.from(envelopeText)) },
      payloadHash: { algorithm: 'sha256', value: hexSha256(payload) },
      signatures,
    },
  };
}

const KINDS = { 'hashedrekord/0.0.1': hashedrekord001, 'dsse/0.0.1': dsse001 };

/** Proposed entry → canonical body bytes. */
function canonicalize(proposed) {
  if (!isObject(proposed)) fail('proposed entry must be a JSON object');
  const kind = needString(proposed.kind, 'kind');
  const version = needString(proposed.apiVersion, 'apiVersion');
  const handler = KINDS[`${kind}/${version}`];
  if (!handler) fail(`unsupported entry kind/apiVersion ${kind}/${version} (fake-rekor knows ${Object.keys(KINDS)})`);
  if (!isObject(proposed.spec)) fail('missing spec');
  return Buffer.from(json.canonicalize(handler(proposed.spec)));
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
    const body = canonicalize(proposed);
    const uuid = leafHash(body).toString('hex');
    const existing = this.byUUID.get(uuid);
    if (existing) return { conflict: existing };
    const entry = {
      uuid,
      entryID: this.treeHex + uuid,
      logIndex: this.entries.length,
      integratedTime: Math.floor(Date.now() / 1000),
      body: body.toString('base64'),
    };
    const payload = {
      body: entry.body,
      integratedTime: entry.integratedTime,
      logID: this.logID,
      logIndex: entry.logIndex,
    };
    entry.set = sign('sha256', Buffer.from(json.canonicalize(payload)), this.key).toString('base64');
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

  /** The entry of a UUID (64 hex digits) or entry ID (tree ID and UUID, 80 hex digits) of this tree. */
  find(id) {
    const lower = id.toLowerCase();
    if (lower.length === 80 && lower.slice(0, 16) !== this.treeHex) return undefined;
    return this.byUUID.get(lower.slice(-64));
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
      const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
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
      const byID = /^GET \/api\/v1\/log\/entries\/([^/]+)$/.exec(route);
      if (byID) {
        if (!/^([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/.test(byID[1])) throw new HTTPError(400, 'invalid entry UUID');
        const entry = log.find(byID[1]);
        if (!entry) throw new HTTPError(404, 'log entry not found');
        return send(200, log.render(entry));
      }
      if (route === 'GET /api/v1/log/publicKey') {
        res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(toPEM('PUBLIC KEY', log.der));
        return;
      }
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
