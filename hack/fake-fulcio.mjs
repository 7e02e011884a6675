// A fake Fulcio certificate authority with a built-in fake CT log, on 127.0.0.1. Test infrastructure only, never
// product code: lets the real cosign CLIs sign keyless without any network, with certificates that
// `cosign verify --certificate-identity … --certificate-oidc-issuer …` accepts, embedded SCT included.
// Dependency-free (node: built-ins only; the X.509 DER is built by hand below). Imports helpers from fake-rekor.mjs.
//
// Usage: node hack/fake-fulcio.mjs PORT STATE_DIR        (PORT 0 picks a free port)
//   Reuses or generates in STATE_DIR (share it with hack/fake-rekor.mjs; start Rekor first):
//   fulcio-ca.key, fulcio-root.pem   the root CA (ECDSA P-256, self-signed, 2020–2049; issues the leaves directly)
//   ctlog.key, ctlog.pub             the CT log key that signs the embedded SCTs
//   oidc.key                         the RSA key that signs test identity tokens (GET /fake/token)
//   fulcio.url, ctlog.url            http://127.0.0.1:PORT and …/ct (the CT log has no API of its own)
//   trusted_root.json                rewritten with the CA and the CT log added (see writeTrustedRoot)
// With cosign (TOKEN=$(curl -fsS "$FULCIO/fake/token?iss=https://issuer.example&email=alice@example.com")):
//   sign/attest  v3: --fulcio-url URL --rekor-url REKOR --identity-token "$TOKEN" --use-signing-config=false
//                    --trusted-root STATE_DIR/trusted_root.json (both bundle formats)
//                v2: --fulcio-url URL --rekor-url REKOR --identity-token "$TOKEN" with --trusted-root or
//                    SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=STATE_DIR/ctlog.pub (cosign checks the SCT when it gets the cert)
//   verify       --certificate-identity alice@example.com --certificate-oidc-issuer https://issuer.example and
//                v3: --trusted-root STATE_DIR/trusted_root.json;  v2: the same, or SIGSTORE_ROOT_FILE=fulcio-root.pem
//                SIGSTORE_CT_LOG_PUBLIC_KEY_FILE=ctlog.pub SIGSTORE_REKOR_PUBLIC_KEY=rekor.pub
//
// API:
//   POST /api/v2/signingCert  Fulcio v2 (cosign v3 / sigstore-go): {publicKeyRequest: {publicKey: {algorithm,
//                             content: PEM}, proofOfPossession: b64 signature over the token subject}}, the token in
//                             "Authorization: Bearer" or credentials.oidcIdentityToken
//                             → 200 {signedCertificateEmbeddedSct: {chain: {certificates: [leaf PEM, root PEM]}}}
//   POST /api/v1/signingCert  Fulcio v1 (cosign v2): {publicKey: {content: b64 PEM or DER}, signedEmailAddress}
//                             → 201 PEM leaf + root (SCT embedded, so no SCT header)
//   GET  /api/v2/trustBundle, GET /api/v1/rootCert
//   GET  /fake/token?iss=URL&email=ADDR | &sub=URI [&aud=sigstore] [&ttl=SECONDS]   a test identity token: an RS256
//                             JWT signed with oidc.key (RS256 because cosign takes --identity-token as a token only
//                             if it parses as RS256, else as a file path). Fulcio accepts only tokens signed so.
//   Errors are JSON {code, message}: 400 bad request or proof, 401 bad token, 404, 413.
// Certificates follow Fulcio's profile: empty subject, critical SAN (email from the `email` claim, which needs
// `email_verified: true`; otherwise the `sub` claim as a URI), issuer in 1.3.6.1.4.1.57264.1.1 (raw string) and
// 1.3.6.1.4.1.57264.1.8 (DER UTF8String), digitalSignature key usage, codeSigning EKU, 10 minutes validity, and an
// embedded SCT (precertificate flow: the SCT signs the final TBS minus the SCT extension).
// Formats followed:
//   Fulcio API    https://github.com/sigstore/fulcio/blob/main/fulcio.proto, .../fulcio_legacy.proto
//   OIDs          https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
//   Certificates  https://github.com/sigstore/fulcio/blob/main/docs/certificate-specification.md, RFC 5280
//   SCTs          RFC 6962 §3.2–3.3 https://www.rfc-editor.org/rfc/rfc6962#section-3.2
//   JWT / JWS     RFC 7519, RFC 7515
import { createServer } from 'node:http';
import { createHash, createPublicKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';
import { loadOrCreateKey, parsePEM, spkiDER, toPEM, writeAtomic, writeTrustedRoot } from './fake-rekor.mjs';

const MAX_BODY = 1 << 20;
const LEAF_LIFETIME_MS = 10 * 60 * 1000;
const ROOT_NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
const ROOT_NOT_AFTER = new Date('2049-12-31T23:59:59Z');
const ROOT_SUBJECT = { organization: 'imprimatur-test', commonName: 'fake-fulcio' }; // as writeTrustedRoot lists it

// ---------------------------------------------------------------------------------------------------------------
// DER

function derLength(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...parts) => tlv(0x30, ...parts);
const set = (...parts) => tlv(0x31, ...parts);
const explicit = (n, ...parts) => tlv(0xa0 + n, ...parts);
const octets = (b) => tlv(0x04, b);
const utf8 = (s) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bitString = (b, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const TRUE = tlv(0x01, Buffer.from([0xff]));
const integer = (b) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0 && !(b[i + 1] & 0x80)) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
function oid(dotted) {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}
/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5); whole seconds. */
function time(date) {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}
const extension = (id, critical, value) => seq(oid(id), critical ? TRUE : Buffer.alloc(0), octets(value));

/** Reads one DER element at offset: {tag, start (of contents), end}. */
function readTLV(buf, offset) {
  const tag = buf[offset];
  let len = buf[offset + 1];
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  return { tag, start, end: start + len };
}

/** The subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
function publicKeyBits(spki) {
  const outer = readTLV(spki, 0);
  const algorithm = readTLV(spki, outer.start);
  const bits = readTLV(spki, algorithm.end);
  return spki.subarray(bits.start + 1, bits.end);
}

const sha = (alg, data) => createHash(alg).update(data).digest();

// ---------------------------------------------------------------------------------------------------------------
// Certificates

const ECDSA_WITH_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const OID = {
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
};

function serialNumber() {
  const b = randomBytes(20);
  b[0] = (b[0] & 0x7f) | 0x01; // positive, minimal, non-zero
  return integer(b);
}

const tbsCertificate = ({ serial, issuer, notBefore, notAfter, subject, spki, extensions }) =>
  seq(
    explicit(0, integer(Buffer.from([2]))),
    serial,
    ECDSA_WITH_SHA256,
    issuer,
    seq(time(notBefore), time(notAfter)),
    subject,
    spki,
    explicit(3, seq(...extensions)),
  );

const certificate = (tbs, caKey) => seq(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, caKey)));

function rootName() {
  return seq(
    set(seq(oid('2.5.4.10'), utf8(ROOT_SUBJECT.organization))),
    set(seq(oid('2.5.4.3'), utf8(ROOT_SUBJECT.commonName))),
  );
}

function makeRoot(caKey) {
  const spki = spkiDER(caKey);
  const tbs = tbsCertificate({
    serial: serialNumber(),
    issuer: rootName(),
    notBefore: ROOT_NOT_BEFORE,
    notAfter: ROOT_NOT_AFTER,
    subject: rootName(),
    spki,
    extensions: [
      extension(OID.keyUsage, true, bitString(Buffer.from([0x06]), 1)), // keyCertSign, cRLSign
      extension(OID.basicConstraints, true, seq(TRUE)),
      extension(OID.subjectKeyId, false, octets(sha('sha1', publicKeyBits(spki)))),
    ],
  });
  return certificate(tbs, caKey);
}

/** The serialized SCT for a precertificate TBS, signed by the CT log key (RFC 6962 §3.2). */
function signedCertificateTimestamp(ctKey, issuerSPKI, precertTBS) {
  const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
  const u24 = (n) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(Date.now()));
  const noExtensions = u16(0);
  const signed = Buffer.concat([
    Buffer.from([0, 0]), // sct_version v1, signature_type certificate_timestamp
    timestamp,
    u16(1), // entry_type precert_entry
    sha('sha256', issuerSPKI),
    u24(precertTBS.length),
    precertTBS,
    noExtensions,
  ]);
  const signature = sign('sha256', signed, ctKey);
  const sct = Buffer.concat([
    Buffer.from([0]), // v1
    sha('sha256', spkiDER(ctKey)), // log ID
    timestamp,
    noExtensions,
    Buffer.from([4, 3]), // sha256, ecdsa
    u16(signature.length),
    signature,
  ]);
  const list = Buffer.concat([u16(sct.length), sct]);
  return Buffer.concat([u16(list.length), list]);
}

function issueLeaf(ca, publicKey, identity) {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const issuerSPKI = spkiDER(ca.key);
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const san =
    identity.type === 'email' ? tlv(0x81, Buffer.from(identity.value)) : tlv(0x86, Buffer.from(identity.value));
  const extensions = [
    extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)), // digitalSignature
    extension(OID.extKeyUsage, false, seq(oid(OID.codeSigning))),
    extension(OID.subjectKeyId, false, octets(sha('sha1', publicKeyBits(spki)))),
    extension(OID.authorityKeyId, false, seq(tlv(0x80, sha('sha1', publicKeyBits(issuerSPKI))))),
    extension(OID.subjectAltName, true, seq(san)),
    extension(OID.fulcioIssuerV1, false, Buffer.from(identity.issuer)),
    extension(OID.fulcioIssuerV2, false, utf8(identity.issuer)),
  ];
  const fields = {
    serial: serialNumber(),
    issuer: ca.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + LEAF_LIFETIME_MS),
    subject: seq(),
    spki,
  };
  // The precertificate's TBS is the final TBS without the SCT list; the SCT list goes last, so removing it (as
  // verifiers do) gives back exactly these bytes.
  const precertTBS = tbsCertificate({ ...fields, extensions });
  const scts = signedCertificateTimestamp(ca.ctKey, issuerSPKI, precertTBS);
  const tbs = tbsCertificate({ ...fields, extensions: [...extensions, extension(OID.sctList, false, octets(scts))] });
  return toPEM('CERTIFICATE', certificate(tbs, ca.key));
}

// ---------------------------------------------------------------------------------------------------------------
// Identity tokens

class HTTPError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const b64url = (data) => Buffer.from(data).toString('base64url');

function mintToken(oidcKey, claims) {
  const header = { alg: 'RS256', typ: 'JWT', kid: sha('sha256', spkiDER(oidcKey)).toString('hex').slice(0, 16) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), oidcKey))}`;
}

/** Verifies a token as Fulcio would (signature, expiry, audience) and returns {issuer, type, value, subject}. */
function checkToken(oidcKey, token) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw new HTTPError(401, 'identity token is not a JWS compact serialization');
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new HTTPError(401, 'identity token is not valid JSON');
  }
  const signature = Buffer.from(parts[2], 'base64url');
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  if (header?.alg !== 'RS256' || !verify('sha256', signed, oidcKey, signature)) {
    throw new HTTPError(401, 'identity token is not signed by the fake OIDC key (mint one with GET /fake/token)');
  }
  const now = Date.now() / 1000;
  if (typeof claims.exp === 'number' && claims.exp < now - 60) throw new HTTPError(401, 'identity token expired');
  if (typeof claims.nbf === 'number' && claims.nbf > now + 60) throw new HTTPError(401, 'identity token not yet valid');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.includes('sigstore')) throw new HTTPError(401, 'identity token audience must include "sigstore"');
  if (typeof claims.iss !== 'string' || !claims.iss) throw new HTTPError(400, 'identity token has no iss claim');
  for (const claim of ['email', 'sub']) {
    if (typeof claims[claim] === 'string' && !/^[\x21-\x7e]+$/.test(claims[claim])) {
      throw new HTTPError(400, `identity token ${claim} must be printable ASCII (it goes into an IA5String SAN)`);
    }
  }
  if (typeof claims.email === 'string' && claims.email) {
    if (claims.email_verified !== true) throw new HTTPError(400, 'email in identity token is not verified');
    return { issuer: claims.iss, type: 'email', value: claims.email, subject: claims.email };
  }
  if (typeof claims.sub === 'string' && /^[a-z][a-z0-9+.-]*:\S+$/i.test(claims.sub)) {
    return { issuer: claims.iss, type: 'uri', value: claims.sub, subject: claims.sub };
  }
  throw new HTTPError(400, 'identity token needs an email (with email_verified) or a URI sub claim');
}

/** Parses a submitted public key: PEM text or DER SPKI bytes. */
function parsePublicKey(bytes) {
  try {
    const pem = parsePEM(bytes.toString('utf8')).find((b) => b.type === 'PUBLIC KEY');
    return createPublicKey({ key: pem ? pem.der : bytes, format: 'der', type: 'spki' });
  } catch (err) {
    throw new HTTPError(400, `invalid public key: ${err.message}`);
  }
}

/** Checks the proof of possession: a signature over the token subject with the submitted key. */
function checkProof(publicKey, subject, proof) {
  const data = Buffer.from(subject);
  const ok =
    publicKey.asymmetricKeyType === 'ed25519'
      ? verify(null, data, publicKey, proof)
      : ['sha256', 'sha384', 'sha512'].some((h) => {
          try {
            return verify(h, data, publicKey, proof);
          } catch {
            return false;
          }
        });
  if (!ok) throw new HTTPError(400, 'the signature supplied in the request could not be verified');
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function readJSON(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HTTPError(413, 'request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HTTPError(400, 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

const bearer = (req) => /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
const decodeBase64 = (s, what) => {
  if (typeof s !== 'string' || !s) throw new HTTPError(400, `missing ${what}`);
  return Buffer.from(s, 'base64');
};

function handler(ca) {
  return async (req, res) => {
    res.on('finish', () => process.stdout.write(`fake-fulcio: ${req.method} ${req.url} ${res.statusCode}\n`));
    const send = (code, body, type = 'application/json') =>
      res.writeHead(code, { 'content-type': type }).end(typeof body === 'string' ? body : `${JSON.stringify(body)}\n`);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
      if (route === 'POST /api/v2/signingCert') {
        const body = await readJSON(req);
        const identity = checkToken(ca.oidcKey, bearer(req) ?? body?.credentials?.oidcIdentityToken);
        const request = body?.publicKeyRequest;
        if (!request) throw new HTTPError(400, 'only publicKeyRequest is supported (no CSRs)');
        const key = parsePublicKey(Buffer.from(String(request.publicKey?.content ?? '')));
        checkProof(key, identity.subject, decodeBase64(request.proofOfPossession, 'proofOfPossession'));
        const chain = [issueLeaf(ca, key, identity), ca.rootPEM];
        return send(200, { signedCertificateEmbeddedSct: { chain: { certificates: chain } } });
      }
      if (route === 'POST /api/v1/signingCert') {
        const body = await readJSON(req);
        const identity = checkToken(ca.oidcKey, bearer(req));
        const key = parsePublicKey(decodeBase64(body?.publicKey?.content, 'publicKey.content'));
        checkProof(key, identity.subject, decodeBase64(body.signedEmailAddress, 'signedEmailAddress'));
        return send(201, issueLeaf(ca, key, identity) + ca.rootPEM, 'application/pem-certificate-chain');
      }
      if (route === 'GET /api/v2/trustBundle') return send(200, { chains: [{ certificates: [ca.rootPEM] }] });
      if (route === 'GET /api/v1/rootCert') return send(200, ca.rootPEM, 'application/pem-certificate-chain');
      if (route === 'GET /fake/token') {
        const q = url.searchParams;
        const iss = q.get('iss');
        if (!iss) throw new HTTPError(400, 'iss is required');
        const now = Math.floor(Date.now() / 1000);
        const ttl = Number(q.get('ttl') ?? 600);
        if (!Number.isSafeInteger(ttl)) throw new HTTPError(400, 'ttl must be an integer');
        const claims = { iss, aud: q.get('aud') ?? 'sigstore', iat: now, nbf: now, exp: now + ttl };
        if (q.get('email')) Object.assign(claims, { email: q.get('email'), email_verified: true });
        claims.sub = q.get('sub') ?? q.get('email') ?? undefined;
        if (!claims.sub) throw new HTTPError(400, 'email or sub is required');
        return send(200, mintToken(ca.oidcKey, claims), 'text/plain');
      }
      throw new HTTPError(404, `no route for ${req.method} ${url.pathname}`);
    } catch (err) {
      let e = err;
      if (!(err instanceof HTTPError)) {
        process.stderr.write(`fake-fulcio: ${err?.stack ?? err}\n`);
        e = new HTTPError(500, 'internal error');
      } else process.stderr.write(`fake-fulcio: ${req.method} ${req.url}: ${e.message}\n`);
      if (!res.headersSent) send(e.code, { code: e.code, message: e.message });
    }
  };
}

function loadCA(stateDir) {
  const file = (name) => join(stateDir, name);
  const key = loadOrCreateKey(file('fulcio-ca.key'));
  let rootPEM = existsSync(file('fulcio-root.pem')) ? readFileSync(file('fulcio-root.pem'), 'utf8') : '';
  const current = parsePEM(rootPEM).find((b) => b.type === 'CERTIFICATE');
  if (
    !current ||
    !new X509Certificate(current.der).publicKey.export({ type: 'spki', format: 'der' }).equals(spkiDER(key))
  ) {
    rootPEM = toPEM('CERTIFICATE', makeRoot(key));
    writeFileSync(file('fulcio-root.pem'), rootPEM);
  }
  const ctKey = loadOrCreateKey(file('ctlog.key'));
  writeFileSync(file('ctlog.pub'), toPEM('PUBLIC KEY', spkiDER(ctKey)));
  const rootDER = parsePEM(rootPEM)[0].der;
  // The issuer Name of the leaves: the root's subject, byte for byte.
  const tbs = readTLV(rootDER, readTLV(rootDER, 0).start);
  let at = tbs.start;
  const fields = [];
  while (at < tbs.end && fields.length < 6) {
    const el = readTLV(rootDER, at);
    fields.push(rootDER.subarray(at, el.end));
    at = el.end;
  }
  return {
    key,
    ctKey,
    oidcKey: loadOrCreateKey(file('oidc.key'), 'rsa', { modulusLength: 2048 }),
    rootPEM,
    subject: fields[5],
  };
}

function main() {
  const [portArg, stateDir] = process.argv.slice(2);
  if (!stateDir || !/^\d+$/.test(portArg ?? '')) {
    process.stderr.write('usage: fake-fulcio.mjs PORT STATE_DIR\n');
    process.exit(2);
  }
  mkdirSync(stateDir, { recursive: true });
  const ca = loadCA(stateDir);
  const server = createServer(handler(ca));
  server.on('clientError', (_err, socket) => socket.destroy());
  server.listen(Number(portArg), '127.0.0.1', () => {
    const url = `http://127.0.0.1:${server.address().port}`;
    writeTrustedRoot(stateDir, { 'fulcio.url': url, 'ctlog.url': `${url}/ct` });
    writeAtomic(join(stateDir, 'ctlog.url'), `${url}/ct\n`);
    writeAtomic(join(stateDir, 'fulcio.url'), `${url}\n`);
    process.stdout.write(`fake-fulcio: ${url}; trust material in ${stateDir}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('uncaughtException', (err) => process.stderr.write(`fake-fulcio: uncaught ${err?.stack ?? err}\n`));
}

main();
