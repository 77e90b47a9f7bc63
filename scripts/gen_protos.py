"""Generate Python code and the gateway descriptor set from protos/.

One command for both, so the gateway can never describe a different contract
from the one the services serve. Nothing generated is committed.

    uv run python scripts/gen_protos.py
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
GOOGLEAPIS = ROOT / "build" / "googleapis"
PY_OUT = ROOT / "libs" / "contracts" / "src"
DESCRIPTOR_SET = ROOT / "gateway" / "generated" / "fitness.pb"
# google/api and google/rpc protos the contracts and the gateway need, taken
# from the installed googleapis-common-protos package (the Buf registry is not
# reachable from every machine, so they are never fetched or committed).
GOOGLE_PROTOS = [
    "google/api/annotations.proto",
    "google/api/http.proto",
    "google/api/field_behavior.proto",
    "google/api/httpbody.proto",
    "google/rpc/status.proto",
    "google/rpc/error_details.proto",
    "google/rpc/code.proto",
]


def _site_root(module: str, depth: int) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin).parents[depth]


def copy_google_protos() -> None:
    source = _site_root("google.api.annotations_pb2", 2)
    for rel in GOOGLE_PROTOS:
        target = GOOGLEAPIS / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target)


def our_protos() -> list[str]:
    return sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))


def protoc(*args: str) -> None:
    well_known = _site_root("grpc_tools", 0) / "_proto"
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc",
        f"-I{PROTOS}", f"-I{GOOGLEAPIS}", f"-I{well_known}", *args,
    ]  # fmt: skip
    # protoc's plugins chat on stderr ("Writing mypy to ..."): show it only on failure.
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(result.returncode)


def main() -> None:
    copy_google_protos()
    generated = PY_OUT / "fitness"
    if generated.exists():
        shutil.rmtree(generated)
    PY_OUT.mkdir(parents=True, exist_ok=True)
    protos = our_protos()
    mypy_plugin = Path(sys.executable).parent / "protoc-gen-mypy"
    mypy_grpc_plugin = Path(sys.executable).parent / "protoc-gen-mypy_grpc"
    protoc(
        f"--python_out={PY_OUT}",
        f"--grpc_python_out={PY_OUT}",
        f"--plugin=protoc-gen-mypy={mypy_plugin}",
        f"--plugin=protoc-gen-mypy_grpc={mypy_grpc_plugin}",
        f"--mypy_out={PY_OUT}",
        f"--mypy_grpc_out={PY_OUT}",
        *protos,
    )
    for folder in [generated, *[p for p in generated.rglob("*") if p.is_dir()]]:
        (folder / "__init__.py").touch()
    DESCRIPTOR_SET.parent.mkdir(parents=True, exist_ok=True)
    protoc(
        f"--descriptor_set_out={DESCRIPTOR_SET}",
        "--include_imports",
        "--include_source_info",
        *protos,
        "google/rpc/status.proto",
        "google/rpc/error_details.proto",
    )
    print(f"generated {len(protos)} protos -> {PY_OUT.relative_to(ROOT)}, {DESCRIPTOR_SET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
