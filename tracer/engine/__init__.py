"""The trace engine: pure Python, no Django.

Modules, one concern each (each rule of docs/semantics.md lives in exactly one place):
- model.py      dataclasses of cluster objects (the importer builds them; topology models mirror them)
- cluster.py    ClusterModel: a snapshot's objects plus lookup indexes, compiled once per snapshot
- endpointslices.py  the EndpointSlice controller (A4–A6, A19) for derived endpoints
- kubeproxy.py  service port resolution, endpoint choice and SNAT (A1–A22)
- traffic_policy.py  externalTrafficPolicy / internalTrafficPolicy: whose endpoints, which LB backend nodes (A15, A16)
- loadbalancer.py  loadBalancerSourceRanges (A10) and how a load balancer's connections spread over its nodes
- dns.py        name resolution from a pod (B1–B9)
- dns_query.py  whether a pod's DNS query gets through (kube-dns endpoint choice + NetworkPolicy)
- envvars.py    service environment variables (C)
- ingress.py    Ingress class → controller discovery and host/path routing (D1–D9): route_request, find_entry
  - ingress_routing.py      host/path matching, precedence, default backend, backends, TLS (D3–D8)
  - ingress_controllers.py  class resolution, controller recognition, exposure, cloud LBs (D1, D2, D9)
  - ingress_differences.py  what one controller does differently with the same Ingress (D11)
- netpol.py     NetworkPolicy evaluation (E1–E11)
- storage.py    volumes as the network sees them: kinds, claims → volumes → servers, who sends (I1–I3)
- secret_use.py  Secrets as pods consume them: unmet references (J2), imagePullSecrets (J3)
- pod_readiness.py  why a pod is not running or not Ready (its status, J2, I3), cited by traces
- podclasses.py pods NetworkPolicy cannot tell apart; whole-cluster class reachability (allowed_pairs)
- flow.py       Flow (source, destination, port, protocol, via) and request parsing (BadRequest)
- assumptions.py  Assumptions (kube-proxy mode, CNI enforcement): the (impl) switches of a trace
- graph.py      the forwarding graph: one successor function per vertex kind says what can follow what. The map
                draws it (forwarding_graph, networkx); the trace walks it (adjacency, computed per vertex as
                reached: a load balancer's backend nodes are its lb → node edges), and a property test checks
                that every hop sequence a trace returns is a path of it
- trace.py      trace(model, flow) → TraceResult: the walk over the graph, calling the decision modules above;
                split by concern into trace_entry (addresses, outside entries), trace_proxy (kube-proxy →
                endpoint under NetworkPolicy), trace_names (DNS, headless), trace_ingress (url:), trace_state
                Entry kinds registered with add_entry: gateway_trace (Gateways), trace_storage (volume:NAME, I1/I2),
                trace_published (ip: an address an Ingress publishes, D9)
- fixes.py      proven fixes (L1–L9): trace_with_fixes = trace + one verified object edit per dropped path
                (new NetworkPolicy, namespace label, Service port/selector, Ingress rule, missing Secret), what
                else it opens; only for single traces, never in a matrix
- stable_labels.py  labels a selector may use (L2: never pod-template-hash and the like)
- result.py     TraceResult / Path / Hop with to_dict/from_dict (schema 2: typed references, Ref), the reason texts
- render.py     the text rendering of a result (ending with the rule ids it cites)
- rules.py      rule ids cited in hop details ("(A13)") and their anchors in docs/semantics.md
- reach.py      reachability matrices over pod equivalence classes
- reach_columns.py  matrix columns: a byte per source class, from class bitsets; trace() where it must
"""
