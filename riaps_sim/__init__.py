"""riaps-sim: study RIAPS group coordination in simulation, then run the same code on real ZeroMQ."""

__version__ = "0.1.0"
__all__ = ["__version__"]
