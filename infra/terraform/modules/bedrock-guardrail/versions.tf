terraform {
  required_version = ">= 1.10, < 2.0"

  required_providers {
    aws = {
      # 6.0 added the per-resource `region` argument, 6.6.0 tier_config and
      # cross_region_config (#43517): both below the environments' ~> 6.28.
      source  = "hashicorp/aws"
      version = ">= 6.28, < 7.0"
    }
  }
}
