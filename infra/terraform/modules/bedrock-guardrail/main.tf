# An Amazon Bedrock Guardrail for the gateway's customer-facing roles (kong.yaml bedrock-proxy roles[].
# bedrock_guardrail, rendered by deploy/render_config.py): denied topics for e-commerce abuse, which the
# gateway's regex detector (ecommerce-guardrails `abuse`) catches only in part, the prompt-attack filter, and
# card data and AWS keys in what the gateway does not scan. Plus a numbered version for the gateway to name:
# DRAFT changes with every edit, a version does not.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  topics_file = coalesce(var.denied_topics_file, "${path.module}/denied-topics.yaml")
  topics      = yamldecode(file(local.topics_file)).topics

  standard    = var.tier == "STANDARD"
  arn_prefix  = "arn:${data.aws_partition.current.partition}:bedrock"
  account     = data.aws_caller_identity.current.account_id
  profile     = "guardrail-profile/${var.guardrail_profile_id}"
  profile_arn = "${local.arn_prefix}:${var.region}:${local.account}:${local.profile}"
  # ApplyGuardrail through a profile is authorized on the profile in every destination region (AWS's
  # "Permissions for using cross-Region inference with Amazon Bedrock Guardrails").
  profile_arns = [for r in var.guardrail_profile_regions : "${local.arn_prefix}:${r}:${local.account}:${local.profile}"]
}

resource "aws_bedrock_guardrail" "this" {
  region                    = var.region
  name                      = var.name
  description               = var.description
  blocked_input_messaging   = var.blocked_input_messaging
  blocked_outputs_messaging = var.blocked_outputs_messaging
  kms_key_arn               = var.kms_key_arn
  tags                      = var.tags

  # STANDARD runs through a system guardrail profile: Bedrock may evaluate in any of its destination regions.
  dynamic "cross_region_config" {
    for_each = local.standard ? [local.profile_arn] : []
    content {
      guardrail_profile_identifier = cross_region_config.value
    }
  }

  topic_policy_config {
    dynamic "topics_config" {
      for_each = local.topics
      content {
        name       = topics_config.value.name
        definition = topics_config.value.definition
        examples   = topics_config.value.examples
        type       = "DENY"
      }
    }
    tier_config {
      tier_name = var.tier
    }
  }

  content_policy_config {
    dynamic "filters_config" {
      for_each = var.content_filters
      content {
        type            = filters_config.key
        input_strength  = filters_config.value.input_strength
        output_strength = filters_config.value.output_strength
      }
    }
    tier_config {
      tier_name = var.tier
    }
  }

  dynamic "sensitive_information_policy_config" {
    for_each = length(var.pii_entities) > 0 ? [var.pii_entities] : []
    content {
      dynamic "pii_entities_config" {
        for_each = sensitive_information_policy_config.value
        content {
          type   = pii_entities_config.key
          action = pii_entities_config.value
        }
      }
    }
  }

  lifecycle {
    # The topics file is checked here (a variable's validation cannot read a file): Bedrock's limits, and the
    # two this project adds (examples and a not_covered note on every topic).
    precondition {
      condition     = length(local.topics) >= 1 && length(local.topics) <= 30
      error_message = "${local.topics_file}: a guardrail takes 1 to 30 denied topics."
    }
    precondition {
      condition     = alltrue([for t in local.topics : can(regex("^[0-9A-Za-z_ !?.-]{1,100}$", t.name))])
      error_message = "${local.topics_file}: a topic name is 1 to 100 letters, digits, spaces or -_!?. characters."
    }
    precondition {
      condition     = length(distinct([for t in local.topics : lower(t.name)])) == length(local.topics)
      error_message = "${local.topics_file}: topic names must be unique."
    }
    precondition {
      condition     = alltrue([for t in local.topics : length(t.definition) >= 1 && length(t.definition) <= 200])
      error_message = "${local.topics_file}: a definition is 1 to 200 characters (CLASSIC's limit)."
    }
    precondition {
      condition = alltrue([for t in local.topics : length(t.examples) >= 1 && length(t.examples) <= 5 &&
      alltrue([for e in t.examples : length(e) >= 1 && length(e) <= 100])])
      error_message = "${local.topics_file}: a topic has 1 to 5 examples of 1 to 100 characters each."
    }
    precondition {
      condition     = alltrue([for t in local.topics : length(trimspace(try(t.not_covered, ""))) > 0])
      error_message = "${local.topics_file}: say what each topic does not cover (not_covered)."
    }
    precondition {
      condition     = !local.standard || contains(var.guardrail_profile_regions, var.region)
      error_message = "STANDARD: guardrail_profile_regions lists the profile's destinations, var.region among them."
    }
  }
}

# A snapshot of the DRAFT above, for the gateway's roles to name. Any change to the guardrail publishes a new
# one (replace_triggered_by); the old one stays (skip_destroy) so pods still on it keep working until the
# rendered kong.yml names the new one. Delete old versions by hand: Bedrock caps the versions per guardrail.
resource "aws_bedrock_guardrail_version" "this" {
  region        = var.region
  guardrail_arn = aws_bedrock_guardrail.this.guardrail_arn
  description   = "Published by Terraform (${var.name})"
  skip_destroy  = true

  lifecycle {
    replace_triggered_by = [aws_bedrock_guardrail.this]
  }
}
