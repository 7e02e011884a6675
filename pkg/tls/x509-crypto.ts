// The one WebCrypto provider and key algorithm behind every certificate the operator makes: ECDSA P-256 with SHA-256,
// which kube-apiserver (Go's crypto/tls) accepts and which is cheap to make at start-up and at every rotation.
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
export const crypto = webcrypto as unknown as X509Crypto;

export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function toPrivateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A PKCS #8 P-256 private key, for signing with; throws when the PEM holds anything else. */
export async function importSigningKey(pem: string): Promise<webcrypto.CryptoKey> {
  const [der] = x509.PemConverter.decode(pem);
  if (!der) throw new Error('no PEM block in the private key');
  return (await crypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, false, ['sign'])) as webcrypto.CryptoKey;
}

/** 128 random bits, positive, as RFC 5280 §4.1.2.2 wants serial numbers to be. */
export function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

/**
 * notBefore: backdated so that an API server whose clock is a little behind still accepts the certificate, by a
 * tenth of its lifetime and at most five minutes (a certificate that lives 30 s in a test must not start 5 min ago).
 */
export function backdate(now: Date, validityMs: number): Date {
  return new Date(now.getTime() - Math.min(5 * 60_000, Math.floor(validityMs / 10)));
}
