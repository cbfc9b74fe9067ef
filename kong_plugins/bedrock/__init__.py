"""Calling Bedrock Runtime: SigV4 signing, pooled HTTP, error mapping."""
