variable "role_name" {
  description = "Name of the IAM role Kong's service account assumes."
  type        = string
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_provider" {
  description = "OIDC issuer without https:// (oidc.eks.<region>.amazonaws.com/id/<ID>)."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of Kong's service account."
  type        = string
  default     = "llm-gateway"
}

variable "service_account" {
  description = "Kong's service account (deployment.serviceAccount.name in the Kong Helm values)."
  type        = string
  default     = "kong-bedrock-gateway"
}

variable "foundation_model_arns" {
  description = "Foundation-model ARNs the gateway may call: direct models and every model behind each inference profile, in every region the profile routes to."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.foundation_model_arns : can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+::foundation-model/[^*]+$", a))])
    error_message = "Each entry must be an exact foundation-model ARN (no wildcards)."
  }
}

variable "inference_profile_arns" {
  description = "Inference-profile ARNs the gateway may call (in the region it calls from)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.inference_profile_arns : can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:inference-profile/[^*]+$", a))])
    error_message = "Each entry must be an exact inference-profile ARN (no wildcards)."
  }
}

variable "application_inference_profile_arns" {
  description = "Application inference profiles the gateway's roles call through (kong.yaml roles[].inference_profiles), for cost allocation tags. Each was copied from a catalogue model, whose ARNs above must be granted too (Bedrock checks both)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.application_inference_profile_arns : can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:application-inference-profile/[a-z0-9]+$", a))])
    error_message = "Each entry must be an exact application-inference-profile ARN (no wildcards)."
  }
}

variable "bedrock_actions" {
  description = "bedrock-runtime actions granted on exactly the ARNs above. No List*/Get*: the gateway answers /foundation-models and /inference-profiles from its catalogue."
  type        = list(string)
  # AWS authorizes Converse/ConverseStream through InvokeModel/InvokeModelWithResponseStream;
  # the two Converse names are listed too so the intent survives any future split.
  default = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:Converse",
    "bedrock:ConverseStream",
    "bedrock:CountTokens",
  ]
}

variable "mantle_model_ids" {
  description = "Models served only through Bedrock Mantle (bedrock-mantle.<region>.api.aws); empty grants no Mantle access."
  type        = list(string)
  default     = []
}

variable "mantle_project_arns" {
  description = "Bedrock Mantle project ARNs the calls run under (arn:aws:bedrock-mantle:<region>:<account>:project/<id>)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.mantle_project_arns : can(regex("^arn:aws[a-z-]*:bedrock-mantle:[a-z0-9-]+:[0-9]{12}:project/[^*]+$", a))])
    error_message = "Each entry must be an exact Mantle project ARN (no wildcards)."
  }
}

variable "mantle_actions" {
  description = "Bedrock Mantle actions for the Anthropic Messages API and its count_tokens."
  type        = list(string)
  # From the Service Authorization Reference for prefix bedrock-mantle (CreateInference
  # authorizes Messages/Chat/Responses calls, CountTokens the count_tokens route; both
  # take the bedrock-mantle:Model condition key). Mantle is new: re-check these names
  # there if AWS renames them, and override this variable rather than widening it.
  default = ["bedrock-mantle:CreateInference", "bedrock-mantle:CountTokens"]
}

variable "guardrail_arns" {
  description = <<-EOT
    Bedrock Guardrails the gateway's roles apply (kong.yaml bedrock_guardrail), and for a STANDARD-tier guardrail
    its system guardrail profile in each destination region (ApplyGuardrail is checked there too); empty grants
    none.
  EOT
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([for a in var.guardrail_arns :
      can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:guardrail/[a-z0-9]+$", a)) ||
    can(regex("^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:[0-9]{12}:guardrail-profile/[a-z0-9-]+\\.guardrail\\.v[0-9:]+$", a))])
    error_message = "Each entry must be an exact guardrail or guardrail-profile ARN (no wildcards)."
  }
}

variable "guardrail_kms_key_arns" {
  description = "Customer managed KMS keys of those guardrails (Bedrock decrypts one as its caller); empty grants none."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([for a in var.guardrail_kms_key_arns :
    can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[a-f0-9-]+$", a))])
    error_message = "Each entry must be an exact KMS key ARN (no wildcards, no aliases)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
