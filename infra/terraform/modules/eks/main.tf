module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "21.19.0"

  name                = var.cluster_name
  kubernetes_version  = var.kubernetes_version
  deletion_protection = var.deletion_protection

  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  # Private endpoint for the nodes; public endpoint only from the allowlist.
  endpoint_private_access      = true
  endpoint_public_access       = true
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs

  # IRSA: the module creates the cluster's IAM OIDC provider.
  enable_irsa = true

  # Kubernetes Secrets envelope-encrypted with a module-created, rotated KMS key.
  create_kms_key          = true
  enable_kms_key_rotation = true
  encryption_config       = { resources = ["secrets"] }

  # Every control plane log type, to a KMS-encrypted log group.
  enabled_log_types                      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  create_cloudwatch_log_group            = true
  cloudwatch_log_group_retention_in_days = var.log_retention_days
  cloudwatch_log_group_kms_key_id        = var.log_kms_key_arn

  # Access entries (API mode); whoever applies gets cluster admin to run Helm.
  authentication_mode                      = "API"
  enable_cluster_creator_admin_permissions = true

  addons = {
    coredns    = {}
    kube-proxy = {}
    # The VPC CNI enforces NetworkPolicy (helm/manifests/networkpolicy.yaml) only when asked to: without this the
    # policy is accepted and does nothing. Needs VPC CNI 1.14+ (most_recent for the cluster's version).
    vpc-cni = {
      before_compute       = true
      configuration_values = jsonencode({ enableNetworkPolicy = "true" })
    }
  }

  eks_managed_node_groups = {
    kong = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.node_instance_types
      min_size       = var.node_min_size
      max_size       = var.node_max_size
      desired_size   = var.node_desired_size

      # IMDSv2 only, hop limit 1: pods cannot borrow the node role; Kong uses IRSA.
      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }

      block_device_mappings = {
        root = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = var.node_disk_size_gb
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }

      labels = { workload = "kong" }
    }
  }

  tags = var.tags
}
