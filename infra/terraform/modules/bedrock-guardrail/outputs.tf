output "arn" {
  description = "Guardrail ARN: a role's bedrock_guardrail.identifier (deploy/render_config.py BEDROCK_GUARDRAIL_ID)."
  value       = aws_bedrock_guardrail.this.guardrail_arn
}

output "id" {
  description = "Guardrail id."
  value       = aws_bedrock_guardrail.this.guardrail_id
}

output "version" {
  description = "Numbered version published from the current configuration (BEDROCK_GUARDRAIL_VERSION)."
  value       = aws_bedrock_guardrail_version.this.version
}

output "apply_guardrail_arns" {
  description = "ApplyGuardrail grants the gateway needs: the guardrail, and on STANDARD its profile per destination."
  value       = concat([aws_bedrock_guardrail.this.guardrail_arn], local.standard ? local.profile_arns : [])
}

output "kms_key_arns" {
  description = "The guardrail's customer managed KMS key, if any: the gateway's role needs kms:Decrypt on it."
  value       = var.kms_key_arn == null ? [] : [var.kms_key_arn]
}
