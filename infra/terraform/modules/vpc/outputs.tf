output "vpc_id" {
  description = "VPC id."
  value       = module.vpc.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnet ids (EKS nodes and control plane ENIs)."
  value       = module.vpc.private_subnets
}

output "public_subnet_ids" {
  description = "Public subnet ids (internet-facing load balancers, NAT)."
  value       = module.vpc.public_subnets
}

output "nat_gateway_ids" {
  description = "NAT gateway ids (one, or one per AZ)."
  value       = module.vpc.natgw_ids
}
