#!/usr/bin/env bash
# Runs the same e2e suite against a kind cluster with ingress-nginx, Traefik and Prometheus.
# Needs Docker, kind, kubectl, helm and Go; cannot run on the CI machines (no Docker engine there,
# so this script is not exercised by CI: check it when you change the local cluster's data plane).
# The data plane is kept in step with the local cluster (README, "The local cluster"): Traefik
# with its kubernetesIngressNGINX and kubernetesGateway providers, the IngressClass nginx (made by
# the ingress-nginx chart, controller k8s.io/ingress-nginx), the standard Gateway API CRDs at the
# version build-traefik.sh pins, a GatewayClass and a Gateway; the proxy is port-forwarded to
# 127.0.0.1:19080 for the tests that send through it (CANARYD_E2E_PROXY_URL).
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
gateway_api_version=$(sed -n 's/^GATEWAY_API_VERSION=\${GATEWAY_API_VERSION:-\(v[0-9.]*\)}/\1/p' e2e/cluster/build-traefik.sh)
gateway_api_dir=$(cd /tmp && GOFLAGS= go mod download -json "sigs.k8s.io/gateway-api@$gateway_api_version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
kubectl apply --server-side -f "$gateway_api_dir/config/crd/standard/"
helm repo add traefik https://traefik.github.io/charts >/dev/null
helm upgrade --install traefik traefik/traefik -n traefik --create-namespace \
  --set providers.kubernetesIngressNginx.enabled=true --set providers.kubernetesGateway.enabled=true \
  --set providers.kubernetesIngress.enabled=false --set providers.kubernetesCRD.enabled=false \
  --set metrics.prometheus.addServicesLabels=true --set deployment.podAnnotations."prometheus\.io/scrape"=true \
  --set image.tag=v3.7.13 --wait
kubectl apply -f - <<'YAML'
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: traefik }
spec: { controllerName: traefik.io/gateway-controller }
---
apiVersion: v1
kind: Namespace
metadata: { name: canaryd-gateway }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: canaryd, namespace: canaryd-gateway }
spec:
  gatewayClassName: traefik
  listeners: [{ name: http, protocol: HTTP, port: 8000, allowedRoutes: { namespaces: { from: All } } }]
YAML
kubectl -n traefik port-forward svc/traefik 19080:80 >/dev/null 2>&1 &
helm upgrade --install prometheus prometheus-community/prometheus -n monitoring --create-namespace \
  --set server.global.scrape_interval=5s --set alertmanager.enabled=false --wait
kubectl -n monitoring port-forward svc/prometheus-server 19090:80 >/dev/null 2>&1 &
trap 'kill %1 %2 2>/dev/null || true' EXIT
# Pod IPs must be reachable from the test process: route the pod CIDR via the kind node.
node_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' canaryd-e2e-control-plane)
sudo ip route replace 10.244.0.0/16 via "$node_ip"
export CANARYD_E2E_KUBECONFIG="$KUBECONFIG" CANARYD_E2E_PROMETHEUS_URL=http://127.0.0.1:19090 CANARYD_POD_NETWORK=routed \
  CANARYD_E2E_PROXY_URL=http://127.0.0.1:19080
npx vitest run --project e2e
