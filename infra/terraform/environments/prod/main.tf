data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  tags = {
    Project     = "kong-bedrock-gateway"
    Environment = var.environment
    ManagedBy   = "terraform"
  }

  arn     = "arn:${data.aws_partition.current.partition}"
  account = data.aws_caller_identity.current.account_id

  # Inference profiles are called in bedrock_region; a profile "<geo>.<model>" routes to
  # <model> in each destination region, and IAM checks that foundation model there too.
  inference_profile_arns = [
    for id in var.inference_profile_ids : "${local.arn}:bedrock:${var.bedrock_region}:${local.account}:inference-profile/${id}"
  ]
  profile_model_arns = flatten([
    for id in var.inference_profile_ids : [
      for r in var.profile_destination_regions : "${local.arn}:bedrock:${r}::foundation-model/${replace(id, "/^[a-z]+\\./", "")}"
    ]
  ])
  direct_model_arns = concat([
    for id in var.foundation_model_ids : "${local.arn}:bedrock:${var.bedrock_region}::foundation-model/${id}"
    ], flatten([
      for region, ids in var.regional_foundation_model_ids : [
        for id in ids : "${local.arn}:bedrock:${region}::foundation-model/${id}"
      ]
  ]))
  mantle_project_arns = [
    for p in var.mantle_project_ids : "${local.arn}:bedrock-mantle:${var.bedrock_region}:${local.account}:project/${p}"
  ]

  # The e-commerce abuse guardrail (none when disabled): the gateway's role applies it, through its profile on
  # the STANDARD tier, and decrypts it with its KMS key if it has one.
  bedrock_guardrail_arns         = flatten(module.bedrock_guardrail[*].apply_guardrail_arns)
  bedrock_guardrail_kms_key_arns = flatten(module.bedrock_guardrail[*].kms_key_arns)
}

module "observability" {
  source = "../../modules/observability"

  name               = var.name
  metric_namespace   = var.metric_namespace
  log_retention_days = var.log_retention_days
  tags               = local.tags
}

module "vpc" {
  source = "../../modules/vpc"

  name                    = var.name
  cidr                    = var.vpc_cidr
  azs                     = var.azs
  single_nat_gateway      = var.single_nat_gateway
  cluster_name            = var.name
  flow_log_retention_days = var.log_retention_days
  flow_log_kms_key_arn    = module.observability.logs_kms_key_arn
  tags                    = local.tags
}

module "eks" {
  source = "../../modules/eks"

  cluster_name                 = var.name
  kubernetes_version           = var.kubernetes_version
  vpc_id                       = module.vpc.vpc_id
  subnet_ids                   = module.vpc.private_subnet_ids
  endpoint_public_access_cidrs = var.cluster_endpoint_public_access_cidrs
  node_instance_types          = var.node_instance_types
  node_min_size                = var.node_min_size
  node_max_size                = var.node_max_size
  node_desired_size            = var.node_desired_size
  node_disk_size_gb            = var.node_disk_size_gb
  log_retention_days           = var.log_retention_days
  log_kms_key_arn              = module.observability.logs_kms_key_arn
  deletion_protection          = var.deletion_protection
  tags                         = local.tags
}

# The AWS Load Balancer Controller's IRSA role: the controller (make eks/lb-controller) turns Kong's proxy Service
# into an NLB. Without it the Service stays <pending> and the gateway serves nothing.
module "lb_controller_irsa" {
  source = "../../modules/lb-controller-irsa"

  role_name         = "${var.name}-lb-controller"
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_provider     = module.eks.oidc_provider
  tags              = local.tags
}

# Amazon Bedrock Guardrail for the customer-facing roles (deploy/render_config.py BEDROCK_GUARDRAIL_ID and
# _VERSION from this environment's bedrock_guardrail_arn and bedrock_guardrail_version outputs). In the Bedrock
# region: Bedrock applies a guardrail only where it lives. See docs/runbooks/bedrock-guardrail.md.
module "bedrock_guardrail" {
  source = "../../modules/bedrock-guardrail"
  count  = var.enable_bedrock_guardrail ? 1 : 0

  name                      = "${var.name}-abuse"
  region                    = var.bedrock_region
  tier                      = var.bedrock_guardrail_tier
  guardrail_profile_id      = var.bedrock_guardrail_profile_id
  guardrail_profile_regions = var.bedrock_guardrail_profile_regions
  kms_key_arn               = var.bedrock_guardrail_kms_key_arn
  tags                      = local.tags
}

module "bedrock_irsa" {
  source = "../../modules/bedrock-irsa"

  role_name              = "${var.name}-bedrock-irsa"
  oidc_provider_arn      = module.eks.oidc_provider_arn
  oidc_provider          = module.eks.oidc_provider
  namespace              = var.kong_namespace
  service_account        = var.kong_service_account
  foundation_model_arns  = concat(local.profile_model_arns, local.direct_model_arns)
  inference_profile_arns = local.inference_profile_arns
  mantle_model_ids       = var.mantle_model_ids
  mantle_project_arns    = local.mantle_project_arns
  guardrail_arns         = distinct(concat(var.guardrail_arns, local.bedrock_guardrail_arns))
  guardrail_kms_key_arns = distinct(concat(var.guardrail_kms_key_arns, local.bedrock_guardrail_kms_key_arns))
  tags                   = local.tags

  application_inference_profile_arns = var.application_inference_profile_arns
}

# token-meter's CloudWatch exporter runs under the same service account.
resource "aws_iam_role_policy_attachment" "put_metric_data" {
  role       = module.bedrock_irsa.role_name
  policy_arn = module.observability.put_metric_data_policy_arn
}
