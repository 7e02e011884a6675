// Kubernetes API plumbing shared by the operator and the webhook: a list+watch whose requests come in as deps.
export {
  describeError,
  LIST_PAGE_SIZE,
  SlimListWatch,
  type ListPage,
  type ListPageRequest,
  type SlimListWatchOptions,
} from './slim-list-watch.js';
