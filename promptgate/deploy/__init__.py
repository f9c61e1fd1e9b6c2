"""GitOps delivery: compare a policy with what is deployed, and roll it out live."""
