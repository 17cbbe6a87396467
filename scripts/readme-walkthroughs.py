#!/usr/bin/env python3
"""Runs the README's cluster walkthroughs exactly as written, against a real API server.

    python3 scripts/readme-walkthroughs.py        (CI: .ci/run; needs cargo, kubectl, curl)

Every fenced block of the sections below is taken from README.md itself and run with bash (a
`yaml` block is applied with `kubectl apply -f -`), in the order a new cluster admin follows
them, then the outcome the README promises is checked. Two paths, each on a fresh API server
(scripts/envtest.sh: kube-apiserver v1.20, no kubelet):

  local:    "Running it"
  cluster:  "Install with Helm" -> "Configure an integration" -> "Turn it on" (SCIM)
            -> "GitOps" -> "Upgrade and uninstall"

The only changes made to what the README says are the SUBSTITUTIONS below (each must still
match, so a stale one fails too), plus: commands run in a copy of the repository's examples/
whose DirectoryIntegrations point `spec.lastpass.endpoint` at a LastPass simulator
(`lastpass-operator simulator`, cid 12345678), `lastpass-operator` and `helm` are on PATH, and
$PROVHASH is the simulator's provisioning hash. A block added to or removed from a section
without this script knowing fails the run: README and product cannot drift apart silently.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CID = "12345678"
PROVHASH = "walkthrough-provhash"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SIM_PORT, METRICS_PORT, SCIM_PORT = free_port(), free_port(), free_port()
SIM_URL = f"http://127.0.0.1:{SIM_PORT}/enterpriseapi.php"
RUN_FLAGS = f"--metrics-addr 127.0.0.1:{METRICS_PORT} --scim-addr 127.0.0.1:{SCIM_PORT}"

# (section, text as the README has it, what is run instead, why). Each must match.
SUBSTITUTIONS = [
    ("Running it", "lastpass-operator crds | kubectl apply -f -",
     "lastpass-operator crds --without-cel | kubectl apply -f -",
     "the test server is Kubernetes 1.20 (no CEL), the case the README's own comment names"),
    ("Running it", "lastpass-operator run --namespace identity ",
     f"lastpass-operator run --namespace identity {RUN_FLAGS} >run.log 2>&1 & echo $! >run.pid #",
     "`run` serves until stopped: started in the background, on free ports"),
    ("Install with Helm", "kubectl apply --server-side -f crds/ ",
     "lastpass-operator crds --without-cel | kubectl apply --server-side -f - #",
     "Kubernetes 1.20 refuses the CRDs' CEL rules (x-kubernetes-validations)"),
    ("Install with Helm", "--namespace lastpass-operator --create-namespace",
     "--namespace lastpass-operator --create-namespace --skip-crds",
     "Kubernetes 1.20: Helm would apply the chart's crds/ with their CEL rules; they were "
     "applied without them on the line before"),
    ("Install with Helm", "kubectl -n lastpass-operator rollout status deployment/lastpass-operator",
     "kubectl -n lastpass-operator get deployment/lastpass-operator",
     "no kubelet: the pods never start (the Deployment is checked instead)"),
    ("Install with Helm", "kubectl -n lastpass-operator get lease lastpass-operator ",
     "true #",
     "no pods, so no leader yet; the Lease is checked by scripts/e2e.sh"),
    ("Configure an integration", "--from-literal=cid=<account number> --from-literal=provhash=<provisioning hash>",
     f"--from-literal=cid={CID} --from-literal=provhash={PROVHASH}",
     "placeholders: the simulator's account"),
    ("Turn it on", "lastpass: {credentialsSecretRef: {name: lastpass-api}}",
     f"lastpass: {{endpoint: \"{SIM_URL}\", credentialsSecretRef: {{name: lastpass-api}}}}",
     "the LastPass endpoint: the simulator"),
    ("Upgrade and uninstall", "kubectl apply --server-side -f crds/ ",
     "lastpass-operator crds --without-cel | kubectl apply --server-side -f - #",
     "Kubernetes 1.20 refuses the CRDs' CEL rules"),
]

# Blocks per section (language, count): a change to the README's blocks must be reflected here.
SECTIONS = {
    "Running it": ["sh"],
    "Install with Helm": ["sh"],
    "Configure an integration": ["sh"],
    "Turn it on": ["yaml", "sh"],
    "GitOps": ["sh"],
    "Upgrade and uninstall": ["sh"],
}


def log(msg):
    print(f"[readme] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"FAILED: {msg}")
    sys.exit(1)


def sections():
    """Fenced blocks of README.md by heading (### or ##), with their languages."""
    out, heading, block, lang = {}, None, None, None
    for line in (ROOT / "README.md").read_text().splitlines(keepends=True):
        m = re.match(r"^#{2,3} (.+?)\s*$", line)
        if block is None and m:
            heading = m.group(1)
            continue
        fence = re.match(r"^\s*```(\w*)\s*$", line)
        if fence and block is None:
            block, lang = [], fence.group(1)
        elif fence and block is not None:
            indent = min((len(l) - len(l.lstrip()) for l in block if l.strip()), default=0)
            text = "".join(l[indent:] if l.strip() else l for l in block)
            out.setdefault(heading, []).append((lang, text))
            block = None
        elif block is not None:
            block.append(line)
    return out


def substitute(section, text, used):
    for i, (sec, old, new, _) in enumerate(SUBSTITUTIONS):
        if sec == section and old in text:
            text = text.replace(old, new)
            used.add(i)
    return text


class Env:
    def __init__(self, work):
        self.work = work
        helm = subprocess.run(["bash", "scripts/helm.sh", "install"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
        self.env = dict(os.environ)
        self.env["PATH"] = f"{ROOT / 'target/debug'}:{Path(helm).parent}:{self.env['PATH']}"
        self.env["PROVHASH"] = PROVHASH
        self.server = None

    def start_server(self, name):
        d = self.work / f"envtest-{name}"
        subprocess.run(["bash", "scripts/envtest.sh", "start", str(d)], cwd=ROOT, check=True,
                       capture_output=True)
        self.server = d
        self.env["KUBECONFIG"] = str(d / "kubeconfig")

    def stop_server(self):
        if self.server:
            subprocess.run(["bash", "scripts/envtest.sh", "stop", str(self.server)], cwd=ROOT,
                           capture_output=True)
            self.server = None

    def sh(self, script, check=True):
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=self.work,
                           env=self.env, capture_output=True, text=True)
        if check and r.returncode != 0:
            fail(f"command failed ({r.returncode}):\n{script}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}")
        return r

    def kubectl_json(self, *args):
        r = self.sh("kubectl " + " ".join(args) + " -o json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait(self, what, probe, limit=90):
        end = time.time() + limit
        while time.time() < end:
            got = probe()
            if got:
                return got
            time.sleep(1)
        log_tail = (self.work / "run.log").read_text()[-3000:] if (self.work / "run.log").exists() else ""
        fail(f"{what} (after {limit} s)\n{log_tail}")

    def stop_run(self):
        pid = self.work / "run.pid"
        if pid.exists():
            self.sh(f"kill $(cat run.pid) 2>/dev/null; while kill -0 $(cat run.pid) 2>/dev/null; do sleep 0.2; done; rm -f run.pid", check=False)


def condition(obj, type_):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return None


def run_section(env, section, blocks, used, before=None):
    """Runs a section's blocks; `before[i]()` first waits for what a reader waits for before
    block i (the README says what the operator does in between)."""
    want = SECTIONS[section]
    got = [lang for lang, _ in blocks]
    if got != want:
        fail(f"README section {section!r} has blocks {got}, this script knows {want}: update both")
    outputs = []
    for i, (lang, text) in enumerate(blocks):
        if before and i in before:
            before[i]()
        text = substitute(section, text, used)
        log(f"{section}: running the README's {lang} block")
        if lang == "yaml":
            path = env.work / "block.yaml"
            path.write_text(text)
            outputs.append(env.sh("kubectl apply -f block.yaml").stdout)
        else:
            outputs.append(env.sh(text).stdout)
    return outputs


def simulator_calls():
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{SIM_PORT}/__admin/calls") as r:
        return [c["command"] for c in json.load(r)]


def main():
    subprocess.run(["cargo", "build", "-q", "--locked"], cwd=ROOT, check=True)
    readme = sections()
    for s in SECTIONS:
        if s not in readme:
            fail(f"README has no section {s!r} with a command block")
    work = Path(tempfile.mkdtemp(prefix="lpo-readme."))
    # The examples, pointed at the simulator; the rest of the repository as it is.
    shutil.copytree(ROOT / "examples", work / "examples")
    for f in (work / "examples").rglob("*.yaml"):
        text = re.sub(r"^(\s+)endpoint: https://lastpass.com/enterpriseapi.php",
                      rf"\1endpoint: {SIM_URL}", f.read_text(), flags=re.M)
        text = re.sub(r"^  lastpass:\n(?!    endpoint:)", f"  lastpass:\n    endpoint: {SIM_URL}\n",
                      text, flags=re.M)
        f.write_text(text)
    for d in ["crds", "charts", "argocd"]:
        (work / d).symlink_to(ROOT / d)
    (work / "provhash").write_text(PROVHASH + "\n")
    sim = subprocess.Popen([str(ROOT / "target/debug/lastpass-operator"), "simulator", "--listen",
                            f"127.0.0.1:{SIM_PORT}", "--cid", CID, "--provhash-file",
                            str(work / "provhash")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = Env(work)
    used = set()
    try:
        # ---- path 1: a local run
        env.start_server("local")
        run_section(env, "Running it", readme["Running it"], used)
        env.wait("Running it: acme never became Ready with valid credentials", lambda: (
            (i := env.kubectl_json("-n identity get lpdi acme"))
            and (condition(i, "CredentialsValid") or {}).get("status") == "True"
            and (condition(i, "Ready") or {}).get("status") == "True"))
        log("Running it: acme is Ready, the credentials Secret was not overwritten")
        env.stop_run()
        env.stop_server()

        # ---- path 2: in a cluster
        env.start_server("cluster")
        run_section(env, "Install with Helm", readme["Install with Helm"], used)
        dep = env.kubectl_json("-n lastpass-operator get deployment lastpass-operator")
        if not dep or dep["spec"]["replicas"] != 2:
            fail("Install with Helm: no Deployment lastpass-operator with two replicas")
        if not env.kubectl_json("-n identity get role"):
            fail("Install with Helm: no Role for Secrets in identity (rbac.secrets.namespaces)")
        log("Install with Helm: Deployment (2 replicas) and the Secret Role in identity exist")
        # No kubelet: the chart's pods are stood in for by `run` on this host.
        env.sh(f"lastpass-operator run {RUN_FLAGS} --secret-namespace identity "
               ">run.log 2>&1 & echo $! >run.pid")

        run_section(env, "Configure an integration", readme["Configure an integration"], used)
        env.wait("Configure an integration: no plan in status.plan of acme-preview", lambda: (
            (i := env.kubectl_json("-n identity get lpdi acme-preview"))
            and (i.get("status") or {}).get("plan") is not None))
        env.wait("Configure an integration: no DryRunPlan Event", lambda: any(
            e["reason"] == "DryRunPlan" and e["involvedObject"]["name"] == "acme-preview"
            for e in (env.kubectl_json("-n identity get events") or {}).get("items", [])))
        described = env.sh("kubectl -n identity describe lpdi acme-preview").stdout
        if "DryRunPlan" not in described:
            fail("Configure an integration: describe shows no DryRunPlan Event")
        log("Configure an integration: the plan is in status and in an Event")

        token_ready = lambda: env.wait("Turn it on: TokenReady never became True", lambda: (
            (condition(env.kubectl_json("-n identity get lpdi acme"), "TokenReady") or {})
            .get("status") == "True"))
        out = run_section(env, "Turn it on", readme["Turn it on"], used, before={1: token_ready})
        token = out[1].strip()
        if not token:
            fail("Turn it on: the README's command printed no token")
        r = env.sh(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Authorization: Bearer {token}' "
                   f"http://127.0.0.1:{SCIM_PORT}/scim/v2/identity/acme/Users")
        if r.stdout != "200":
            fail(f"Turn it on: the SCIM endpoint answered {r.stdout} to the minted token")
        log("Turn it on: the token read as the README says opens the SCIM endpoint (200)")

        env.sh("kubectl create namespace argocd && kubectl -n argocd create configmap argocd-cm")
        run_section(env, "GitOps", readme["GitOps"], used)
        cm = env.kubectl_json("-n argocd get configmap argocd-cm")
        script = (ROOT / "argocd/health.lua").read_text()
        for kind in ["LastPassUser", "LastPassGroup", "DirectoryIntegration"]:
            key = f"resource.customizations.health.lastpass-operator.io_{kind}"
            if cm["data"].get(key) != script:
                fail(f"GitOps: argocd-cm has no {key} equal to argocd/health.lua")
        log("GitOps: argocd-cm carries the health check for the three kinds")

        env.stop_run()
        before = simulator_calls()
        run_section(env, "Upgrade and uninstall", readme["Upgrade and uninstall"], used)
        if env.kubectl_json("-n lastpass-operator get deployment lastpass-operator"):
            fail("Upgrade and uninstall: the Deployment is still there")
        if not env.kubectl_json("-n identity get lpdi acme"):
            fail("Upgrade and uninstall: the resources did not stay")
        destructive = [c for c in simulator_calls()[len(before):] if c in ("deluser", "disableuser")]
        if destructive:
            fail(f"Upgrade and uninstall: LastPass saw {destructive}")
        log("Upgrade and uninstall: upgraded, uninstalled, resources and CRDs stay, nobody deprovisioned")
    finally:
        env.stop_run()
        env.stop_server()
        sim.terminate()
        shutil.rmtree(work, ignore_errors=True)
    stale = [SUBSTITUTIONS[i][1] for i in range(len(SUBSTITUTIONS)) if i not in used]
    if stale:
        fail(f"substitutions that no longer match the README: {stale}")
    log(f"passed: {sum(len(v) for v in SECTIONS.values())} README blocks, {len(SUBSTITUTIONS)} substitutions")


if __name__ == "__main__":
    main()
