variable "role_name" {
  description = "Name of the IAM role the controller's service account assumes."
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
  description = "Namespace the controller's chart is installed in (make eks/lb-controller: kube-system)."
  type        = string
  default     = "kube-system"
}

variable "service_account" {
  description = "The controller's service account (the chart's serviceAccount.name)."
  type        = string
  default     = "aws-load-balancer-controller"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
