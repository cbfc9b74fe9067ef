variable "name" {
  description = "Name prefix for the VPC and its subnets."
  type        = string
}

variable "cidr" {
  description = "VPC CIDR block. Subnets are carved from it: /20 private and /24 public per AZ."
  type        = string
  default     = "10.40.0.0/16"
}

variable "azs" {
  description = "Availability zones, named explicitly so the VPC never grows when AWS adds a zone (EKS needs at least 2)."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 4
    error_message = "Give 2 to 4 availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheap, single-AZ egress) instead of one per AZ."
  type        = bool
  default     = true
}

variable "cluster_name" {
  description = "EKS cluster name, used for the subnet discovery tags."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group."
  type        = number
  default     = 365
}

variable "flow_log_kms_key_arn" {
  description = "KMS key ARN that encrypts the VPC flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
