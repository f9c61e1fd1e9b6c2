"""Python modules generated from PromptGate's own `.proto` files.

Do not edit the `*_pb2.py` / `*_pb2.pyi` files; regenerate them with
`python -m promptgate.proto._build`.
"""
