"""RIAPS applications used by the test suite (see conftest.py: their modules are not collected)."""
