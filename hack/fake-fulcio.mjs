// A fake Fulcio certificate authority with a built-in fake CT log, on 127.0.0.1. Test infrastructure only, never
// product code: lets the real cosign CLIs sign keyless without any network, with certificates that
// `cosign verify --certificate-identity … --certificate-oidc-issuer …` accepts, embedded SCT included.
// Certificates are built with @peculiar/x509 and @peculiar/asn1-* (product dependencies), signed through node's
// WebCrypto; the SCT list is TLS-encoded by hand (it is not ASN.1). Imports helpers from fake-rekor.mjs.
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
// API, only what cosign v2 and v3 and the tests call:
//   POST /api/v2/signingCert  Fulcio v2 (cosign v3 / sigstore-go): {publicKeyRequest: {publicKey: {algorithm,
//                             content: PEM}, proofOfPossession: b64 signature over the token subject}}, the token in
//                             "Authorization: Bearer" or credentials.oidcIdentityToken
//                             → 200 {signedCertificateEmbeddedSct: {chain: {certificates: [leaf PEM, root PEM]}}}
//   POST /api/v1/signingCert  Fulcio v1 (cosign v2): {publicKey: {content: b64 PEM or DER}, signedEmailAddress}
//                             → 201 PEM leaf + root (SCT embedded, so no SCT header)
//   GET  /api/v2/trustBundle  the root; hack/cluster-up.sh's health check
//   GET  /fake/token?iss=URL&email=ADDR   a test identity token for ADDR (sub and verified email), valid 10 minutes:
//                             an RS256 JWT signed with oidc.key (RS256 because cosign takes --identity-token as a
//                             token only if it parses as RS256, else as a file path). Fulcio accepts only tokens
//                             signed so.
//   Errors are JSON {code, message}: 400 bad request or proof, 401 bad token, 404, 413.
// Certificates follow Fulcio's profile: empty subject, critical email SAN (the token's verified `email` claim),
// issuer in 1.3.6.1.4.1.57264.1.1 (raw string) and 1.3.6.1.4.1.57264.1.8 (DER UTF8String), digitalSignature key
// usage, codeSigning EKU, 10 minutes validity, and an embedded SCT over the precertificate (see issueLeaf).
// Formats followed:
//   Fulcio API    https://github.com/sigstore/fulcio/blob/main/fulcio.proto, .../fulcio_legacy.proto
//   OIDs          https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
//   Certificates  https://github.com/sigstore/fulcio/blob/main/docs/certificate-specification.md, RFC 5280
//   SCTs          RFC 6962 §3.1–3.3 https://www.rfc-editor.org/rfc/rfc6962#section-3.1
//   JWT / JWS     RFC 7519, RFC 7515
import { createServer } from 'node:http';
import { createHash, createPublicKey, randomBytes, sign, verify, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { URL } from 'node:url';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnConvert, AsnNullConverter, OctetString } from '@peculiar/asn1-schema';
import { Certificate, DirectoryString, Extensions } from '@peculiar/asn1-x509';
import { loadOrCreateKey, parsePEM, spkiDER, toPEM, writeAtomic, writeTrustedRoot } from './fake-rekor.mjs';

x509.cryptoProvider.set(webcrypto);

const MAX_BODY = 1 << 20;
const LEAF_LIFETIME_MS = 10 * 60 * 1000;
const TOKEN_LIFETIME_S = 10 * 60;
const ROOT_NOT_BEFORE = new Date('2020-01-01T00:00:00Z');
const ROOT_NOT_AFTER = new Date('2049-12-31T23:59:59Z');
const ROOT_NAME = [{ O: ['imprimatur-test'] }, { CN: ['fake-fulcio'] }];
const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' };
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };
const OID = {
  fulcioIssuerV1: '1.3.6.1.4.1.57264.1.1',
  fulcioIssuerV2: '1.3.6.1.4.1.57264.1.8',
  sctList: '1.3.6.1.4.1.11129.2.4.2',
  precertificatePoison: '1.3.6.1.4.1.11129.2.4.3',
};

const sha256 = (data) => createHash('sha256').update(data).digest();

// ---------------------------------------------------------------------------------------------------------------
// Certificates

/** A random 20-byte serial, positive without padding (RFC 5280 §4.1.2.2 allows 20 octets at most). */
function serialNumber() {
  const b = randomBytes(20);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

async function makeRoot(caKey) {
  const spki = spkiDER(caKey);
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: ROOT_NAME,
    notBefore: ROOT_NOT_BEFORE,
    notAfter: ROOT_NOT_AFTER,
    keys: {
      publicKey: createPublicKey(caKey).toCryptoKey(ECDSA_P256, true, ['verify']),
      privateKey: caKey.toCryptoKey(ECDSA_P256, false, ['sign']),
    },
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.BasicConstraintsExtension(true, undefined, true),
      await x509.SubjectKeyIdentifierExtension.create(spki),
    ],
  });
}

/**
 * The TLS-encoded SignedCertificateTimestampList holding one SCT for a precertificate TBS, signed by the CT log key
 * (RFC 6962 §3.2–3.3). Written by hand: these are TLS presentation-language structures, not ASN.1.
 */
function signedCertificateTimestampList(ctKey, issuerSPKI, precertTBS) {
  const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);
  const u24 = (n) => Buffer.from([n >> 16, (n >> 8) & 0xff, n & 0xff]);
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(Date.now()));
  const noExtensions = u16(0);
  const signed = Buffer.concat([
    Buffer.from([0, 0]), // sct_version v1, signature_type certificate_timestamp
    timestamp,
    u16(1), // entry_type precert_entry
    sha256(issuerSPKI),
    u24(precertTBS.length),
    precertTBS,
    noExtensions,
  ]);
  const signature = sign('sha256', signed, ctKey);
  const sct = Buffer.concat([
    Buffer.from([0]), // v1
    sha256(spkiDER(ctKey)), // log ID
    timestamp,
    noExtensions,
    Buffer.from([4, 3]), // sha256, ecdsa
    u16(signature.length),
    signature,
  ]);
  const list = Buffer.concat([u16(sct.length), sct]);
  return Buffer.concat([u16(list.length), list]);
}

/** Issues a leaf certificate for a public key (DER SPKI) and a checked identity, with an embedded SCT. */
async function issueLeaf(ca, spki, identity) {
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const fields = {
    serialNumber: serialNumber(),
    issuer: ca.root.subjectName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + LEAF_LIFETIME_MS),
    publicKey: spki,
    signingKey: ca.signingKey,
    signingAlgorithm: ECDSA_SHA256,
  };
  const extensions = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
    await x509.SubjectKeyIdentifierExtension.create(spki),
    await x509.AuthorityKeyIdentifierExtension.create(ca.root.publicKey),
    new x509.SubjectAlternativeNameExtension([{ type: 'email', value: identity.email }], true),
    new x509.Extension(OID.fulcioIssuerV1, false, Buffer.from(identity.issuer)),
    // DirectoryString is a CHOICE: with only utf8String set it encodes as a plain DER UTF8String, as the OID wants.
    new x509.Extension(
      OID.fulcioIssuerV2,
      false,
      AsnConvert.serialize(new DirectoryString({ utf8String: identity.issuer })),
    ),
  ];
  // As Fulcio does (RFC 6962 §3.1): first a precertificate, made unusable by the critical poison extension (NULL).
  const poison = new x509.Extension(OID.precertificatePoison, true, AsnConvert.serialize(AsnNullConverter.toASN()));
  const precert = await x509.X509CertificateGenerator.create({ ...fields, extensions: [...extensions, poison] });
  // The CT log signs the precertificate's TBSCertificate without the poison extension (§3.2).
  const tbs = AsnConvert.parse(precert.rawData, Certificate).tbsCertificate;
  tbs.extensions = new Extensions([...tbs.extensions].filter((e) => e.extnID !== OID.precertificatePoison));
  const scts = signedCertificateTimestampList(ca.ctKey, spkiDER(ca.key), Buffer.from(AsnConvert.serialize(tbs)));
  // Then the certificate: the same fields with the SCT list where the poison was, last, so that removing it (as
  // verifiers do to check the SCT) gives back exactly the bytes the log signed.
  const sctList = new x509.Extension(OID.sctList, false, AsnConvert.serialize(new OctetString(scts)));
  const leaf = await x509.X509CertificateGenerator.create({ ...fields, extensions: [...extensions, sctList] });
  return toPEM('CERTIFICATE', leaf.rawData);
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
  const header = { alg: 'RS256', typ: 'JWT', kid: sha256(spkiDER(oidcKey)).toString('hex').slice(0, 16) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), oidcKey))}`;
}

/** Verifies a token as Fulcio would (signature, validity, verified email) and returns {issuer, email}. */
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
  if (claims.exp < now - 60) throw new HTTPError(401, 'identity token expired');
  if (claims.nbf > now + 60) throw new HTTPError(401, 'identity token not yet valid');
  if (claims.email_verified !== true) throw new HTTPError(400, 'email in identity token is not verified');
  return { issuer: claims.iss, email: claims.email };
}

/** Parses a submitted public key: PEM text or DER SPKI bytes; returns the DER SPKI and the KeyObject. */
function parsePublicKey(bytes) {
  try {
    const pem = parsePEM(bytes.toString('utf8')).find((b) => b.type === 'PUBLIC KEY');
    const key = createPublicKey({ key: pem ? pem.der : bytes, format: 'der', type: 'spki' });
    return { key, spki: key.export({ type: 'spki', format: 'der' }) };
  } catch (err) {
    throw new HTTPError(400, `invalid public key: ${err.message}`);
  }
}

/** Checks the proof of possession: a signature over the token subject (the email) with the submitted key. */
function checkProof({ key }, subject, proof) {
  const ok = ['sha256', 'sha384', 'sha512'].some((h) => {
    try {
      return verify(h, Buffer.from(subject), key, proof);
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
        checkProof(key, identity.email, decodeBase64(request.proofOfPossession, 'proofOfPossession'));
        const chain = [await issueLeaf(ca, key.spki, identity), ca.rootPEM];
        return send(200, { signedCertificateEmbeddedSct: { chain: { certificates: chain } } });
      }
      if (route === 'POST /api/v1/signingCert') {
        const body = await readJSON(req);
        const identity = checkToken(ca.oidcKey, bearer(req));
        const key = parsePublicKey(decodeBase64(body?.publicKey?.content, 'publicKey.content'));
        checkProof(key, identity.email, decodeBase64(body.signedEmailAddress, 'signedEmailAddress'));
        return send(201, (await issueLeaf(ca, key.spki, identity)) + ca.rootPEM, 'application/pem-certificate-chain');
      }
      if (route === 'GET /api/v2/trustBundle') return send(200, { chains: [{ certificates: [ca.rootPEM] }] });
      if (route === 'GET /fake/token') {
        const iss = url.searchParams.get('iss');
        const email = url.searchParams.get('email');
        if (!iss || !email) throw new HTTPError(400, 'iss and email are required');
        // The email goes into an IA5String SAN.
        if (!/^[\x21-\x7e]+$/.test(email)) throw new HTTPError(400, 'email must be printable ASCII');
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss, aud: 'sigstore', sub: email, email, email_verified: true, iat: now, nbf: now };
        return send(200, mintToken(ca.oidcKey, { ...claims, exp: now + TOKEN_LIFETIME_S }), 'text/plain');
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

async function loadCA(stateDir) {
  const file = (name) => join(stateDir, name);
  const key = loadOrCreateKey(file('fulcio-ca.key'));
  const current = existsSync(file('fulcio-root.pem'))
    ? parsePEM(readFileSync(file('fulcio-root.pem'), 'utf8')).find((b) => b.type === 'CERTIFICATE')
    : undefined;
  let root = current && new x509.X509Certificate(current.der);
  // A root of another key (fulcio-ca.key was replaced) is made again.
  if (!root || !Buffer.from(root.publicKey.rawData).equals(spkiDER(key))) {
    root = await makeRoot(key);
    writeFileSync(file('fulcio-root.pem'), toPEM('CERTIFICATE', root.rawData));
  }
  const ctKey = loadOrCreateKey(file('ctlog.key'));
  writeFileSync(file('ctlog.pub'), toPEM('PUBLIC KEY', spkiDER(ctKey)));
  return {
    key,
    signingKey: key.toCryptoKey(ECDSA_P256, false, ['sign']),
    root,
    rootPEM: toPEM('CERTIFICATE', root.rawData),
    ctKey,
    oidcKey: loadOrCreateKey(file('oidc.key'), 'rsa', { modulusLength: 2048 }),
  };
}

async function main() {
  const [portArg, stateDir] = process.argv.slice(2);
  if (!stateDir || !/^\d+$/.test(portArg ?? '')) {
    process.stderr.write('usage: fake-fulcio.mjs PORT STATE_DIR\n');
    process.exit(2);
  }
  mkdirSync(stateDir, { recursive: true });
  const ca = await loadCA(stateDir);
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

await main();
