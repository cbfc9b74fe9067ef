"""Deployment tooling: the production declarative config and the Kubernetes objects for alerts and dashboards."""
