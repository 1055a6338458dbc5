"""The folders here are RIAPS applications, not tests: their modules import ``riaps``, which only the shim provides."""

collect_ignore_glob = ["*/*.py"]
