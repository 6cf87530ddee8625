import type { AnalysisTarget } from '../../src/analysis/builtin.ts';

/** The release the documented built-in queries are written for. */
export const target: AnalysisTarget = {
  namespace: 'shop',
  deployment: 'web',
  canary: 'web-canary',
  service: 'web',
  ingresses: ['web'],
};

// These strings are quoted verbatim in docs/analysis.md; docs.test.ts keeps the two in step.
export const SUCCESS_RATE_CANARY =
  '100 * sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!="",status!~"5.."}[60s])) / sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""}[60s]))';
export const SUCCESS_RATE_STABLE =
  '100 * sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary="",status!~"5.."}[60s])) / sum(rate(nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary=""}[60s]))';
export const LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary!=""}[60s])))';
export const LATENCY_STABLE =
  'histogram_quantile(0.99, sum by (le) (rate(nginx_ingress_controller_response_duration_seconds_bucket{namespace="shop",ingress=~"web",service="web",canary=""}[60s])))';
export const CANARY_REQUESTS =
  'sum(increase(nginx_ingress_controller_requests{namespace="shop",ingress=~"web",service="web",canary!=""}[60s]))';

// Traefik's per-backend series for the same release: through its ingress-nginx provider (the
// Ingress `web`) and through its Gateway API provider (the HTTPRoute `web`).
export const gatewayTarget: AnalysisTarget = { ...target, ingresses: [], httpRoutes: ['web'] };

export const TRAEFIK_SUCCESS_RATE_CANARY =
  '100 * sum(rate(traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx",code!~"5.."}[60s])) / sum(rate(traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}[60s]))';
export const TRAEFIK_SUCCESS_RATE_STABLE =
  '100 * sum(rate(traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx",code!~"5.."}[60s])) / sum(rate(traefik_service_requests_total{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"}[60s]))';
export const TRAEFIK_LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}[60s])))';
export const TRAEFIK_LATENCY_STABLE =
  'histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service=~"shop-web-web-[^@]+@kubernetesingressnginx",service!~".+-(?:canary|wrr)@kubernetesingressnginx"}[60s])))';
export const TRAEFIK_CANARY_REQUESTS =
  'sum(increase(traefik_service_requests_total{service=~"shop-web-web-[^@]+-canary@kubernetesingressnginx"}[60s]))';

export const TRAEFIK_GATEWAY_SUCCESS_RATE_CANARY =
  '100 * sum(rate(traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway",code!~"5.."}[60s])) / sum(rate(traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}[60s]))';
export const TRAEFIK_GATEWAY_SUCCESS_RATE_STABLE =
  '100 * sum(rate(traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway",code!~"5.."}[60s])) / sum(rate(traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-[0-9]+@kubernetesgateway"}[60s]))';
export const TRAEFIK_GATEWAY_LATENCY_CANARY =
  'histogram_quantile(0.99, sum by (le) (rate(traefik_service_request_duration_seconds_bucket{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}[60s])))';
export const TRAEFIK_GATEWAY_CANARY_REQUESTS =
  'sum(increase(traefik_service_requests_total{service=~"httproute-shop-web-gw-.+-svc-shop-web-canary-[0-9]+@kubernetesgateway"}[60s]))';
