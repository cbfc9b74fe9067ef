variable "name" {
  description = "Guardrail name (letters, digits, - and _; at most 50)."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z_-]{1,50}$", var.name))
    error_message = "A guardrail name is 1 to 50 letters, digits, - or _."
  }
}

variable "description" {
  description = "Guardrail description (at most 200 characters)."
  type        = string
  default     = "Kong Bedrock gateway: e-commerce abuse topics, prompt attacks, card data; customer-facing roles."

  validation {
    condition     = length(var.description) <= 200
    error_message = "The description is at most 200 characters."
  }
}

variable "region" {
  description = "Region of the guardrail: the gateway's Bedrock region (Bedrock applies a guardrail only there)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "tier" {
  description = <<-EOT
    Safeguard tier of the denied topics and content filters. STANDARD understands the shop's other languages
    (CLASSIC: English, French and Spanish only) and is sturdier against prompt attacks; it needs cross-Region
    inference through guardrail_profile_id, inside that profile's geography.
  EOT
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["CLASSIC", "STANDARD"], var.tier)
    error_message = "tier is CLASSIC or STANDARD."
  }
}

variable "guardrail_profile_id" {
  description = "System guardrail profile of the STANDARD tier (us.guardrail.v1:0, eu.guardrail.v1:0, ...)."
  type        = string
  default     = "us.guardrail.v1:0"

  validation {
    condition     = can(regex("^[a-z0-9-]+\\.guardrail\\.v[0-9:]+$", var.guardrail_profile_id))
    error_message = "guardrail_profile_id is a system guardrail profile id such as us.guardrail.v1:0."
  }
}

variable "guardrail_profile_regions" {
  description = "Regions guardrail_profile_id routes to from var.region (AWS's table); the gateway may apply it there."
  type        = list(string)
  default     = ["us-east-1", "us-east-2", "us-west-2"]

  validation {
    condition     = alltrue([for r in var.guardrail_profile_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", r))])
    error_message = "Each entry must be an AWS region name (no wildcards)."
  }
}

variable "denied_topics_file" {
  description = <<-EOT
    YAML file of the denied topics (a `topics` list of name, definition, examples, not_covered); null: this
    module's denied-topics.yaml, written for e-commerce abuse. Checked at plan time against Bedrock's limits.
  EOT
  type        = string
  default     = null
}

variable "content_filters" {
  description = <<-EOT
    Content filters by type (HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT, PROMPT_ATTACK): input and output
    strength, NONE, LOW, MEDIUM or HIGH. PROMPT_ATTACK is required, on input only (Bedrock takes NONE on output).
    MISCONDUCT covers help with crimes and fraud the topics do not name. All filters are billed as one policy.
  EOT
  type = map(object({
    input_strength  = string
    output_strength = string
  }))
  default = {
    PROMPT_ATTACK = { input_strength = "HIGH", output_strength = "NONE" }
    MISCONDUCT    = { input_strength = "MEDIUM", output_strength = "MEDIUM" }
  }

  validation {
    condition = alltrue([for k in keys(var.content_filters) :
    contains(["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"], k)])
    error_message = "Content filter types are HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT and PROMPT_ATTACK."
  }
  validation {
    condition = alltrue([for f in values(var.content_filters) :
      contains(["NONE", "LOW", "MEDIUM", "HIGH"], f.input_strength) &&
    contains(["NONE", "LOW", "MEDIUM", "HIGH"], f.output_strength)])
    error_message = "Filter strengths are NONE, LOW, MEDIUM or HIGH."
  }
  validation {
    condition = (contains(["LOW", "MEDIUM", "HIGH"], try(var.content_filters["PROMPT_ATTACK"].input_strength, "")) &&
    try(var.content_filters["PROMPT_ATTACK"].output_strength, "") == "NONE")
    error_message = "PROMPT_ATTACK is required, with an input strength of LOW, MEDIUM or HIGH and output NONE."
  }
}

variable "pii_entities" {
  description = <<-EOT
    Sensitive-information filter: PII entity type => BLOCK or ANONYMIZE, on input and output ({} for none; the
    policy is billed per text unit whatever the number of types). ecommerce-guardrails already blocks (or
    redacts) cards in user turns, so a card Bedrock still sees came from what the gateway does not scan (system
    prompt, tool results, earlier answers) or from the model: BLOCK makes it an intervention the gateway counts.
  EOT
  type        = map(string)
  default = {
    CREDIT_DEBIT_CARD_NUMBER = "BLOCK"
    CREDIT_DEBIT_CARD_CVV    = "BLOCK"
    AWS_ACCESS_KEY           = "BLOCK"
    AWS_SECRET_KEY           = "BLOCK"
  }

  validation {
    condition = alltrue([for type, action in var.pii_entities :
    can(regex("^[A-Z_]+$", type)) && contains(["BLOCK", "ANONYMIZE"], action)])
    error_message = "pii_entities maps a PII entity type (CREDIT_DEBIT_CARD_NUMBER, ...) to BLOCK or ANONYMIZE."
  }
}

variable "blocked_input_messaging" {
  description = "What a client is told when the guardrail blocks its prompt (<= 500 characters)."
  type        = string
  default     = "Sorry, I can't help with that. For orders, payments or refunds, please contact our customer service."

  validation {
    condition     = length(var.blocked_input_messaging) >= 1 && length(var.blocked_input_messaging) <= 500
    error_message = "blocked_input_messaging is 1 to 500 characters."
  }
}

variable "blocked_outputs_messaging" {
  description = "What a client is told when the guardrail withholds the model's answer (<= 500 characters)."
  type        = string
  default     = "Sorry, I can't share that answer. For orders, payments or refunds, please contact customer service."

  validation {
    condition     = length(var.blocked_outputs_messaging) >= 1 && length(var.blocked_outputs_messaging) <= 500
    error_message = "blocked_outputs_messaging is 1 to 500 characters."
  }
}

variable "kms_key_arn" {
  description = <<-EOT
    Customer managed KMS key for the guardrail (null: an AWS owned key). Its key policy must let the gateway's
    role kms:Decrypt; the environment grants the role's side (bedrock-irsa guardrail_kms_key_arns).
  EOT
  type        = string
  default     = null

  validation {
    condition = var.kms_key_arn == null || can(regex(
    "^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/(mrk-)?[a-f0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be an exact KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
