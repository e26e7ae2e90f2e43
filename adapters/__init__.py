"""Chain adapters: one sub-package per chain family, each implementing the ports in bridge.ports."""
