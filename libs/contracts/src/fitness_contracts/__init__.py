"""Generated protobuf and gRPC code lives beside this package, under `fitness/`.

`make gen` (scripts/gen_protos.py) writes it; the package exists so the
workspace can install the folder as an editable path.
"""
