"""Python emulations of the Kong 3.6.1 bundled plugins the gateway uses."""
