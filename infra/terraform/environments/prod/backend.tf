# Remote state. Backend blocks cannot read variables, so these are placeholders:
#   bucket - an existing S3 bucket for state (versioned, SSE, public access blocked);
#            replace it here or pass -backend-config="bucket=<name>" to terraform init.
#   key    - one state object per environment; keep it unique.
#   region - the bucket's region.
# use_lockfile is S3-native state locking (Terraform >= 1.10); no DynamoDB table.
terraform {
  backend "s3" {
    bucket       = "REPLACE-ME-terraform-state"
    key          = "kong-bedrock-gateway/prod/terraform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}
