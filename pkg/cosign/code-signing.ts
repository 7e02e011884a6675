// A signing certificate must be meant for code signing, as cosign requires (its chain verification asks Go's x509
// for ExtKeyUsageCodeSigning; https://github.com/sigstore/cosign/blob/main/pkg/cosign/verify.go). @sigstore/verify's
// chain check does not look at extended key usage, so a TLS server certificate from a trusted CA would pass there.
// As in Go, a certificate without the extension may be used for anything (RFC 5280 §4.2.1.12).
import { ASN1Obj, type X509Certificate } from '@sigstore/core';

const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

export const NOT_FOR_CODE_SIGNING = 'the signing certificate is not for code signing (its extended key usage)';

export function isForCodeSigning(cert: X509Certificate): boolean {
  const ext = cert.extension(OID_EXTENDED_KEY_USAGE);
  if (!ext) return true;
  try {
    const usages = ASN1Obj.parseBuffer(Buffer.from(ext.value)).subs.map((o) => o.toOID());
    return usages.includes(OID_CODE_SIGNING) || usages.includes(OID_ANY_EXTENDED_KEY_USAGE);
  } catch {
    // An extension that does not parse allows nothing.
    return false;
  }
}
