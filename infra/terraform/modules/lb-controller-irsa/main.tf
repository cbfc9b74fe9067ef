# IRSA role of the AWS Load Balancer Controller (make eks/lb-controller installs its chart). The controller turns
# Kong's proxy Service (helm/kong-values.yaml: aws-load-balancer-type external) into an NLB; EKS alone does not.

# Trust: only the controller's service account, through this cluster's OIDC provider, for STS.
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "LoadBalancerControllerServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "AWS Load Balancer Controller (IRSA: ${var.namespace}/${var.service_account})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

# The controller's own policy, verbatim from kubernetes-sigs/aws-load-balancer-controller at the release the chart
# runs (docs/install/iam_policy.json, tag in the file name): its writes are limited to resources tagged
# elbv2.k8s.aws/cluster. Bump it with LB_CONTROLLER_CHART_VERSION in the Makefile; tests/deploy checks the pair.
resource "aws_iam_policy" "this" {
  name        = "${var.role_name}-policy"
  description = "AWS Load Balancer Controller v3.5.0 (upstream docs/install/iam_policy.json)"
  policy      = file("${path.module}/iam-policy-v3.5.0.json")
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}
