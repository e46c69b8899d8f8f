"""The trace engine: pure Python, no Django.

Modules, one concern each (each rule of docs/semantics.md lives in exactly one place):
- model.py      dataclasses of cluster objects (the importer builds them; topology models mirror them)
- cluster.py    ClusterModel: a snapshot's objects plus lookup indexes, compiled once per snapshot
- endpointslices.py  the EndpointSlice controller (A4–A6, A19) for derived endpoints
- kubeproxy.py  service port resolution and endpoint choice (A1–A22)
- dns.py        name resolution from a pod (B1–B9)
- envvars.py    service environment variables (C)
- ingress.py    Ingress class → controller discovery and host/path routing (D1–D9): route_request, find_entry
  - ingress_routing.py      host/path matching, precedence, default backend, backends, TLS (D3–D8)
  - ingress_controllers.py  class resolution, controller recognition, exposure, cloud LBs (D1, D2, D9)
- netpol.py     NetworkPolicy evaluation (E1–E11)
- flow.py       Flow (source, destination, port, protocol, via) and request parsing (BadRequest)
- assumptions.py  Assumptions (kube-proxy mode, CNI enforcement): the (impl) switches of a trace
- graph.py      the networkx forwarding graph of a model (cached); trace hops walk its edges
- trace.py      trace(model, flow) → TraceResult, assembling the above
- result.py     TraceResult / Path / Hop with to_dict/from_dict and a schema version
- render.py     the text rendering of a result (ending with the rule ids it cites)
- rules.py      rule ids cited in hop details ("(A13)") and their anchors in docs/semantics.md
- reach.py      reachability matrices over pod equivalence classes
- reach_columns.py  matrix cells per destination column (bitsets over classes), trace() where it must
"""
