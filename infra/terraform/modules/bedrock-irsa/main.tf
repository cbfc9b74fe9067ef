# Trust: only Kong's service account, through this cluster's OIDC provider, for STS.
data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "KongServiceAccount"
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

# Permissions: the catalogue's models and nothing else.
data "aws_iam_policy_document" "bedrock" {
  statement {
    sid       = "InvokeCatalogueModels"
    effect    = "Allow"
    actions   = var.bedrock_actions
    resources = concat(var.foundation_model_arns, var.inference_profile_arns, var.application_inference_profile_arns)
  }

  dynamic "statement" {
    for_each = length(var.mantle_model_ids) > 0 ? [1] : []

    content {
      sid       = "InvokeMantleModels"
      effect    = "Allow"
      actions   = var.mantle_actions
      resources = var.mantle_project_arns

      condition {
        test     = "StringEquals"
        variable = "bedrock-mantle:Model"
        values   = var.mantle_model_ids
      }
    }
  }

  # Roles with a bedrock_guardrail in kong.yaml: Bedrock applies the guardrail as the caller.
  dynamic "statement" {
    for_each = length(var.guardrail_arns) > 0 ? [1] : []

    content {
      sid       = "ApplyRoleGuardrails"
      effect    = "Allow"
      actions   = ["bedrock:ApplyGuardrail"]
      resources = var.guardrail_arns
    }
  }

  # A guardrail encrypted with a customer managed key: applying it decrypts it as the caller.
  dynamic "statement" {
    for_each = length(var.guardrail_kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "DecryptRoleGuardrails"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = var.guardrail_kms_key_arns
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "Kong Bedrock gateway (IRSA: ${var.namespace}/${var.service_account})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_policy" "bedrock" {
  name        = "${var.role_name}-bedrock"
  description = "Bedrock invoke on the gateway catalogue's models only"
  policy      = data.aws_iam_policy_document.bedrock.json
  tags        = var.tags

  lifecycle {
    precondition {
      condition     = length(var.mantle_model_ids) == 0 || length(var.mantle_project_arns) > 0
      error_message = "mantle_model_ids needs at least one mantle_project_arns entry."
    }
  }
}

resource "aws_iam_role_policy_attachment" "bedrock" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.bedrock.arn
}
