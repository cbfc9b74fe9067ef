variable "cluster_name" {
  description = "EKS cluster name."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes <major>.<minor> version."
  type        = string
  default     = "1.34"
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnet ids for the nodes and the control plane ENIs."
  type        = list(string)
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (operators, CI). The private endpoint is always on."
  type        = list(string)

  validation {
    condition     = length(var.endpoint_public_access_cidrs) > 0 && !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0")
    error_message = "List the operator/CI CIDRs explicitly; 0.0.0.0/0 is not allowed."
  }
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["t3.large"]
}

variable "node_min_size" {
  description = "Minimum node count."
  type        = number
  default     = 1
}

variable "node_max_size" {
  description = "Maximum node count."
  type        = number
  default     = 3
}

variable "node_desired_size" {
  description = "Desired node count at creation (the cluster autoscaler owns it afterwards)."
  type        = number
  default     = 2
}

variable "node_disk_size_gb" {
  description = "Root volume size of each node (gp3, encrypted)."
  type        = number
  default     = 50
}

variable "log_retention_days" {
  description = "Retention of the control plane log group."
  type        = number
  default     = 365
}

variable "log_kms_key_arn" {
  description = "KMS key ARN that encrypts the control plane log group."
  type        = string
}

variable "deletion_protection" {
  description = "Refuse cluster deletion until this is switched off."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
