"""Sphinx configuration of the riaps-sim documentation.

Build: ``pip install -e '.[docs]'`` then ``sphinx-build -W -b html docs docs/_build/html``.
The notebooks in ``notebooks/`` are copied in at build time; 01-03 are executed then (about 15 s),
04, 05 and 06 run real ZeroMQ processes for 20 to 30 s and are rendered from their committed outputs
(refresh them with ``python docs/execute_notebook.py notebooks/04_simulation_to_real.ipynb``; 05 writes
its application into ``out/greenhouse/`` and 06 writes ``out/calibration.toml``, under ``notebooks/``,
where git ignores ``out/``).
"""

from __future__ import annotations

import shutil
import sys
from importlib.metadata import version as installed_version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

project = "riaps-sim"
author = "the riaps-sim authors"
copyright = "the riaps-sim authors, Apache-2.0"
release = installed_version("riaps-sim")
version = release

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon", "sphinx.ext.viewcode", "myst_nb", "scenario_reference"]

# -- notebooks: copied from notebooks/ so the docs render the tutorial the suite executes -----------------
_BOOKS = HERE / "notebooks"
_BOOKS.mkdir(exist_ok=True)
for _book in sorted((ROOT / "notebooks").glob("*.ipynb")):
    if not (_BOOKS / _book.name).exists() or (_BOOKS / _book.name).read_bytes() != _book.read_bytes():
        shutil.copyfile(_book, _BOOKS / _book.name)

nb_execution_mode = "force"
nb_execution_excludepatterns = ["*04_simulation_to_real*", "*05_riaps_application*", "*06_calibration*"]
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints", "README.md"]

# -- API reference -------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
# every object is documented once, in the module that defines it (packages re-export names in __all__)
autodoc_default_options = {"members": True, "show-inheritance": False, "member-order": "bysource", "ignore-module-all": True}
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_mock_imports: list[str] = []
napoleon_numpy_docstring = True
napoleon_google_docstring = False
suppress_warnings = ["myst.header"]

html_theme = "furo"
html_title = f"riaps-sim {release}"
html_static_path = ["_static"]
html_extra_path: list[str] = []
