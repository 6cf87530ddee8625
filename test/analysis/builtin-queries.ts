import type { AnalysisTarget } from '../../src/analysis/builtin.ts';

/** The release the documented built-in queries are written for. */
export const target: AnalysisTarget = {
  namespace: 'shop',
  deployment: 'web',
  canary: 'web-canary',
  service: 'web',
  ingresses: ['web'],
};

/** The round's first counted instant the documented queries use (2026-03-01T11:59:00Z). */
export const FROM_MS = Date.parse('2026-03-01T11:59:00Z');

// These strings are quoted verbatim in docs/analysis.md; docs.test.ts keeps the two in step.
export const SUCCESS_RATE_CANARY =
  '100 * (sum((nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!="",status!~"5.."} - nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!="",status!~"5.."} @ 1772366340.000 >= 0 or nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!="",status!~"5.."})) or vector(0)) / sum((nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""} - nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""} @ 1772366340.000 >= 0 or nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""}))';
export const SUCCESS_RATE_STABLE =
  '100 * (sum((nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary="",status!~"5.."} - nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary="",status!~"5.."} @ 1772366340.000 >= 0 or nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary="",status!~"5.."})) or vector(0)) / sum((nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary=""} - nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary=""} @ 1772366340.000 >= 0 or nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary=""}))';
export const LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary!=""} - nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary!=""} @ 1772366340.000 >= 0 or nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary!=""}))';
export const LATENCY_STABLE =
  'histogram_quantile(0.99, sum by (le) (nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary=""} - nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary=""} @ 1772366340.000 >= 0 or nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary=""}))';
export const CANARY_REQUESTS =
  'sum((nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""} - nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""} @ 1772366340.000 >= 0 or nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""}))';

// Traefik's per-backend series for the same release: through its ingress-nginx provider (the
// Ingress `web`) and through its Gateway API provider (the HTTPRoute `web`).
export const gatewayTarget: AnalysisTarget = { ...target, ingresses: [], httpRoutes: ['web'] };

export const TRAEFIK_SUCCESS_RATE_CANARY =
  '100 * (sum((traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx",code!~"5.."} - traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx",code!~"5.."} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx",code!~"5.."})) or vector(0)) / sum((traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} - traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}))';
export const TRAEFIK_SUCCESS_RATE_STABLE =
  '100 * (sum((traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx",code!~"5.."} - traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx",code!~"5.."} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx",code!~"5.."})) or vector(0)) / sum((traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"} - traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"}))';
export const TRAEFIK_LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} - traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} @ 1772366340.000 >= 0 or traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}))';
export const TRAEFIK_LATENCY_STABLE =
  'histogram_quantile(0.99, sum by (le) (traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"} - traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"} @ 1772366340.000 >= 0 or traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"}))';
export const TRAEFIK_CANARY_REQUESTS =
  'sum((traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} - traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}))';

export const TRAEFIK_GATEWAY_SUCCESS_RATE_CANARY =
  '100 * (sum((traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway",code!~"5.."} - traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway",code!~"5.."} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway",code!~"5.."})) or vector(0)) / sum((traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} - traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}))';
export const TRAEFIK_GATEWAY_SUCCESS_RATE_STABLE =
  '100 * (sum((traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway",code!~"5.."} - traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway",code!~"5.."} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway",code!~"5.."})) or vector(0)) / sum((traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway"} - traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway"}))';
export const TRAEFIK_GATEWAY_LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (traefik_service_request_duration_seconds_bucket{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} - traefik_service_request_duration_seconds_bucket{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} @ 1772366340.000 >= 0 or traefik_service_request_duration_seconds_bucket{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}))';
export const TRAEFIK_GATEWAY_CANARY_REQUESTS =
  'sum((traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} - traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"} @ 1772366340.000 >= 0 or traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}))';
