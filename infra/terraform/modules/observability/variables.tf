variable "name" {
  description = "Name prefix (e.g. kong-bedrock-poc)."
  type        = string
}

variable "metric_namespace" {
  description = "CloudWatch metric namespace of token-meter's CloudWatch exporter (its config.cloudwatch.namespace)."
  type        = string
  default     = "KongBedrockGateway"
}

variable "log_retention_days" {
  description = "Retention of the gateway log group."
  type        = number
  default     = 365
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the logs KMS key is deleted."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
