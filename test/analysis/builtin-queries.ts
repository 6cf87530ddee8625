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
