"""Argument checks shared by the NumPy layers.

Every layer checks its inputs before computing anything, so a wrong shape or dtype fails with a
``ValueError`` that names the argument and the shapes seen, e.g.
``Wh: expected shape (H, H) = (5, 5), got (5, 4)``, instead of a broadcasting surprise later.
The layers work in float32 or float64; all float inputs of one call must share one dtype, and the
outputs keep it (no silent upcast to float64).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _format_symbols(symbols: Sequence[str]) -> str:
    """``("H",)`` -> ``"(H,)"`` and ``("N", "T")`` -> ``"(N, T)"``, like Python prints tuples."""
    if len(symbols) == 1:
        return f"({symbols[0]},)"
    return "(" + ", ".join(symbols) + ")"


def _as_array(name: str, value: object) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(value).__name__}")
    return value


def check_float(name: str, array: object, symbols: Sequence[str] | None) -> np.ndarray:
    """Check that ``array`` is a float32/float64 ndarray with ``len(symbols)`` dimensions.

    Inputs:
    - name: argument name used in the error message
    - array: the value to check
    - symbols: dimension names, e.g. ``("N", "T", "D")``; None accepts any number of dimensions

    Returns the array, unchanged.
    """
    array = _as_array(name, array)
    if array.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name}: expected a float32 or float64 array, got dtype {array.dtype}")
    if symbols is not None and array.ndim != len(symbols):
        raise ValueError(
            f"{name}: expected a {len(symbols)}-D array of shape {_format_symbols(symbols)}, "
            f"got shape {array.shape}"
        )
    return array


def check_int(name: str, array: object, symbols: Sequence[str], upper: int) -> np.ndarray:
    """Check that ``array`` is an integer ndarray of indices in ``[0, upper)``.

    Inputs:
    - name: argument name used in the error message
    - array: the value to check
    - symbols: dimension names, e.g. ``("N", "T")``
    - upper: exclusive upper bound of the indices (a vocabulary or class count)

    Returns the array, unchanged.
    """
    array = _as_array(name, array)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of indices, got dtype {array.dtype}")
    if array.ndim != len(symbols):
        raise ValueError(
            f"{name}: expected a {len(symbols)}-D array of shape {_format_symbols(symbols)}, "
            f"got shape {array.shape}"
        )
    if array.size and (array.min() < 0 or array.max() >= upper):
        raise ValueError(
            f"{name}: indices must lie in [0, {upper}), got values from {array.min()} "
            f"to {array.max()}"
        )
    return array


def check_shape(
    name: str, array: np.ndarray, symbols: Sequence[str], expected: Sequence[int]
) -> None:
    """Raise ``ValueError`` unless ``array.shape == tuple(expected)``.

    The message shows the symbolic shape, its value and what was seen:
    ``Wh: expected shape (H, H) = (5, 5), got (5, 4)``.
    """
    expected = tuple(int(size) for size in expected)
    if array.shape != expected:
        raise ValueError(
            f"{name}: expected shape {_format_symbols(symbols)} = {expected}, got {array.shape}"
        )


def check_same_dtype(reference_name: str, reference: np.ndarray, **others: np.ndarray) -> None:
    """Raise ``ValueError`` if any of ``others`` has a different dtype from ``reference``."""
    for name, array in others.items():
        if array.dtype != reference.dtype:
            raise ValueError(
                f"{name}: dtype {array.dtype} differs from {reference_name}'s {reference.dtype}; "
                "pass every float array in one dtype (float32 or float64)"
            )
