"""Proven fixes (docs/semantics.md L1–L9): each fix's YAML, applied to the cluster's manifests the way
`kubectl apply` would (a new object is added, a patch is strategic-merged), re-imported through the project's
importer and re-traced, delivers the flow that was dropped.

Topology (a live dump; every pod belongs to a Deployment through its ReplicaSet and carries pod-template-hash):
    ns shop (label team=shop):  web (app=web) → api (app=api, port 8080), svc api 80→8080
    ns ops  (no labels):        probe (app=probe)
    policies vary per test: default-deny ingress on api, egress on web, a rule waiting for a namespace label.
"""
from __future__ import annotations

import copy

import yaml

from topology.importers import build_objects
from topology.importers.load import load_documents
from tracer.engine.cluster import ClusterModel
from tracer.engine.fixes import UNSTABLE_LABELS, trace_with_fixes
from tracer.engine.flow import make_flow
from tracer.engine.trace import trace


def deployment(ns, name, labels, ip, port=None, replicas=1, first_ip=10):
    rs = f"{name}-6d4cf56db6"
    docs = [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns, "uid": f"d-{name}"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet",
         "metadata": {"name": rs, "namespace": ns, "uid": f"rs-{name}",
                      "labels": {**labels, "pod-template-hash": "6d4cf56db6"},
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                           "uid": f"d-{name}", "controller": True}]},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {**labels, "pod-template-hash": "6d4cf56db6"}},
                  "template": {"metadata": {"labels": {**labels, "pod-template-hash": "6d4cf56db6"}},
                               "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
    ]
    for i in range(replicas):
        c = {"name": "c", "image": "x"}
        if port:
            c["ports"] = [{"containerPort": port, "protocol": "TCP"}]
        docs.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{rs}-x{i}", "namespace": ns, "labels": {**labels, "pod-template-hash": "6d4cf56db6"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                              "uid": f"rs-{name}", "controller": True}]},
            "spec": {"nodeName": "n1", "containers": [c]},
            "status": {"phase": "Running", "podIP": ip.replace("X", str(first_ip + i)),
                       "podIPs": [{"ip": ip.replace("X", str(first_ip + i))}], "hostIP": "172.20.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}]}})
    return docs


def base(selector=None, svc_port=80):
    return [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
         "spec": {"podCIDR": "10.244.1.0/24"},
         "status": {"addresses": [{"type": "InternalIP", "address": "172.20.0.1"}],
                    "conditions": [{"type": "Ready", "status": "True"}]}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "shop"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}},
        *deployment("shop", "web", {"app": "web"}, "10.244.1.X"),
        *deployment("shop", "api", {"app": "api"}, "10.244.1.X", port=8080, replicas=2, first_ip=20),
        *deployment("ops", "probe", {"app": "probe"}, "10.244.1.X", first_ip=30),
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
         "spec": {"clusterIP": "10.96.0.20", "selector": selector or {"app": "api"},
                  "ports": [{"name": "http", "port": svc_port, "targetPort": 8080, "protocol": "TCP"}]}},
    ]


def deny(ns, name, types, selector=None, **rules):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns},
            "spec": {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": types, **rules}}


def model_of(docs) -> ClusterModel:
    raw = yaml.safe_dump_all(docs).encode()
    return ClusterModel(build_objects(load_documents(raw, "cluster.yaml")).objects)


def kubectl_apply(docs, fix_yaml: str) -> list[dict]:
    """What `kubectl apply` does with the fix: a new object is created; an existing one is strategic-merged
    (maps merge, null deletes a key, Service ports merge by `port`)."""
    obj = yaml.safe_load(fix_yaml)
    out = copy.deepcopy(docs)
    ident = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    for i, d in enumerate(out):
        if (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) == ident:
            out[i] = _merge(d, obj)
            return out
    return [*out, obj]


def _merge(old, patch):
    if isinstance(old, dict) and isinstance(patch, dict):
        res = dict(old)
        for k, v in patch.items():
            if v is None:
                res.pop(k, None)
            elif k == "ports" and isinstance(v, list) and isinstance(old.get(k), list):
                byport = {p["port"]: p for p in old[k]}
                for p in v:
                    byport[p["port"]] = _merge(byport.get(p["port"], {}), p)
                res[k] = list(byport.values())
            else:
                res[k] = _merge(old.get(k), v)
        return res
    return patch


def fixed_and_proven(docs, src, dst, port):
    m = model_of(docs)
    res = trace_with_fixes(m, make_flow(src, dst, port=port))
    dropped = [p for p in res.paths if p.verdict == "dropped"]
    assert dropped and all(p.fix for p in dropped), [(p.reason, p.fix) for p in res.paths]
    fix = dropped[0].fix
    assert fix["verified"] is True and fix["summary"]
    for label in UNSTABLE_LABELS:
        assert label not in fix["yaml"]
    after = trace(model_of(kubectl_apply(docs, fix["yaml"])), make_flow(src, dst, port=port))
    assert after.verdict == "delivered", [p.reason for p in after.paths]
    return res, fix


def test_ingress_denied_gets_a_minimal_policy_on_the_destination_side():
    docs = [*base(), deny("shop", "deny-api", ["Ingress"], {"app": "api"})]
    res, fix = fixed_and_proven(docs, "workload:shop/web", "svc:shop/api", 80)
    assert res.paths[0].reason == "policy-ingress-denied"
    pol = yaml.safe_load(fix["yaml"])
    assert pol["kind"] == "NetworkPolicy" and pol["metadata"]["namespace"] == "shop"
    assert pol["spec"]["podSelector"] == {"matchLabels": {"app": "api"}}
    assert pol["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                       "ports": [{"protocol": "TCP", "port": 8080}]}]
    # the fix opens exactly this flow: nothing else changes on 8080 (probe in ops is still denied)
    assert fix["opens"] == [] and fix["opens_count"] == 0 and fix["opens_bounded"] is False
    assert fix["command"] == "kubectl apply -f -"  # a new object: apply creates it
    # the drop hop's own hint names stable labels too (no pod-template-hash)
    assert "podSelector {matchLabels: {app: web}}" in res.paths[0].hops[-1].detail


def test_egress_denied_gets_a_policy_on_the_source_side_across_namespaces():
    docs = [*base(), deny("ops", "deny-out", ["Egress"], {"app": "probe"})]
    res, fix = fixed_and_proven(docs, "workload:ops/probe", "svc:shop/api", 80)
    assert res.paths[0].reason == "policy-egress-denied"
    pol = yaml.safe_load(fix["yaml"])
    assert pol["metadata"]["namespace"] == "ops" and pol["spec"]["policyTypes"] == ["Egress"]
    assert pol["spec"]["egress"][0]["to"] == [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}},
        "podSelector": {"matchLabels": {"app": "api"}}}]


def test_a_namespace_label_that_an_existing_rule_waits_for_and_what_else_it_opens():
    rule = {"from": [{"namespaceSelector": {"matchLabels": {"monitoring": "true"}}}],
            "ports": [{"protocol": "TCP", "port": 8080}]}
    docs = [*base(), deny("shop", "from-monitoring", ["Ingress"], {"app": "api"}, ingress=[rule]),
            *deployment("ops", "scraper", {"app": "scraper"}, "10.244.1.X", first_ip=40)]
    res, fix = fixed_and_proven(docs, "workload:ops/probe", "svc:shop/api", 80)
    ns = yaml.safe_load(fix["yaml"])
    assert ns["kind"] == "Namespace" and ns["metadata"] == {"name": "ops", "labels": {"monitoring": "true"}}
    assert fix["command"] == "kubectl patch namespace/ops --type strategic --patch-file /dev/stdin"
    # labelling ops also lets the other workload of ops (scraper) reach api: the fix says so
    opened = {(c["source"], c["destination"], c["after"]) for c in fix["opens"]}
    assert ("ops/{app=scraper}", "shop/{app=api}", "delivered") in opened
    assert ("ops/{app=probe}", "shop/{app=api}", "delivered") not in opened  # the traced flow itself
    assert all(c["destination"] == "shop/{app=api}" for c in fix["opens"])


def test_a_missing_service_port_is_added_as_a_patch():
    docs = base()
    res, fix = fixed_and_proven(docs, "workload:shop/web", "svc:shop/api", 8080)
    assert res.paths[0].reason == "no-service-port"
    patch = yaml.safe_load(fix["yaml"])
    assert patch["spec"]["ports"] == [{"name": "tcp-8080", "port": 8080, "protocol": "TCP", "targetPort": 8080}]
    # an edit of an existing object is a strategic-merge patch: `kubectl apply` of this partial Service would
    # drop the fields an earlier apply recorded (its selector among them)
    assert fix["command"] == "kubectl patch service/api -n shop --type strategic --patch-file /dev/stdin"
    # a Service port opens for every client, not only web: the other source classes are listed
    assert {(o["source"], o["destination"], o["before"], o["after"]) for o in fix["opens"]} == {
        ("shop/{app=api}", "svc:shop/api", "dropped", "delivered"),
        ("ops/{app=probe}", "svc:shop/api", "dropped", "delivered")}


def test_a_selector_that_matches_nothing_is_corrected():
    docs = base(selector={"app": "api", "tier": "backend"})
    res, fix = fixed_and_proven(docs, "workload:shop/web", "svc:shop/api", 80)
    assert res.paths[0].reason == "no-endpoints"
    assert yaml.safe_load(fix["yaml"])["spec"]["selector"] == {"app": "api", "tier": None}


def test_no_fix_is_claimed_when_the_edit_would_not_deliver():
    # the destination pods are not selected by anything a new policy could fix: egress AND ingress deny;
    # one edit (a new ingress policy) cannot deliver while egress still denies
    docs = [*base(), deny("shop", "deny-api", ["Ingress"], {"app": "api"}),
            deny("shop", "deny-web", ["Egress"], {"app": "web"})]
    m = model_of(docs)
    res = trace_with_fixes(m, make_flow("workload:shop/web", "svc:shop/api", port=80))
    assert res.paths[0].reason == "policy-egress-denied"
    assert all(p.fix is None for p in res.paths)


def test_a_missing_secret_is_created_and_the_pods_start():
    """J2 under --materialize: api's pods read env DB_PASSWORD from Secret db (key password), which does not
    exist (another Secret exists, so the dump does carry Secrets): pod-not-ready; the fix creates it."""
    docs = [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "shop"},
         "stringData": {"x": "y"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                  "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{
                      "name": "c", "image": "x", "ports": [{"containerPort": 8080}],
                      "env": [{"name": "DB_PASSWORD",
                               "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
         "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}]}},
    ]

    def materialized(d):
        raw = yaml.safe_dump_all(d).encode()
        return ClusterModel(build_objects(load_documents(raw, "app.yaml"), materialize=True).objects)

    flow = make_flow("workload:shop/web", "svc:shop/api", port=80)
    res = trace_with_fixes(materialized(docs), flow)
    assert res.verdict == "dropped" and res.paths[0].reason == "pod-not-ready"
    fix = res.paths[0].fix
    assert fix["kind"] == "secret" and fix["verified"] is True
    secret = yaml.safe_load(fix["yaml"])
    assert secret["metadata"] == {"name": "db", "namespace": "shop"} and list(secret["stringData"]) == ["password"]
    assert fix["command"] == "kubectl apply -f -"  # the Secret does not exist yet
    after = trace(materialized(kubectl_apply(docs, fix["yaml"])), flow)
    assert after.verdict == "delivered"


def test_an_ingress_rule_for_a_host_it_does_not_name():
    """cluster-b (tests/fixtures/examples): Ingress blog/blog serves blog.example.org only; www.blog.example.org
    gets a 404 (ingress-no-match). The fix adds a rule for that host; the YAML keeps every existing rule."""
    from tests.fixtures import CLUSTER_B
    docs = [d for d in yaml.safe_load(CLUSTER_B.read_text())["items"]]
    src, dst = "external:198.51.100.7", "url:http://www.blog.example.org/"
    res, fix = fixed_and_proven(docs, src, dst, None)
    assert res.paths[0].reason == "ingress-no-match" and fix["kind"] == "ingress-rule"
    rules = yaml.safe_load(fix["yaml"])["spec"]["rules"]
    assert [r["host"] for r in rules] == ["blog.example.org", "www.blog.example.org"]
    assert rules[0]["http"] == rules[1]["http"]  # the new host is served as the old one is


def test_stable_labels_drop_what_controllers_set_per_revision_or_replica():
    from tests.unit.conftest import build, node, pod
    from tracer.engine.stable_labels import stable_labels
    m = build(node("n1", "172.20.0.1"), pod("db", "db-0", "10.244.1.9", "n1", {
        "app": "db", "controller-revision-hash": "db-7c9", "statefulset.kubernetes.io/pod-name": "db-0",
        "apps.kubernetes.io/pod-index": "0"}))
    assert stable_labels(m, m.pods["db/db-0"]) == {"app": "db"}


def test_default_deny_egress_that_blocks_dns_gets_a_rule_to_the_coredns_pods():
    """shop's web may send to api on 8080 but its egress policy forgot DNS: a name resolves nowhere. The fix is
    an egress rule to the CoreDNS pods (k8s-app=kube-dns in kube-system) on UDP 53 only."""
    coredns = deployment("kube-system", "coredns", {"k8s-app": "kube-dns"}, "10.244.1.X", port=53, first_ip=50)
    for d in coredns:
        if d["kind"] == "Pod":
            d["spec"]["containers"][0]["ports"] = [{"containerPort": 53, "protocol": "UDP", "name": "dns"},
                                                   {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}]
    kube_dns = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
                         "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                   {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}}
    to_api = {"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}
    docs = [*base(), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}, *coredns,
            kube_dns, deny("shop", "web-out", ["Egress"], {"app": "web"}, egress=[to_api])]
    res, fix = fixed_and_proven(docs, "workload:shop/web", "dns:api.shop.svc.cluster.local", 80)
    assert res.paths[0].reason == "policy-egress-denied" and res.paths[0].hops[-1].kind == "dns"
    pol = yaml.safe_load(fix["yaml"])
    assert pol["spec"]["egress"] == [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}]}]


def test_egress_to_an_address_outside_the_cluster_gets_an_ipblock_of_that_address():
    docs = [*base(), deny("shop", "web-out", ["Egress"], {"app": "web"})]
    res, fix = fixed_and_proven(docs, "workload:shop/web", "ip:203.0.113.7", 443)
    assert res.paths[0].reason == "policy-egress-denied"
    assert yaml.safe_load(fix["yaml"])["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}], "ports": [{"protocol": "TCP", "port": 443}]}]
