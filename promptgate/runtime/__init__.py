"""The data plane: the ext_proc processor that Envoy calls on every request.

Layers, outermost first::

    server        grpc.aio server, health, metrics endpoint, bundle reload
    envoy         the ext_proc adapter: protobuf <-> plain actions
    exchange      one request/response pair as a state machine over stages
    stages        auth, guardrails, routing, credentials (plain Python data)

Only ``envoy`` and ``server`` see grpc or protobuf types.
"""
