#!/bin/sh
# Dump the cluster state the tracer reads, from the current kubectl context, as one JSON list on stdout —
# with every Secret reduced to its name, namespace, type and key names BEFORE anything leaves this machine
# (the values, `stringData` and the last-applied annotation, which repeats them, are removed here).
#
#   scripts/dump-cluster.sh > dump.json                 # needs kubectl and python3
#   scripts/dump-cluster.sh --context prod > dump.json  # extra arguments go to kubectl get
#   kubectl get secrets -A -o json | scripts/dump-cluster.sh --strip > secrets.json   # the filter alone
#
# Kinds that the cluster does not serve (no Gateway API, no Traefik…) are left out instead of failing.
set -eu

# Everything the model reads: core and apps kinds, Ingress, NetworkPolicy, Secrets (names only), storage,
# Gateway API, and the route kinds of Ingress controllers (Traefik, Contour, Emissary, Istio).
RESOURCES="nodes namespaces pods services endpointslices.discovery.k8s.io ingresses.networking.k8s.io
ingressclasses.networking.k8s.io networkpolicies.networking.k8s.io deployments.apps replicasets.apps
statefulsets.apps daemonsets.apps jobs.batch replicationcontrollers secrets persistentvolumes
persistentvolumeclaims storageclasses.storage.k8s.io gatewayclasses.gateway.networking.k8s.io
gateways.gateway.networking.k8s.io httproutes.gateway.networking.k8s.io grpcroutes.gateway.networking.k8s.io
tlsroutes.gateway.networking.k8s.io tcproutes.gateway.networking.k8s.io udproutes.gateway.networking.k8s.io
referencegrants.gateway.networking.k8s.io listenersets.gateway.networking.k8s.io
ingressroutes.traefik.io middlewares.traefik.io ingressroutes.traefik.containo.us middlewares.traefik.containo.us
httpproxies.projectcontour.io mappings.getambassador.io gateways.networking.istio.io
virtualservices.networking.istio.io"

# The filter: a JSON object or list on stdin → the same with no Secret value, as a `kind: List` on stdout.
STRIP='
import json, sys
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
doc = json.load(sys.stdin)
items = doc.get("items", []) if isinstance(doc, dict) and "items" in doc else (doc if isinstance(doc, list) else [doc])
stripped = 0
for item in items:
    if not isinstance(item, dict) or item.get("kind") != "Secret":
        continue
    keys = sorted(set(item.get("data") or {}) | set(item.get("stringData") or {}))
    removed = [item.pop(section, None) for section in ("data", "stringData")]
    if any(section is not None for section in removed):
        stripped += 1
    if keys:
        item["data"] = {key: "" for key in keys}  # key names only: which keys exist is what a trace needs
    meta = item.get("metadata") or {}
    meta.pop("managedFields", None)
    (meta.get("annotations") or {}).pop(LAST_APPLIED, None)
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
sys.stdout.write("\n")
print(f"dump-cluster: {len(items)} objects; values removed from {stripped} Secret(s)", file=sys.stderr)
'

if [ "${1:-}" = "--strip" ]; then
    exec python3 -c "$STRIP"
fi

command -v kubectl >/dev/null 2>&1 || { echo "dump-cluster: kubectl is not on PATH" >&2; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "dump-cluster: python3 is not on PATH" >&2; exit 2; }

served=$(kubectl "$@" api-resources -o name 2>/dev/null) || { echo "dump-cluster: kubectl api-resources failed" >&2; exit 1; }
wanted=""
for r in $RESOURCES; do
    # api-resources -o name prints core kinds bare (pods) and the others with their group (deployments.apps)
    if printf '%s\n' "$served" | grep -qxF "$r"; then
        wanted="${wanted:+$wanted,}$r"
    fi
done
[ -n "$wanted" ] || { echo "dump-cluster: the cluster serves none of the kinds the tracer reads" >&2; exit 1; }
kubectl "$@" get "$wanted" --all-namespaces -o json | python3 -c "$STRIP"
