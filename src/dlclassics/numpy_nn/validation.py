"""Argument checks shared by the NumPy layers.

Every layer checks its inputs before computing anything, so a wrong shape fails with a
``ValueError`` that names the argument and the shapes seen, e.g.
``Wh: expected shape (H, H) = (5, 5), got (5, 4)``, instead of a broadcasting surprise later.

Dtypes have two modes:

- default (CS231n-compatible, what the assignment's code and notebooks expect): the array
  arguments of one call may be lists, integer arrays, or a mix of float32 and float64; they are
  converted with ``np.asarray`` and promoted to one float dtype as NumPy's own arithmetic would
  (``np.result_type``; integers and bools alone give float64, float16 gives float32). Inputs that
  are all float32 stay float32, so training in float32 never silently doubles its memory.
- strict (``strict_dtypes()`` or ``STRICT_DTYPES = True``): every float argument must already be a
  float32/float64 ndarray and all of one call must share one dtype, otherwise ``ValueError``;
  useful to catch an accidental float64 array in a float32 training run.

Integer index arguments (word indices, targets) are integer arrays in both modes; a list is
accepted in the default mode. Float indices, indices out of range and wrong shapes are errors in
both modes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The dtype mode of every layer (see the module docstring). Module-wide, not per thread.
STRICT_DTYPES = False


@contextmanager
def strict_dtypes(enabled: bool = True) -> Iterator[None]:
    """Within the ``with`` block, require float32/float64 ndarrays of one dtype per call.

    Restores the previous mode on exit.

    Example:
        >>> with strict_dtypes():
        ...     float_arrays(x=np.zeros(2, np.float32), Wx=np.zeros(2))
        Traceback (most recent call last):
        ValueError: Wx: dtype float64 differs from x's float32; pass every float array in one ...
    """
    global STRICT_DTYPES
    previous = STRICT_DTYPES
    STRICT_DTYPES = enabled
    try:
        yield
    finally:
        STRICT_DTYPES = previous


def _format_symbols(symbols: Sequence[str]) -> str:
    """``("H",)`` -> ``"(H,)"`` and ``("N", "T")`` -> ``"(N, T)"``, like Python prints tuples."""
    if len(symbols) == 1:
        return f"({symbols[0]},)"
    return "(" + ", ".join(symbols) + ")"


def _as_array(name: str, value: object) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(value).__name__}")
    return value


def _check_ndim(name: str, array: np.ndarray, symbols: Sequence[str]) -> None:
    if array.ndim != len(symbols):
        raise ValueError(
            f"{name}: expected a {len(symbols)}-D array of shape {_format_symbols(symbols)}, "
            f"got shape {array.shape}"
        )


def check_float(
    name: str, array: object, symbols: Sequence[str] | None, *, shape: Sequence[int] | None = None
) -> np.ndarray:
    """Check that ``array`` is a float32/float64 ndarray with ``len(symbols)`` dimensions.

    Inputs:
    - name: argument name used in the error message
    - array: the value to check
    - symbols: dimension names, e.g. ``("N", "T", "D")``; None accepts any number of dimensions
    - shape: the expected shape, checked with ``check_shape`` (None: any)

    Returns the array, unchanged.

    Example:
        >>> check_float("Wh", np.zeros((5, 4)), ("H", "H"), shape=(5, 5))
        Traceback (most recent call last):
        ValueError: Wh: expected shape (H, H) = (5, 5), got (5, 4)
    """
    array = _as_array(name, array)
    if array.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name}: expected a float32 or float64 array, got dtype {array.dtype}")
    if symbols is not None:
        _check_ndim(name, array, symbols)
    if shape is not None:
        check_shape(name, array, symbols, expected=shape)
    return array


def check_int(name: str, array: object, symbols: Sequence[str], *, upper: int) -> np.ndarray:
    """Check that ``array`` is an integer ndarray of indices in ``[0, upper)``.

    Inputs:
    - name: argument name used in the error message
    - array: the value to check
    - symbols: dimension names, e.g. ``("N", "T")``
    - upper: exclusive upper bound of the indices (a vocabulary or class count)

    Returns the array, unchanged.

    Example:
        >>> check_int("y", np.array([[0, 7]]), ("N", "T"), upper=5)
        Traceback (most recent call last):
        ValueError: y: indices must lie in [0, 5), got values from 0 to 7
    """
    array = _as_array(name, array)
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name}: expected an integer array of indices, got dtype {array.dtype}")
    _check_ndim(name, array, symbols)
    if array.size and (array.min() < 0 or array.max() >= upper):
        raise ValueError(
            f"{name}: indices must lie in [0, {upper}), got values from {array.min()} "
            f"to {array.max()}"
        )
    return array


def check_shape(
    name: str, array: np.ndarray, symbols: Sequence[str], *, expected: Sequence[int]
) -> None:
    """Raise ``ValueError`` unless ``array.shape == tuple(expected)``.

    The message shows the symbolic shape, its value and what was seen.

    Example:
        >>> check_shape("Wh", np.zeros((5, 4)), ("H", "H"), expected=(5, 5))
        Traceback (most recent call last):
        ValueError: Wh: expected shape (H, H) = (5, 5), got (5, 4)
    """
    expected = tuple(int(size) for size in expected)
    if array.shape != expected:
        raise ValueError(
            f"{name}: expected shape {_format_symbols(symbols)} = {expected}, got {array.shape}"
        )


def check_same_dtype(reference_name: str, reference: np.ndarray, **others: np.ndarray) -> None:
    """Raise ``ValueError`` if any of ``others`` has a different dtype from ``reference``.

    Example:
        >>> check_same_dtype("x", np.zeros(2), Wx=np.zeros(2, dtype=np.float32))
        Traceback (most recent call last):
        ValueError: Wx: dtype float32 differs from x's float64; pass every float array in one ...
    """
    for name, array in others.items():
        _check_dtype_matches(name, array.dtype, reference_name, reference.dtype)


def _check_dtype_matches(
    name: str, dtype: np.dtype, reference_name: str, reference_dtype: np.dtype
) -> None:
    """Raise ``ValueError`` naming both arguments unless ``dtype == reference_dtype``."""
    if dtype != reference_dtype:
        raise ValueError(
            f"{name}: dtype {dtype} differs from {reference_name}'s {reference_dtype}; "
            "pass every float array in one dtype (float32 or float64)"
        )


def _promoted_dtype(arrays: Sequence[np.ndarray]) -> np.dtype:
    """The float dtype NumPy's arithmetic would give ``arrays``: float32 or float64."""
    dtype = np.result_type(*arrays)
    if dtype.kind in "biu":  # integers or bools only
        return np.dtype(np.float64)
    if dtype == np.float16:
        return np.dtype(np.float32)
    return dtype  # float32 or float64: longer floats are refused by _as_numeric


def _as_numeric(name: str, value: object) -> np.ndarray:
    """``np.asarray(value)``, which must hold bools, integers, float16, float32 or float64."""
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or (array.dtype.kind == "f" and array.dtype.itemsize > 8):
        raise ValueError(f"{name}: expected a float or integer array, got dtype {array.dtype}")
    return array


def float_arrays(**arrays: object) -> tuple[np.ndarray, ...]:
    """The float arguments of one call, as ndarrays of one float dtype, in the order given.

    Default mode: ``np.asarray`` then promotion to a common float32/float64 dtype (no copy when
    an array already has it). Strict mode: each must be a float32/float64 ndarray and all must
    share the first one's dtype; they are returned unchanged. Shapes are not checked here.

    Example:
        >>> x, w = float_arrays(x=[[1, 2]], w=np.ones((2, 3), dtype=np.float32))
        >>> x.dtype, w.dtype  # integers with float32 promote as NumPy would
        (dtype('float64'), dtype('float64'))
    """
    if STRICT_DTYPES:
        checked = {name: check_float(name, array, None) for name, array in arrays.items()}
        first_name, first = next(iter(checked.items()))
        check_same_dtype(first_name, first, **checked)
        return tuple(checked.values())
    values = [_as_numeric(name, a) for name, a in arrays.items()]
    dtype = _promoted_dtype(values)
    return tuple(np.asarray(a, dtype=dtype) for a in values)


def int_array(name: str, array: object) -> np.ndarray:
    """An index argument as an ndarray: lists are converted in the default mode only.

    The dtype and range are checked by ``check_int``.

    Example:
        >>> int_array("y", [[0, 2]]).tolist()
        [[0, 2]]
    """
    if STRICT_DTYPES:
        return _as_array(name, array)
    return np.asarray(array)


def promote_cache(cache: tuple, dtype: np.dtype) -> tuple:
    """``cache`` (a NamedTuple or tuple) with its float arrays in ``dtype``; itself if they are.

    Example:
        >>> cache = promote_cache((np.zeros(2, np.float32), 3), np.dtype(np.float64))
        >>> cache[0].dtype, cache[1]  # float arrays converted, anything else kept
        (dtype('float64'), 3)
    """
    if all(not isinstance(f, np.ndarray) or f.dtype.kind != "f" or f.dtype == dtype for f in cache):
        return cache
    fields = [
        f.astype(dtype) if isinstance(f, np.ndarray) and f.dtype.kind == "f" else f for f in cache
    ]
    return type(cache)(*fields) if hasattr(cache, "_fields") else tuple(fields)


def check_upstream(
    name: str, grad: object, symbols: Sequence[str], *, shape: Sequence[int], cache: tuple
) -> tuple[np.ndarray, tuple]:
    """Check an upstream gradient of a backward pass; return it and the forward pass's cache,
    both in the dtype the backward pass computes in.

    Default mode: NumPy's promotion of the gradient's dtype with the forward pass's (a float32
    forward pass given a float64 gradient runs backward in float64, as the CS231n code would);
    the cache is converted only if that differs from the forward pass's dtype.
    Strict mode: the gradient must be a float32/float64 ndarray of the forward pass's dtype.
    Either way its shape must be ``shape``.

    Example:
        >>> cache = (np.zeros((2, 3), dtype=np.float32),)
        >>> dout = np.ones((2, 4))
        >>> dout, cache = check_upstream("dout", dout, ("N", "M"), shape=(2, 4), cache=cache)
        >>> dout.dtype, cache[0].dtype  # a float64 gradient runs the backward pass in float64
        (dtype('float64'), dtype('float64'))
    """
    # the dtype the forward pass ran in: that of the first float array of its cache
    forward_dtype = next(
        f.dtype for f in cache if isinstance(f, np.ndarray) and f.dtype.kind == "f"
    )
    if STRICT_DTYPES:
        grad = check_float(name, grad, None)
        _check_dtype_matches(name, grad.dtype, "the forward input", forward_dtype)
    else:
        grad = _as_numeric(name, grad)
        dtype = _promoted_dtype([grad, np.empty(0, dtype=forward_dtype)])
        grad = np.asarray(grad, dtype=dtype)
        cache = promote_cache(cache, dtype)
    return check_float(name, grad, symbols, shape=shape), cache
