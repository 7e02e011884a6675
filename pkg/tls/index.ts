export {
  createServingCertificates,
  type ServingCertificateOptions,
  type ServingCertificates,
} from './serving-certificates.js';
