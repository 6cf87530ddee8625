#!/usr/bin/env bash
# Runs the same e2e suite against a kind cluster with ingress-nginx and Prometheus.
# Needs Docker, kind, kubectl and helm; cannot run on the CI machines (no Docker engine there).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
kind create cluster --config e2e/kind/kind-config.yaml --kubeconfig "$repo/.kind-kubeconfig"
export KUBECONFIG="$repo/.kind-kubeconfig"
for v in v1 v2 v3; do
  docker build -f e2e/kind/demo-app.Dockerfile -t "canaryd-demo:$v" .
  kind load docker-image --name canaryd-e2e "canaryd-demo:$v"
done
helm repo add ingress-nginx https://kubernetes.github.io/ingress-nginx >/dev/null
helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null
helm upgrade --install ingress-nginx ingress-nginx/ingress-nginx -n ingress-nginx --create-namespace \
  --set controller.metrics.enabled=true --set controller.podAnnotations."prometheus\.io/scrape"=true --wait
helm upgrade --install prometheus prometheus-community/prometheus -n monitoring --create-namespace \
  --set server.global.scrape_interval=5s --set alertmanager.enabled=false --wait
kubectl -n monitoring port-forward svc/prometheus-server 19090:80 >/dev/null 2>&1 &
trap 'kill %1 2>/dev/null || true' EXIT
# Pod IPs must be reachable from the test process: route the pod CIDR via the kind node.
node_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' canaryd-e2e-control-plane)
sudo ip route replace 10.244.0.0/16 via "$node_ip"
export CANARYD_E2E_KUBECONFIG="$KUBECONFIG" CANARYD_E2E_PROMETHEUS_URL=http://127.0.0.1:19090 CANARYD_POD_NETWORK=routed
npx vitest run --project e2e
