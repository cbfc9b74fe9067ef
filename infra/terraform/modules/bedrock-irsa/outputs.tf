output "role_arn" {
  description = "IRSA role ARN: the eks.amazonaws.com/role-arn annotation of Kong's service account."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "IRSA role name (for further policy attachments)."
  value       = aws_iam_role.this.name
}

output "bedrock_policy_arn" {
  description = "ARN of the Bedrock permission policy."
  value       = aws_iam_policy.bedrock.arn
}
