// Does a signing certificate satisfy a keyless attestor's identity? Kyverno's matchSignatures → matchCertificateData →
// matchExtensions (https://github.com/kyverno/kyverno/blob/main/pkg/image/verifiers/cpol/cosign/cosign.go;
// shared/reference/kyverno-verifyimages.md §3.8), with its messages:
//   1. subject / subjectRegExp: one of them must match one of the certificate's SANs;
//   2. issuer, then issuerRegExp: each one given must match the OIDC issuer;
//   3. additionalExtensions: each value, a wildcard, must match the extension named by its key.
// The first failure is the answer. `subject`, `issuer` and the extension values are Kyverno wildcards (§3.3); the
// regular expressions are unanchored, like Go's regexp.MatchString.
//
// Where this deliberately differs from Kyverno:
//   - A certificate with no SAN fails a subject requirement. Kyverno skips the subject check when it finds no SAN,
//     so such a certificate would satisfy any subject; identity constraints must fail closed
//     (shared/reference/security-and-performance.md, "Identity constraints"; CVE-2025-29778 was the same kind of gap).
//   - The issuer is Fulcio's v2 extension (…57264.1.8) when present, else the deprecated …57264.1.1, as Fulcio and
//     sigstore-go read it; cosign's CertExtensions.GetIssuer, which Kyverno uses, reads only …1.1. Fulcio writes both
//     with the same value, so they differ only for a certificate that carries …1.8 alone.
//   - additionalExtensions are checked in the policy's key order, where Go's map order is random, so the message for
//     a certificate failing several keys is stable.
import { ASN1Obj, type X509Certificate } from '@sigstore/core';
import { compileImagePattern, type ImagePattern } from '../imageref/index.js';
import { invalidExtension, toExtensionOid } from '../trust/index.js';

export interface IdentityRequirement {
  /** Kyverno wildcard, matched against each SAN. */
  readonly subject?: ImagePattern;
  /** Matched unanchored against each SAN; either this or `subject` matching is enough. */
  readonly subjectRegExp?: RegExp;
  /** Kyverno wildcard, matched against the OIDC issuer. */
  readonly issuer?: ImagePattern;
  /** Matched unanchored against the OIDC issuer; must hold as well as `issuer`. */
  readonly issuerRegExp?: RegExp;
  /** additionalExtensions: Kyverno wildcards keyed by extension name or OID (see toExtensionOid). */
  readonly extensions: Readonly<Record<string, string>>;
}

/** A certificate's identity as messages print it: its SANs joined by ", ", and its OIDC issuer ("" when none). */
export interface CertificateIdentity {
  readonly subject: string;
  readonly issuer: string;
}

export type IdentityCheck =
  ({ readonly ok: true } & CertificateIdentity) | { readonly ok: false; readonly detail: string };

// Fulcio's extensions: https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md
const FULCIO = '1.3.6.1.4.1.57264.1';
const OID_ISSUER = `${FULCIO}.1`;
const OID_OTHER_NAME_SAN = `${FULCIO}.7`;
const OID_ISSUER_V2 = `${FULCIO}.8`;
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** Checks the certificate against the requirement, in Kyverno's order and with Kyverno's messages. */
export function checkIdentity(cert: X509Certificate, requirement: IdentityRequirement): IdentityCheck {
  const { subject, subjectRegExp, issuer, issuerRegExp, extensions } = requirement;
  const sans = subjectAlternativeNames(cert);
  const identity = { subject: sans.join(', '), issuer: oidcIssuer(cert) };
  const fail = (detail: string) => ({ ok: false as const, detail });

  if (subject || subjectRegExp) {
    const matched = sans.some((san) => subject?.matches(san) || (subjectRegExp && matchesRegExp(subjectRegExp, san)));
    if (!matched) {
      const expected = subject ? subject.source : regExpText(subjectRegExp!);
      return fail(`subject mismatch: expected ${expected}, received ${identity.subject}`);
    }
  }
  if (issuer && !issuer.matches(identity.issuer)) {
    return fail(`issuer mismatch: expected ${issuer.source}, received ${identity.issuer}`);
  }
  if (issuerRegExp && !matchesRegExp(issuerRegExp, identity.issuer)) {
    return fail(`issuer mismatch: expected ${regExpText(issuerRegExp)}, received ${identity.issuer}`);
  }
  for (const [key, expected] of Object.entries(extensions)) {
    const oid = toExtensionOid(key);
    if (oid === undefined) return fail(invalidExtension(key));
    // Kyverno reads the issuer key through GetIssuer, i.e. the same value the issuer check sees.
    const value = oid === OID_ISSUER ? identity.issuer : rawExtension(cert, oid);
    if (!compileImagePattern(expected).matches(value)) {
      return fail(`extension mismatch: expected ${expected} for key ${key}, received ${value}`);
    }
  }
  return { ok: true, ...identity };
}

/** The certificate's identity for messages, whatever the policy asks. */
export function describeIdentity(cert: X509Certificate): CertificateIdentity {
  return { subject: subjectAlternativeNames(cert).join(', '), issuer: oidcIssuer(cert) };
}

// Go's regexp.MatchString finds a match anywhere in the string; so does String.prototype.search, which also leaves a
// global or sticky RegExp's lastIndex as it found it (RegExp.test would move it). Patterns are kept as written:
// anchoring them here would change what Kyverno policies mean.
function matchesRegExp(re: RegExp, value: string): boolean {
  return value.search(re) !== -1;
}

// Messages quote the pattern as the policy wrote it (Kyverno prints the string). RegExp.source escapes each "/" as
// "\/"; undo that, walking escape pairs left to right so that an escaped backslash before a slash stays as written.
// Only a policy that itself wrote "\/" sees it printed as "/".
function regExpText(re: RegExp): string {
  return re.source.replace(/\\[\s\S]/g, (pair) => (pair === '\\/' ? '/' : pair));
}

// The OIDC issuer: Fulcio's v2 extension, a DER UTF8String, else the deprecated raw-string one; "" when the
// certificate has neither (Kyverno compares "" then, so only a pattern like "*" accepts it). A malformed …1.8 also
// reads as "" rather than falling back to …1.1: Fulcio's own parser rejects such a certificate.
function oidcIssuer(cert: X509Certificate): string {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2) return utf8String(v2.value) ?? '';
  return rawExtension(cert, OID_ISSUER);
}

// Fulcio's …1.1–…1.6 carry the raw string bytes, without DER (oid-info.md "Extension values"); cosign reads them
// with string(ext.Value). An absent extension reads as "", as in cosign's map lookup.
function rawExtension(cert: X509Certificate, oid: string): string {
  return cert.extension(oid)?.value.toString('utf8') ?? '';
}

/**
 * The SANs in the order sigstore's cryptoutils.GetSubjectAlternateNames lists them, which is what Kyverno matches and
 * prints: DNS names, emails, IP addresses, URIs, then Fulcio's username otherName
 * (https://github.com/sigstore/sigstore/blob/main/pkg/cryptoutils/sans.go). GeneralNames per
 * https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.6. @sigstore/core's extSubjectAltName reads only the first
 * email or URI, so the extension is walked here.
 */
function subjectAlternativeNames(cert: X509Certificate): string[] {
  const ext = cert.extension(OID_SUBJECT_ALT_NAME);
  if (!ext) return [];
  let names: ASN1Obj;
  try {
    names = ASN1Obj.parseBuffer(Buffer.from(ext.value));
  } catch {
    // Go's x509 would refuse the whole certificate; with no SAN, any subject requirement fails.
    return [];
  }
  const dns: string[] = [];
  const emails: string[] = [];
  const ips: string[] = [];
  const uris: string[] = [];
  const otherNames: (string | undefined)[] = [];
  for (const name of names.subs) {
    if (!name.tag.isContextSpecific()) continue;
    // IA5Strings; latin1 keeps every byte distinct (Node's "ascii" would strip the high bit and could forge letters).
    const text = () => name.value.toString('latin1');
    switch (name.tag.number) {
      case 0:
        otherNames.push(fulcioUsername(name));
        break;
      case 1:
        emails.push(text());
        break;
      case 2:
        dns.push(text());
        break;
      case 6:
        uris.push(text());
        break;
      case 7: {
        const ip = formatIp(name.value);
        if (ip !== undefined) ips.push(ip);
        break;
      }
    }
  }
  // cryptoutils.UnmarshalOtherNameSAN fails, and adds no username, unless there is exactly one otherName and it is
  // Fulcio's.
  const [username] = otherNames;
  const usernames = otherNames.length === 1 && username ? [username] : [];
  return [...dns, ...emails, ...ips, ...uris, ...usernames];
}

// OtherName ::= SEQUENCE { type-id OBJECT IDENTIFIER, value [0] EXPLICIT UTF8String } with Fulcio's type-id
// (oid-info.md, 1.3.6.1.4.1.57264.1.7); anything else is undefined.
function fulcioUsername(name: ASN1Obj): string | undefined {
  const [typeId, value] = name.subs;
  try {
    if (typeId?.toOID() !== OID_OTHER_NAME_SAN || !value?.tag.isContextSpecific(0)) return undefined;
  } catch {
    return undefined;
  }
  const [inner] = value.subs;
  return inner && isUtf8String(inner) ? inner.value.toString('utf8') : undefined;
}

// The content of a DER UTF8String, or undefined when the bytes are anything else.
function utf8String(der: Buffer): string | undefined {
  try {
    const obj = ASN1Obj.parseBuffer(Buffer.from(der));
    return isUtf8String(obj) ? obj.value.toString('utf8') : undefined;
  } catch {
    return undefined;
  }
}

function isUtf8String(obj: ASN1Obj): boolean {
  return obj.tag.isUniversal() && !obj.tag.constructed && obj.tag.number === 0x0c;
}

// Go's net.IP.String: dotted quad for IPv4 and IPv4-mapped IPv6; otherwise RFC 5952 text, with the first longest run
// of two or more zero groups shortened to "::". Go's x509 accepts only 4- and 16-byte addresses.
function formatIp(bytes: Buffer): string | undefined {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return undefined;
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return bytes.subarray(12).join('.');
  }
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i));
  let start = -1;
  let length = 1;
  for (let i = 0; i < 8;) {
    let end = i;
    while (groups[end] === 0) end++;
    if (end - i > length) [start, length] = [i, end - i];
    i = Math.max(end, i + 1);
  }
  const hex = groups.map((g) => g.toString(16));
  if (start < 0) return hex.join(':');
  return `${hex.slice(0, start).join(':')}::${hex.slice(start + length).join(':')}`;
}
