// Checks a raw signature against a public key the way cosign's verifiers accept it
// (sigstore/pkg/signature: ecdsa.go, rsa_pkcs1v15.go, rsa_pss.go, ed25519.go, ed25519ph.go).
//
// The hash is not recorded anywhere, and it changed: cosign <= 2.5 hashed with SHA-256 for every key, cosign >= 2.6
// uses the key's default (P-384 -> SHA-384, P-521 -> SHA-512, Ed25519 -> Ed25519ph). So each key tries its default
// and then SHA-256, as shared/reference/cosign-formats.md §2.2 describes. ECDSA signatures are ASN.1 DER, or raw
// r||s (IEEE P1363) as some signers write them.
import { verify as cryptoVerify, type KeyObject, constants } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';

/** Which scheme verified: for messages and the verified outcome. */
export type SignatureScheme =
  | 'ecdsa-sha256'
  | 'ecdsa-sha384'
  | 'ecdsa-sha512'
  | 'rsa-pkcs1v15-sha256'
  | 'rsa-pkcs1v15-sha384'
  | 'rsa-pkcs1v15-sha512'
  | 'rsa-pss-sha256'
  | 'ed25519'
  | 'ed25519ph';

// Maps, not objects: a lookup must never reach Object.prototype.
const CURVE_HASH: ReadonlyMap<string, string> = new Map([
  ['prime256v1', 'sha256'],
  ['secp384r1', 'sha384'],
  ['secp521r1', 'sha512'],
]);
const CURVE_BYTES: ReadonlyMap<string, number> = new Map([
  ['prime256v1', 32],
  ['secp384r1', 48],
  ['secp521r1', 66],
]);

/** The scheme under which `signature` over `data` verifies with `key`, or undefined when none does. */
export function verifyRawSignature(
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): SignatureScheme | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return verifyEcdsa(key, data, signature);
    case 'rsa':
    case 'rsa-pss':
      return verifyRsa(key, data, signature);
    case 'ed25519':
      return verifyEd25519(key, data, signature);
    default:
      return undefined;
  }
}

function verifyEcdsa(key: KeyObject, data: Uint8Array, signature: Uint8Array): SignatureScheme | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
  const hashes = [...new Set([CURVE_HASH.get(curve) ?? 'sha256', 'sha256'])];
  const raw = signature.length === 2 * (CURVE_BYTES.get(curve) ?? -1);
  for (const hash of hashes) {
    if (safeVerify(hash, data, { key, dsaEncoding: 'der' }, signature)) return `ecdsa-${hash}` as SignatureScheme;
    if (raw && safeVerify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature))
      return `ecdsa-${hash}` as SignatureScheme;
  }
  return undefined;
}

function verifyRsa(key: KeyObject, data: Uint8Array, signature: Uint8Array): SignatureScheme | undefined {
  if (key.asymmetricKeyType === 'rsa') {
    for (const hash of ['sha256', 'sha384', 'sha512']) {
      if (safeVerify(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature)) {
        return `rsa-pkcs1v15-${hash}` as SignatureScheme;
      }
    }
  }
  // PSS with the salt length read from the signature, as Go's rsa.VerifyPSS with PSSSaltLengthAuto.
  const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
  return safeVerify('sha256', data, pss, signature) ? 'rsa-pss-sha256' : undefined;
}

function verifyEd25519(key: KeyObject, data: Uint8Array, signature: Uint8Array): SignatureScheme | undefined {
  if (safeVerify(null, data, key, signature)) return 'ed25519';
  // Node's OpenSSL binding has no Ed25519ph (RFC 8032 §5.1 with the SHA-512 prehash); noble implements it.
  const x = key.export({ format: 'jwk' }).x;
  if (!x || signature.length !== 64) return undefined;
  try {
    return ed25519ph.verify(signature, data, Buffer.from(x, 'base64url')) ? 'ed25519ph' : undefined;
  } catch {
    return undefined;
  }
}

function safeVerify(
  hash: string | null,
  data: Uint8Array,
  key: Parameters<typeof cryptoVerify>[2],
  signature: Uint8Array,
): boolean {
  try {
    return cryptoVerify(hash, data, key, signature);
  } catch {
    // Malformed signature bytes (not DER, wrong length) are simply not a match.
    return false;
  }
}
