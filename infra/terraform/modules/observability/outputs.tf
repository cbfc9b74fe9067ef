output "metric_namespace" {
  description = "CloudWatch metric namespace: token-meter's config.cloudwatch.namespace must match."
  value       = var.metric_namespace
}

output "log_group_name" {
  description = "Gateway log group (target of the cluster's log shipper)."
  value       = aws_cloudwatch_log_group.gateway.name
}

output "log_group_arn" {
  description = "Gateway log group ARN."
  value       = aws_cloudwatch_log_group.gateway.arn
}

output "logs_kms_key_arn" {
  description = "KMS key for this environment's log groups."
  value       = aws_kms_key.logs.arn
}

output "put_metric_data_policy_arn" {
  description = "Policy the environment attaches to the IRSA role."
  value       = aws_iam_policy.put_metric_data.arn
}
