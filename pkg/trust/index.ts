export { EMPTY_TRUST_ROOT, describeTrustRoot, parseTrustedRoot, type TrustRoot } from './trusted-root.js';
export { toAttestorTrust, toLogId, type Authorities, type PolicyTrust } from './policy-trust.js';
export { checkExtensionKeys, invalidExtension, toExtensionOid } from './certificate-extensions.js';
