"""Progress bars for long runs (sweeps, explorations): ``tqdm.auto``, quiet where nobody watches."""

from __future__ import annotations

import sys
import warnings
from typing import Any, TextIO

__all__ = ["progress_bar"]


def progress_bar(total: int, progress: bool | TextIO, name: str, unit: str) -> Any:
    """A ``tqdm.auto`` bar over *total* *unit*s, or ``None`` when *progress* is false.

    In Jupyter with ipywidgets it is a widget; elsewhere a text bar on stderr that stays quiet when
    stderr is not a terminal (a log file, CI), or on the stream given, which is always written.
    """
    if progress is False:
        return None
    with warnings.catch_warnings():
        # tqdm.auto warns when a Jupyter kernel lacks ipywidgets, then falls back to the text bar
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    stream = sys.stderr if progress is True else progress
    return tqdm(total=total, desc=name, unit=unit, file=stream, disable=None if progress is True else False, dynamic_ncols=True)
