output "role_arn" {
  description = "IRSA role ARN: the eks.amazonaws.com/role-arn annotation of the controller's service account."
  value       = aws_iam_role.this.arn
}

output "namespace" {
  description = "Namespace the role trusts."
  value       = var.namespace
}

output "service_account" {
  description = "Service account the role trusts."
  value       = var.service_account
}
