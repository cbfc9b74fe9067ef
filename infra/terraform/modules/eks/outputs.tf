output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "API server endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API server."
  value       = module.eks.cluster_certificate_authority_data
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (IRSA trust principal)."
  value       = module.eks.oidc_provider_arn
}

output "oidc_provider" {
  description = "OIDC issuer without https:// (prefix of the IRSA condition keys)."
  value       = module.eks.oidc_provider
}

output "secrets_kms_key_arn" {
  description = "KMS key that encrypts Kubernetes Secrets."
  value       = module.eks.kms_key_arn
}

output "node_security_group_id" {
  description = "Security group of the worker nodes."
  value       = module.eks.node_security_group_id
}
