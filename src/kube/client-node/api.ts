// What client-node's object.js takes from its api.js, which re-exports the whole generated
// index (./lean.ts points it here).
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
