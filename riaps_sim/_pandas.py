"""pandas for ``to_pandas()``: imported when asked for, with an error that names the extra to install."""

from __future__ import annotations

from typing import Any


def require_pandas() -> Any:
    """The ``pandas`` module, or ``ImportError`` saying how to install it (the ``pandas`` extra)."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("to_pandas() needs pandas: pip install 'riaps-sim[pandas]' (or pip install pandas)") from exc
    return pandas
