"""Names and addresses a pod answers itself, without the network (docs/semantics.md H1, H2).

- `is_loopback(ip)`          H1: 127.0.0.0/8 and ::1 never leave the pod's network namespace (the node's, for a
                             hostNetwork pod)
- `hosts_entry(model, pod, name)`   H2: the pod's /etc/hosts as the kubelet writes it (managedHostsFileContent):
                             localhost, the pod's hostname (and `<hostname>.<subdomain>.<ns>.svc.<zone>` with a
                             subdomain), then spec.hostAliases. A name found there resolves without a DNS query,
                             so egress policy on DNS does not matter for it. hostNetwork pods use the node's
                             hosts file, which is not in the snapshot: only localhost is assumed there.
"""
from __future__ import annotations

import ipaddress

from .cluster import ClusterModel
from .model import Pod


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def hosts_entry(model: ClusterModel, pod: Pod, name: str) -> tuple[str, str] | None:
    """H2: (ip, the hosts-file line that answers) for `name`, or None when /etc/hosts does not have it."""
    name = name.lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"):
        ip = "::1" if name.startswith("ip6-") else "127.0.0.1"
        return ip, f"/etc/hosts: {ip} {name} (the kubelet writes it in every pod) (H2)"
    if pod.host_network:
        return None
    hostname = (pod.hostname or pod.name).lower()
    names = [hostname]
    if pod.subdomain:
        names.insert(0, f"{hostname}.{pod.subdomain.lower()}.{pod.namespace}.svc.{model.cluster_domain}")
    if name in names and pod.ip:
        return pod.ip, (f"/etc/hosts: {pod.ip} {' '.join(names)} (the kubelet writes the pod's own hostname"
                        f"{' and FQDN' if pod.subdomain else ''}) (H2)")
    for alias in pod.host_aliases:
        if name in alias.hostnames:
            return alias.ip, (f"/etc/hosts: {alias.ip} {' '.join(alias.hostnames)} (spec.hostAliases of pod "
                              f"{pod.key}) (H2)")
    return None
