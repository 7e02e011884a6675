export { createCertificateAuthority, type KeyedCertificate } from './certificate-authority.js';
export { issueServingCertificate, type ServingCertificateRequest } from './issue-serving-certificate.js';
export {
  coversHost,
  isIssuedBy,
  matchesKey,
  MAX_BUNDLE_CERTIFICATES,
  readCertificate,
  readCertificates,
  type CertificateFacts,
} from './read-certificate.js';
export {
  createServingCertificates,
  type ServingCertificateOptions,
  type ServingCertificates,
} from './serving-certificates.js';
