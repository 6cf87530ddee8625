// The canaryd HTTP service: build(deps) + listen(app, "HOST:PORT"), its ports and helpers.
export { build, DEFAULT_BODY_LIMIT, type RouteInfo, type ServerDeps, type ServerLogger } from './app.ts';
export { API_ERRORS, ApiError, type ApiErrorBody, type ApiErrorCode } from './errors.ts';
export { type KubeServerOptions, kubeServerDeps } from './kube-deps.ts';
export { listen } from './listen.ts';
export { openApiDocument } from './openapi.ts';
export {
  isAcknowledged,
  kubeOperationRequester,
  newOperation,
  OPERATION_ANNOTATION,
  OperationError,
  type OperationErrorCode,
  type OperationRequest,
  operationPatch,
  operationResult,
  PENDING_OPERATION_GRACE_MS,
  pendingOperation,
  policyRef,
  requestOperation,
} from './operations.ts';
export type {
  ApiVerb,
  Authenticator,
  Authorizer,
  OperationRequester,
  Readiness,
  ReleaseReader,
  UserInfo,
} from './ports.ts';
export {
  kubeReleaseReader,
  listItemOf,
  type ReleaseListItem,
  type ReleaseSpecSummary,
  type ReleaseStatusView,
  type ReleaseView,
  releaseReaderOf,
  releaseViewOf,
  type StepView,
} from './views.ts';
