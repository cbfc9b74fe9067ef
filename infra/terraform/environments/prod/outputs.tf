output "bedrock_irsa_role_arn" {
  description = "IRSA role ARN: deployment.serviceAccount.annotations.\"eks.amazonaws.com/role-arn\" in helm/kong-values.yaml."
  value       = module.bedrock_irsa.role_arn
}

output "kong_helm_service_account_values" {
  description = "Kong Helm chart values fragment binding Kong's service account to the IRSA role."
  value = yamlencode({
    deployment = {
      serviceAccount = {
        create      = true
        name        = var.kong_service_account
        annotations = { "eks.amazonaws.com/role-arn" = module.bedrock_irsa.role_arn }
      }
    }
  })
}

output "lb_controller_role_arn" {
  description = "IRSA role ARN of the AWS Load Balancer Controller's service account."
  value       = module.lb_controller_irsa.role_arn
}

output "lb_controller_helm_values" {
  description = <<-EOT
    Values for the eks/aws-load-balancer-controller chart (make eks/lb-controller): the cluster, its region and
    VPC (the nodes' IMDS hop limit of 1 keeps the controller from looking them up) and the IRSA-bound account.
  EOT
  value = yamlencode({
    clusterName = module.eks.cluster_name
    region      = var.region
    vpcId       = module.vpc.vpc_id
    serviceAccount = {
      create      = true
      name        = module.lb_controller_irsa.service_account
      annotations = { "eks.amazonaws.com/role-arn" = module.lb_controller_irsa.role_arn }
    }
  })
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "EKS API endpoint."
  value       = module.eks.cluster_endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "vpc_id" {
  description = "VPC id."
  value       = module.vpc.vpc_id
}

output "cloudwatch_metric_namespace" {
  description = "token-meter config.cloudwatch.namespace must equal this."
  value       = module.observability.metric_namespace
}

output "gateway_log_group_name" {
  description = "Gateway log group."
  value       = module.observability.log_group_name
}

output "bedrock_guardrail_arn" {
  description = "The abuse guardrail's ARN (null when disabled): BEDROCK_GUARDRAIL_ID for make eks/config."
  value       = one(module.bedrock_guardrail[*].arn)
}

output "bedrock_guardrail_version" {
  description = "Its numbered version, new after every change to it: BEDROCK_GUARDRAIL_VERSION for make eks/config."
  value       = one(module.bedrock_guardrail[*].version)
}
