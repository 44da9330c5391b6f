#!/usr/bin/env bash
# The baseline the benchmark compares against: what people write today, one
# namespace at a time, three kubectl processes per namespace.
#
#   baseline.sh NAMESPACES_FILE
#
# Environment: KUBECONFIG, SECRET_NAME, REGISTRY, REGISTRY_USER, REGISTRY_PASSWORD.
# The password lands on kubectl's argv: that is what the baseline does (the
# benchmark only ever gives it a fake token).
set -euo pipefail

mapfile -t namespaces < "$1"
for ns in "${namespaces[@]}"; do
  kubectl create secret docker-registry "$SECRET_NAME" --namespace "$ns" \
    --docker-server="$REGISTRY" --docker-username="$REGISTRY_USER" --docker-password="$REGISTRY_PASSWORD" \
    --dry-run=client -o yaml | kubectl apply -f -
  kubectl patch serviceaccount default --namespace "$ns" \
    -p "{\"imagePullSecrets\":[{\"name\":\"$SECRET_NAME\"}]}"
done
