"""Generates the Python gRPC code from protos/ into the git-ignored gen/ folder.

Run as `python -m tools.protogen` (or `make proto`). gen/ is on PYTHONPATH, so the
code is imported by its proto package: `from pigeon.sender.v1 import sender_pb2`.
"""

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GEN = ROOT / "gen"


def main() -> int:
    shutil.rmtree(GEN, ignore_errors=True)
    GEN.mkdir()
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    well_known = Path(protoc.__file__).parent / "_proto"
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{well_known}",
            f"--python_out={GEN}",
            f"--pyi_out={GEN}",
            f"--grpc_python_out={GEN}",
            *sources,
        ]
    )
    if status != 0:
        print("protoc failed", file=sys.stderr)
        return status
    print(f"generated {len(sources)} proto files into {GEN.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
