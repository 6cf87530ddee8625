export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
