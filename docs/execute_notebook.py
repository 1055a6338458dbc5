"""Execute a notebook in place, keeping its outputs: ``python docs/execute_notebook.py notebooks/04_simulation_to_real.ipynb``.

The docs render notebook 04 from its committed outputs (it runs real ZeroMQ processes for about
20 s, too long for every docs build); run this after changing it, or the code it shows.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        book = nbformat.read(path, as_version=4)
        NotebookClient(book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        nbformat.write(book, path)
        print(f"executed {path}")
