"""The EKS path serves traffic: the AWS Load Balancer Controller that turns Kong's proxy Service into an NLB (its
IRSA role in Terraform, its pinned chart in make eks/lb-controller), TLS on 443 (an ACM certificate at the NLB, or
Kong's own), and a VPC CNI that enforces helm/manifests/networkpolicy.yaml. Static: no cluster, helm or terraform."""

import hashlib
import json
import os
import re
import shlex
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_helm import CHART_VALUES_FILE, VALUES, coalesced, make_dry_run
from tests.deploy.test_terraform import _load_hcl, as_list, policy_statements

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = ROOT / "infra" / "terraform"
LBC_DIR = TF_ROOT / "modules" / "lb-controller-irsa"
LBC_CHART_DIR = Path(__file__).parent / "aws-load-balancer-controller-3.5.0"
ACM_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"

UPSTREAM_POLICY_BLOBS = {"v3.5.0": "761d0e733c41089c91ea009dd29faf71918085e5"}
"""git blob id of docs/install/iam_policy.json at each kubernetes-sigs/aws-load-balancer-controller tag."""
CHART_VALUES_BLOB = "9b0db7937a77b927e1a82e939d6c53e495ed0ae3"
"""git blob id of eks-charts' stable/aws-load-balancer-controller/values.yaml at chart 3.5.0 (commit 5239609)."""


def git_blob(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def hcl(directory: Path) -> dict[str, list]:
    """Every block of a directory's .tf files, by kind."""
    merged: dict[str, list] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, entries in _load_hcl(path.read_text()).items():
            merged.setdefault(kind, []).extend(as_list(entries))
    return merged


def labelled(directory: Path, kind: str) -> dict[str, dict]:
    return {name: body for entry in hcl(directory).get(kind, []) for name, body in entry.items()}


def make_variable(name: str) -> str:
    return re.search(rf"^{name} \?= (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)


# ------------------------------------------------------------------ the load balancer controller

def test_the_controller_s_role_trusts_only_its_service_account_through_sts():
    resources = hcl(LBC_DIR)["resource"]
    role = next(entry["aws_iam_role"]["this"] for entry in resources if "aws_iam_role" in entry)
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.trust.json}"
    trust = next(e["aws_iam_policy_document"]["trust"] for e in hcl(LBC_DIR)["data"])
    (statement,) = policy_statements(trust)
    assert as_list(statement["actions"]) == ["sts:AssumeRoleWithWebIdentity"]
    assert as_list(statement["principals"])[0]["identifiers"] == ["${var.oidc_provider_arn}"]
    conditions = {c["variable"]: (c["test"], as_list(c["values"])) for c in as_list(statement["condition"])}
    assert conditions == {
        "${var.oidc_provider}:sub": ("StringEquals", ["system:serviceaccount:${var.namespace}:${var.service_account}"]),
        "${var.oidc_provider}:aud": ("StringEquals", ["sts.amazonaws.com"]),
    }


def test_the_controller_s_policy_is_upstream_s_for_the_chart_make_installs():
    """The policy is kubernetes-sigs' own file, byte for byte, at the controller release the pinned chart runs: a
    policy older than the controller refuses calls it makes (no NLB), and nothing here widens it."""
    chart = make_variable("LB_CONTROLLER_CHART_VERSION")
    assert LBC_CHART_DIR.name == f"aws-load-balancer-controller-{chart}"
    assert git_blob(LBC_CHART_DIR / "values.yaml") == CHART_VALUES_BLOB
    controller = yaml.safe_load((LBC_CHART_DIR / "values.yaml").read_text())["image"]["tag"]
    (policy_file,) = LBC_DIR.glob("iam-policy-*.json")
    assert policy_file.name == f"iam-policy-{controller}.json"
    assert git_blob(policy_file) == UPSTREAM_POLICY_BLOBS[controller]
    policy = next(e["aws_iam_policy"]["this"] for e in hcl(LBC_DIR)["resource"] if "aws_iam_policy" in e)
    assert policy["policy"] == '${file("${path.module}/%s")}' % policy_file.name
    attachment = next(e["aws_iam_role_policy_attachment"]["this"] for e in hcl(LBC_DIR)["resource"]
                      if "aws_iam_role_policy_attachment" in e)
    assert attachment == {"role": "${aws_iam_role.this.name}", "policy_arn": "${aws_iam_policy.this.arn}"}
    assert json.loads(policy_file.read_text())["Version"] == "2012-10-17"


def helm_values_output(env: str) -> dict:
    """The lb_controller_helm_values output's yamlencode({...}) object, leaves kept as their expressions."""
    value = labelled(TF_ROOT / "environments" / env, "output")["lb_controller_helm_values"]["value"]
    body = re.fullmatch(r"\$\{yamlencode\((.*)\)\}", value, re.S).group(1)
    return yaml.safe_load(body.replace(" = ", ": "))


def chart_has(chart: dict, path: tuple[str, ...]) -> bool:
    node = chart
    for key in path[:-1]:
        node = node.get(key) or {}
    return path[-1] in node


@pytest.mark.parametrize("env", ["poc", "prod"])
def test_each_environment_creates_the_role_and_the_values_the_chart_needs(env):
    """The nodes' IMDS hop limit is 1, so the controller cannot look up its region and VPC: both come with the
    cluster's name and the role-annotated service account from Terraform, under keys chart 3.5.0 has."""
    directory = TF_ROOT / "environments" / env
    module = labelled(directory, "module")["lb_controller_irsa"]
    assert module["source"] == "../../modules/lb-controller-irsa"
    assert (module["oidc_provider_arn"], module["oidc_provider"]) == (
        "${module.eks.oidc_provider_arn}", "${module.eks.oidc_provider}")
    values = helm_values_output(env)
    assert values == {
        "clusterName": "module.eks.cluster_name", "region": "var.region", "vpcId": "module.vpc.vpc_id",
        "serviceAccount": {"create": True, "name": "module.lb_controller_irsa.service_account",
                           "annotations": {"eks.amazonaws.com/role-arn": "module.lb_controller_irsa.role_arn"}}}
    chart = yaml.safe_load((LBC_CHART_DIR / "values.yaml").read_text())
    for path in (("clusterName",), ("region",), ("vpcId",), ("serviceAccount", "create"),
                 ("serviceAccount", "name"), ("serviceAccount", "annotations")):
        assert chart_has(chart, path), path
    outputs = labelled(directory, "output")
    assert outputs["lb_controller_role_arn"]["value"] == "${module.lb_controller_irsa.role_arn}"


def test_make_installs_the_pinned_chart_with_terraform_s_values_where_the_role_trusts():
    commands = make_dry_run("eks/lb-controller", ENV="prod")
    variables = labelled(LBC_DIR, "variable")
    namespace = variables["namespace"]["default"]
    assert "helm repo add eks https://aws.github.io/eks-charts" in commands
    assert "terraform -chdir=infra/terraform/environments/prod output -raw lb_controller_helm_values" in commands
    install = commands[commands.index("helm upgrade --install aws-load-balancer-controller"):]
    assert "eks/aws-load-balancer-controller" in install and f"-n {namespace} " in install
    assert f"--version {make_variable('LB_CONTROLLER_CHART_VERSION')} " in install and "--wait" in install
    assert variables["service_account"]["default"] == "aws-load-balancer-controller"


@pytest.fixture
def kubectl(tmp_path):
    """A kubectl on PATH that prints $KUBECTL_OUTPUT: the cluster's answer to `get deployments`."""
    stub = tmp_path / "kubectl"
    stub.write_text('#!/bin/sh\nprintf "%s" "$KUBECTL_OUTPUT"\n')
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)

    def preflight(cluster_answer: str, **variables: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "KUBECTL_OUTPUT": cluster_answer}
        return subprocess.run(["make", "eks/preflight", *(f"{k}={v}" for k, v in variables.items())], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=30)
    return preflight


def test_eks_deploy_refuses_a_cluster_without_the_controller_before_applying_anything(kubectl):
    """Without the controller the proxy's address stayed <pending> forever while eks/deploy reported success."""
    missing = kubectl("")
    assert missing.returncode != 0 and "make eks/lb-controller" in missing.stderr
    assert kubectl("deployment.apps/aws-load-balancer-controller\n").returncode == 0
    commands = make_dry_run("eks/deploy", CONSUMERS="c.yaml", REDIS_HOST="redis.internal")
    assert commands.index("app.kubernetes.io/name=aws-load-balancer-controller") < commands.index("render_config")


def test_eks_deploy_refuses_an_acm_certificate_arn_that_is_not_one(kubectl):
    controller = "deployment.apps/aws-load-balancer-controller\n"
    assert kubectl(controller, ACM_CERT_ARN=ACM_ARN).returncode == 0
    for wrong in ("0a1b2c3d-4e5f-6789-abcd-ef0123456789", "arn:aws:iam::123456789012:server-certificate/gw"):
        refused = kubectl(controller, ACM_CERT_ARN=wrong)
        assert refused.returncode != 0 and "ACM_CERT_ARN must be an ACM certificate ARN" in refused.stderr


def test_a_rollout_keeps_new_pods_out_until_the_nlb_finds_them_healthy():
    namespace = yaml.safe_load((ROOT / "helm/manifests/namespace.yaml").read_text())
    assert namespace["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"] == "enabled"
    assert VALUES["proxy"]["annotations"][ANNOTATION + "nlb-target-type"] == "ip"   # gates need ip targets


# ------------------------------------------------------------------ TLS on 443

def helm_set(values: dict, assignment: str, as_string: bool) -> None:
    """One --set / --set-string as Helm applies it: the key split on unescaped dots, --set typing the value."""
    key, value = assignment.split("=", 1)
    assert not re.search(r"(?<!\\),", value), "one assignment per flag here"
    path = [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", key)]
    if not as_string:
        value = {"true": True, "false": False}.get(value, int(value) if value.isdigit() else value)
    node = values
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def deployed_values(**variables: str) -> dict:
    """The values `make eks/deploy` gives chart 2.41.1: its defaults, helm/kong-values.yaml, then the flags."""
    commands = make_dry_run("eks/deploy", CONSUMERS="c.yaml", REDIS_HOST="redis.internal", **variables)
    line = next(line for line in commands.replace("\\\n", " ").splitlines() if "helm upgrade --install kong " in line)
    args = shlex.split(line[line.index("helm upgrade"):])
    overrides: dict = {}
    for flag, assignment in zip(args, args[1:]):
        if flag in ("--set", "--set-string"):
            helm_set(overrides, assignment, flag == "--set-string")
    chart = yaml.safe_load(CHART_VALUES_FILE.read_text())
    return coalesced(coalesced(chart, VALUES), overrides)


def proxy_service_ports(proxy: dict) -> dict[int, int]:
    """Service port -> the pod port it targets, as chart 2.41.1's kong.service template renders them."""
    ports = {}
    if proxy["http"]["enabled"] and str(proxy["http"]["servicePort"]) != "0":
        ports[proxy["http"]["servicePort"]] = proxy["http"]["containerPort"]
    tls = proxy["tls"]
    if tls["enabled"]:
        ports[tls["servicePort"]] = tls.get("overrideServiceTargetPort") or tls["containerPort"]
    return ports


def open_to_anyone() -> set[int]:
    policy = yaml.safe_load((ROOT / "helm/manifests/networkpolicy.yaml").read_text())
    return {port["port"] for rule in policy["spec"]["ingress"] if "from" not in rule for port in rule["ports"]}


def test_an_acm_certificate_ends_tls_at_the_nlb_and_443_reaches_kong_s_plain_listener():
    """https clients following docs/curl-examples.md failed on Kong's self-signed certificate: nothing gave 443 a
    real one. With ACM_CERT_ARN the NLB's 443 is a TLS listener with it, and forwards plain TCP to Kong's 8000."""
    proxy = deployed_values(ACM_CERT_ARN=ACM_ARN)["proxy"]
    annotations = proxy["annotations"]
    assert annotations[ANNOTATION + "ssl-cert"] == ACM_ARN
    assert (annotations[ANNOTATION + "ssl-ports"], annotations[ANNOTATION + "backend-protocol"]) == ("443", "tcp")
    assert annotations[ANNOTATION + "ssl-negotiation-policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"   # no TLS 1.0
    assert annotations[ANNOTATION + "type"] == "external" and annotations[ANNOTATION + "scheme"] == "internal"
    assert proxy_service_ports(proxy) == {80: 8000, 443: 8000}
    assert set(proxy_service_ports(proxy).values()) <= open_to_anyone()


def test_without_a_certificate_443_passes_through_to_kong_s_own_tls():
    proxy = deployed_values()["proxy"]
    assert not any(key.startswith(ANNOTATION + "ssl") for key in proxy["annotations"])
    assert proxy_service_ports(proxy) == {80: 8000, 443: 8443}
    assert set(proxy_service_ports(proxy).values()) <= open_to_anyone()


# ------------------------------------------------------------------ NetworkPolicy enforcement

def test_the_vpc_cni_enforces_network_policies():
    """The VPC CNI add-on accepts NetworkPolicy objects and enforces none unless enableNetworkPolicy is "true":
    helm/manifests/networkpolicy.yaml kept nothing out."""
    eks = labelled(TF_ROOT / "modules" / "eks", "module")["eks"]
    cni = eks["addons"]["vpc-cni"]
    assert cni["before_compute"] is True
    encoded = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", cni["configuration_values"], re.S).group(1)
    assert yaml.safe_load(encoded.replace(" = ", ": ")) == {"enableNetworkPolicy": "true"}


def test_the_terraform_readme_quotes_the_abuse_detector_s_current_recall():
    """infra/terraform/README.md said the detector finds 6-14% (the phrase families alone, before the scored
    intent reading); README.md measures 31-43%."""
    measured = re.search(r"They find (\d+-\d+)% of such prompts", (ROOT / "README.md").read_text()).group(1)
    terraform_readme = (TF_ROOT / "README.md").read_text()
    quoted = re.search(r"`abuse` detector[^.]*?finds (\d+-\d+)%", terraform_readme, re.S)
    assert quoted and quoted.group(1) == measured
