"""Behaviour that differs between the pandas versions cx_framework supports (pandas >= 2.1, 2.x and 3.x).

pandas 3 made ``astype("str")`` keep missing values missing (the new default ``str`` dtype); pandas 2 turns
``None`` into the text ``"None"`` and ``NaN`` into ``"nan"``. A missing ``team`` that becomes a team called
``"None"`` silently changes roll-ups, so every place that turns a column into text goes through
:func:`as_text`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PANDAS_3", "TEXT_DTYPE", "ARROW_TEXT_DTYPE", "as_text", "is_text_dtype"]

_VERSION = tuple(int(p) for p in pd.__version__.split(".")[:2] if p.isdigit())
PANDAS_3: bool = _VERSION >= (3, 0)

#: Arrow-backed text with NaN as the missing value (pandas 3's ``str``) where pandas has it (>= 2.3);
#: plain ``object`` before that.
TEXT_DTYPE: object = pd.StringDtype("pyarrow", na_value=np.nan) if _VERSION >= (2, 3) else np.dtype(object)
#: Arrow-backed text with NaN as the missing value on every supported version (pandas 2.1/2.2 call it
#: ``"pyarrow_numpy"``): the generator builds its text columns from Arrow buffers in this dtype.
ARROW_TEXT_DTYPE: pd.StringDtype = (
    pd.StringDtype("pyarrow", na_value=np.nan) if _VERSION >= (2, 3) else pd.StringDtype("pyarrow_numpy")
)


def as_text(series: pd.Series) -> pd.Series:
    """``series`` as text with missing values kept missing (NaN), on every supported pandas version.

    On pandas 3 this is ``astype("str")``; on pandas 2 the result is ``object`` dtype holding ``str`` values and
    ``NaN`` for the missing ones.
    """
    if PANDAS_3:
        return series.astype("str")
    missing = series.isna().to_numpy()
    out = series.astype(str).astype(object)
    if missing.any():
        out = out.where(~missing, np.nan)
    return out


def is_text_dtype(dtype: object) -> bool:
    """True for the dtype :func:`as_text` returns (``str`` on pandas 3, ``object`` on pandas 2)."""
    if PANDAS_3:
        return bool(dtype == "str")
    return bool(pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype))
