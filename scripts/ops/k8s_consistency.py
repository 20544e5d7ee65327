#!/usr/bin/env python3
"""What kubernetes-validate cannot see in deploy/kubernetes/: that the
pieces fit together. Selectors find the pods, the ServiceMonitor finds the
Service and its port, every secret file a LATCHKEY_*_FILE names is a key of
the Secret under its mount, and the ConfigMap is a configuration latchkey
accepts in production (checked by `latchkey config show` with the
ConfigMap's variables and throwaway secret files).

    k8s_consistency.py DIR LATCHKEY_BINARY
"""

import os
import secrets
import subprocess
import sys
import tempfile

import yaml


def fail(msg):
    print(f"k8s_consistency: {msg}", file=sys.stderr)
    sys.exit(1)


def main():
    directory, binary = sys.argv[1], sys.argv[2]
    docs = []
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(directory, name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    for kind in ["Deployment", "Service", "PodDisruptionBudget", "ConfigMap", "Secret", "Job",
                 "ServiceMonitor"]:
        if kind not in by_kind:
            fail(f"no {kind}")
    deployment = by_kind["Deployment"][0]
    service = by_kind["Service"][0]
    config_map = by_kind["ConfigMap"][0]
    secret = by_kind["Secret"][0]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector, labels, what):
        if not all(labels.get(k) == v for k, v in selector.items()):
            fail(f"{what} selector {selector} does not match labels {labels}")

    if deployment["spec"]["replicas"] < 2:
        fail("the Deployment runs fewer than 2 replicas")
    selects(deployment["spec"]["selector"]["matchLabels"], pod_labels, "Deployment")
    selects(service["spec"]["selector"], pod_labels, "Service")
    selects(by_kind["PodDisruptionBudget"][0]["spec"]["selector"]["matchLabels"], pod_labels, "PDB")
    monitor = by_kind["ServiceMonitor"][0]
    selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"],
            "ServiceMonitor")
    service_ports = {p["name"] for p in service["spec"]["ports"]}
    for e in monitor["spec"]["endpoints"]:
        if e["port"] not in service_ports:
            fail(f"ServiceMonitor scrapes port {e['port']}, the Service has {service_ports}")

    secret_keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for workload in [deployment] + by_kind["Job"]:
        pod = workload["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem") or sc.get("allowPrivilegeEscalation", True):
                fail(f"{workload['kind']} container {c['name']}: root file system not read-only")
            refs = [r["configMapRef"]["name"] for r in c.get("envFrom", []) if "configMapRef" in r]
            if config_map["metadata"]["name"] not in refs:
                fail(f"{workload['kind']} does not read the ConfigMap")
            mounts = {m["mountPath"]: volumes[m["name"]]
                      for m in c.get("volumeMounts", [])}
            for var, path in config_map["data"].items():
                if not var.endswith("_FILE") or var == "LATCHKEY_MAIL_SMTP_CA_FILE":
                    continue
                directory_, key = os.path.split(path)
                volume = mounts.get(directory_)
                if not volume or volume.get("secret", {}).get("secretName") != secret["metadata"]["name"]:
                    fail(f"{var}={path}: {directory_} is not the Secret mounted in {workload['kind']}")
                if key not in secret_keys:
                    fail(f"{var}={path}: the Secret has no key {key}")

    # The ConfigMap is a configuration latchkey accepts in production.
    with tempfile.TemporaryDirectory() as tmp:
        values = {
            "master_key": secrets.token_hex(32),
            "database_url": f"postgres://latchkey:{secrets.token_hex(12)}@postgres:5432/latchkey",
            "redis_url": f"redis://:{secrets.token_hex(12)}@redis:6379/0",
            "smtp_password": secrets.token_hex(12),
        }
        if set(values) != secret_keys:
            fail(f"the check knows secret keys {sorted(values)}, the Secret has {sorted(secret_keys)}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_")}
        for var, value in config_map["data"].items():
            if var.endswith("_FILE") and var != "LATCHKEY_MAIL_SMTP_CA_FILE":
                key = os.path.basename(value)
                value = os.path.join(tmp, key)
                with open(value, "w") as f:
                    f.write(values[key] + "\n")
            env[var] = value
        env["LATCHKEY_DATA_DIR"] = tmp
        out = subprocess.run([binary, "config", "show"], env=env, cwd=tmp, capture_output=True,
                             text=True)
        if out.returncode != 0:
            fail(f"latchkey refuses the ConfigMap:\n{out.stderr}")
        for v in values.values():
            if v in out.stdout:
                fail("config show printed a secret")
    print(f"k8s_consistency: ok ({len(docs)} resources fit together; the ConfigMap passes "
          "`latchkey config show` in production)")


if __name__ == "__main__":
    main()
