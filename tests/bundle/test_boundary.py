"""The processor depends on the bundle contract, not on the policy models or the compiler."""

from __future__ import annotations

import subprocess
import sys

# What the processor process (``python -m promptgate.runtime``) and the
# console import; ``promptgate.supervisor`` is not here: it still writes
# each instance's Envoy bootstrap with ``compile.deploy``.
PROCESSOR_SIDE = (
    "promptgate.bundle",
    "promptgate.runtime.__main__",
    "promptgate.runtime.server",
    "promptgate.spend",
    "promptgate.webhooks",
    "promptgate.console",
)

PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print("\\n".join(sorted(m for m in sys.modules
                        if m.startswith(("promptgate.compile", "promptgate.config")))))
"""


def test_the_processor_imports_neither_config_nor_compile() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *PROCESSOR_SIDE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert run.stdout.split() == []


def test_the_probe_sees_a_module_that_does_import_them() -> None:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "promptgate.compile.bundle"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "promptgate.config.models" in run.stdout.split()
