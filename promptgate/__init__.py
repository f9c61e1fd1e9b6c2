"""PromptGate: an egress gateway for LLM traffic.

Policy lives in Git as YAML; ``promptgate.config`` loads and checks it,
``promptgate.compile`` turns it into an Envoy bootstrap and a runtime bundle,
and ``promptgate.runtime`` is the ext_proc data plane that serves the bundle.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
