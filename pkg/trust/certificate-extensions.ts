// The certificate extensions a keyless attestor's additionalExtensions may name. Shared by the policy compiler, which
// rejects unknown names up front, and the identity check in pkg/cosign, which reads them.
const FULCIO = '1.3.6.1.4.1.57264.1';

// cosign's CertExtensionMap (https://github.com/sigstore/cosign/blob/main/pkg/cosign/certextensions.go), the only keys Kyverno's extractCertExtensionValue
// accepts, by name or by OID. The issuer's name is "oidcIssuer", not "issuer". Fulcio's newer …1.8–…1.24 are not
// accepted: Kyverno answers "invalid certificate extension" for them, and a policy should not mean more here.
const CERT_EXTENSIONS: ReadonlyMap<string, string> = new Map([
  ['oidcIssuer', `${FULCIO}.1`],
  ['githubWorkflowTrigger', `${FULCIO}.2`],
  ['githubWorkflowSha', `${FULCIO}.3`],
  ['githubWorkflowName', `${FULCIO}.4`],
  ['githubWorkflowRepository', `${FULCIO}.5`],
  ['githubWorkflowRef', `${FULCIO}.6`],
]);
const CERT_EXTENSION_OIDS: ReadonlySet<string> = new Set(CERT_EXTENSIONS.values());

/** The OID an additionalExtensions key names (a cosign extension name, or one of those extensions' OIDs), if any. */
export function toExtensionOid(key: string): string | undefined {
  return CERT_EXTENSIONS.get(key) ?? (CERT_EXTENSION_OIDS.has(key) ? key : undefined);
}

/**
 * Kyverno's error for the first additionalExtensions key that names no supported extension, so the policy compiler
 * can reject it up front instead of every admission failing with it.
 */
export function checkExtensionKeys(extensions: Readonly<Record<string, string>>): string | undefined {
  const bad = Object.keys(extensions).find((key) => toExtensionOid(key) === undefined);
  return bad === undefined ? undefined : invalidExtension(bad);
}

export function invalidExtension(key: string): string {
  return `invalid certificate extension ${key}`;
}
