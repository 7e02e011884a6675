// Kubernetes API plumbing shared by the operator and the webhook: where the API server is (kube-config.ts), a client
// of it (kube-client.ts, kube-apis.ts), informers, and a list+watch whose requests come in as deps.
export {
  loadInClusterConfig,
  loadKubeConfigFile,
  parseKubeConfig,
  SERVICE_ACCOUNT_DIR,
  type ExecConfig,
  type KubeConfigDeps,
  type KubeCredentials,
  type KubeTarget,
} from './kube-config.js';
export { CredentialSource, parseExecCredential, type CredentialDeps } from './kube-credentials.js';
export {
  CONTENT_TYPE,
  KubeClient,
  KubeStatusError,
  type KubeClientOptions,
  type KubeRequest,
  type Query,
  type WatchApi,
  type WatchCallback,
  type WatchDone,
} from './kube-client.js';
export {
  AdmissionApi,
  CoordinationApi,
  CoreApi,
  CustomObjectsApi,
  EventsApi,
  RbacApi,
  type CallOptions,
  type Event,
  type Lease,
  type ListRequest,
} from './kube-apis.js';
export { Informer, type ObjectList } from './informer.js';
export { toMicroTime } from './micro-time.js';
export {
  describeError,
  LIST_PAGE_SIZE,
  SlimListWatch,
  type ListPage,
  type ListPageRequest,
  type SlimListWatchOptions,
} from './slim-list-watch.js';
