"""Redraw the figures the README and the docs' landing page show: ``python docs/figures.py``."""

from pathlib import Path

from riaps_sim import load_scenario, run_scenario

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    figure = run_scenario(load_scenario("default")).plot()
    figure.savefig(HERE / "_static" / "roles.png", dpi=90, bbox_inches="tight")
    print(f"wrote {HERE / '_static' / 'roles.png'}")
