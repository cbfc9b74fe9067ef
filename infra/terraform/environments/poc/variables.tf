variable "environment" {
  description = "Environment name (tags)."
  type        = string
  default     = "poc"
}

variable "name" {
  description = "Name prefix of every resource; also the EKS cluster name."
  type        = string
  default     = "kong-bedrock-poc"
}

variable "region" {
  description = "Region of the VPC and EKS cluster."
  type        = string
  default     = "us-east-1"
}

variable "vpc_cidr" {
  description = "VPC CIDR block."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Availability zones (must belong to var.region)."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b"]
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway: cheap, but egress (and so Bedrock) depends on one AZ."
  type        = bool
  default     = true
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.34"
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs (operators, CI runners) allowed to reach the public EKS API endpoint. No default: set it in terraform.tfvars or TF_VAR_cluster_endpoint_public_access_cidrs."
  type        = list(string)
}

variable "node_instance_types" {
  description = "Managed node group instance types."
  type        = list(string)
  default     = ["t3.large"]
}

variable "node_min_size" {
  description = "Minimum nodes."
  type        = number
  default     = 1
}

variable "node_max_size" {
  description = "Maximum nodes."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Nodes at creation."
  type        = number
  default     = 2
}

variable "node_disk_size_gb" {
  description = "Node root volume size."
  type        = number
  default     = 50
}

variable "deletion_protection" {
  description = "EKS deletion protection."
  type        = bool
  default     = false
}

variable "bedrock_region" {
  description = "Region the gateway calls Bedrock in (bedrock-proxy config.region in kong/kong.yaml)."
  type        = string
  default     = "us-east-1"
}

variable "inference_profile_ids" {
  description = "Cross-region inference profiles in the gateway catalogue (kind claude)."
  type        = list(string)
  default = [
    "us.anthropic.claude-haiku-4-5-20251001-v1:0",
    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "us.anthropic.claude-opus-4-5-20251101-v1:0",
  ]
}

variable "profile_destination_regions" {
  description = "Regions the us. inference profiles route to; the underlying foundation model is granted in each."
  type        = list(string)
  default     = ["us-east-1", "us-east-2", "us-west-2"]
}

variable "foundation_model_ids" {
  description = "Foundation models the gateway calls directly in bedrock_region (kinds converse, embedding, image)."
  type        = list(string)
  default = [
    "amazon.titan-text-express-v1", "amazon.titan-embed-text-v2:0", "cohere.embed-multilingual-v3",
    "amazon.nova-canvas-v1:0",
  ]
}

variable "regional_foundation_model_ids" {
  description = "Foundation models the gateway calls outside bedrock_region (a catalogue entry's region), by region: Cohere Rerank 3.5 and Stability's image models are not offered in us-east-1."
  type        = map(list(string))
  default     = { "us-west-2" = ["cohere.rerank-v3-5:0", "stability.stable-image-core-v1:1"] }
}

variable "mantle_model_ids" {
  description = "Models served through Bedrock Mantle (kind mantle)."
  type        = list(string)
  default     = ["anthropic.claude-opus-4-7"]
}

variable "mantle_project_ids" {
  description = "Bedrock Mantle projects the gateway's calls run under; \"default\" is the account's default project."
  type        = list(string)
  default     = ["default"]
}

variable "kong_namespace" {
  description = "Namespace Kong is installed in (helm/manifests/namespace.yaml, Argo CD destination)."
  type        = string
  default     = "llm-gateway"
}

variable "kong_service_account" {
  description = "Kong's service account: deployment.serviceAccount.name in helm/kong-values.yaml."
  type        = string
  default     = "kong-bedrock-gateway"
}

variable "metric_namespace" {
  description = "CloudWatch metric namespace of token-meter's CloudWatch exporter."
  type        = string
  default     = "KongBedrockGateway"
}

variable "log_retention_days" {
  description = "Retention of every log group (gateway, EKS control plane, VPC flow logs)."
  type        = number
  default     = 365
}

variable "application_inference_profile_arns" {
  description = "Application inference profiles named by roles' inference_profiles in kong/kong.yaml (exact ARNs)."
  type        = list(string)
  default     = []
}

variable "guardrail_arns" {
  description = "Other Bedrock Guardrails named by roles' bedrock_guardrail in kong/kong.yaml (exact ARNs)."
  type        = list(string)
  default     = []
}

variable "guardrail_kms_key_arns" {
  description = "Customer managed KMS keys of those other guardrails, if any (exact key ARNs)."
  type        = list(string)
  default     = []
}

variable "enable_bedrock_guardrail" {
  description = <<-EOT
    Create the e-commerce abuse guardrail (modules/bedrock-guardrail) and let the gateway's role apply it. It
    costs nothing until a role names it (make eks/config BEDROCK_GUARDRAIL_ID): Bedrock bills text units only.
  EOT
  type        = bool
  default     = true
}

variable "bedrock_guardrail_tier" {
  description = "CLASSIC (English, French, Spanish) or STANDARD (more languages; cross-Region within the profile)."
  type        = string
  default     = "STANDARD"
}

variable "bedrock_guardrail_profile_id" {
  description = "STANDARD tier: the system guardrail profile for bedrock_region (us.guardrail.v1:0 in the US)."
  type        = string
  default     = "us.guardrail.v1:0"
}

variable "bedrock_guardrail_profile_regions" {
  description = "STANDARD tier: the profile's destination regions from bedrock_region (AWS's guardrail profile table)."
  type        = list(string)
  default     = ["us-east-1", "us-east-2", "us-west-2"]
}

variable "bedrock_guardrail_kms_key_arn" {
  description = "Customer managed KMS key of the guardrail (null: AWS owned); its policy must let the IRSA role use it."
  type        = string
  default     = null
}
