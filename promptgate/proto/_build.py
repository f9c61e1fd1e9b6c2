"""Regenerate the Python modules in this package from `proto/promptgate/v1`.

The generated files are committed so that running PromptGate needs only
`protobuf`, not `grpcio-tools`. Run `python -m promptgate.proto._build` after
editing a `.proto` file; `--check` exits 1 when the committed files are stale
(the test suite does the same comparison).

protoc names outputs after the proto package (`promptgate/v1/...`); we flatten
them into `promptgate/proto/` and rewrite imports between our own files to
match, so the import path is `promptgate.proto.access_log_pb2`.
"""

from __future__ import annotations

import re
import sys
import tempfile
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "proto"
PROTO_DIR = PROTO_ROOT / "promptgate" / "v1"
PACKAGE_DIR = Path(__file__).resolve().parent

_OWN_IMPORT = re.compile(r"^from promptgate\.v1 import ", re.MULTILINE)
# protoc's stubs use a bare `Mapping`, which strict mypy rejects; the stubs
# are still worth having for every other check.
_STUB_HEADER = '# mypy: disable-error-code="type-arg"\n'


def generate(out_dir: Path) -> list[Path]:
    """Compile every `.proto` under `proto/promptgate/v1` into `out_dir`."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # build-time only

    sources = sorted(PROTO_DIR.glob("*.proto"))
    well_known = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as raw:
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{well_known}",
            f"--python_out={raw}",
            f"--pyi_out={raw}",
            *(str(source) for source in sources),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed; see its message above")
        written = []
        for produced in sorted((Path(raw) / "promptgate" / "v1").iterdir()):
            target = out_dir / produced.name
            code = _OWN_IMPORT.sub("from promptgate.proto import ", produced.read_text())
            if produced.suffix == ".pyi":
                code = _STUB_HEADER + code
            target.write_text(code)
            written.append(target)
    return written


def main(argv: list[str]) -> int:
    if argv not in ([], ["--check"]):
        print("usage: python -m promptgate.proto._build [--check]", file=sys.stderr)
        return 2
    if not argv:
        for path in generate(PACKAGE_DIR):
            print(path.relative_to(REPO))
        return 0
    with tempfile.TemporaryDirectory() as fresh:
        stale = [
            path.name
            for path in generate(Path(fresh))
            if not (PACKAGE_DIR / path.name).exists()
            or (PACKAGE_DIR / path.name).read_text() != path.read_text()
        ]
    for name in stale:
        print(f"promptgate/proto/{name} is stale: run python -m promptgate.proto._build")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
