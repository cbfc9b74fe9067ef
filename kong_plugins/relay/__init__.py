"""The Bedrock relay: Kong proxies requests here after the plugins approved them."""
