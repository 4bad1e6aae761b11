"""Option domains, declared once next to a public function's signature.

``@domains(tol=Maybe(Real(low=0, low_open=True)), maxiter=Maybe(Integer(1)))`` states what
each numeric or categorical option may be. The same declaration checks a concrete value when
the function is called (a ``ValueError``/``TypeError`` naming the function, the option, the
domain and the value), writes the function's ``Domains:`` docstring section, and generates the
probe suite's values just outside each domain (``tests/test_probes.py``). Traced values
(inside ``jit``/``vmap``) are not checked: where a traced value can make a result meaningless,
the result carries a status.
"""

from __future__ import annotations

import abc
import functools
import inspect
import math
from typing import Any, Callable, Dict, Optional, Tuple

import jax
import numpy as np

#: every declared public function, by ``module.qualname`` (read by the probe suite)
DECLARED: Dict[str, Callable] = {}


class Domain(abc.ABC):
    """The allowed values of one option."""

    text: str = ""

    @abc.abstractmethod
    def check(self, value, where: str, name: str) -> None:
        """Raise ``TypeError``/``ValueError`` naming ``where`` and ``name`` unless ``value`` is in
        the domain (traced values pass)."""

    def outside(self) -> Tuple[Any, ...]:
        """Values just outside the domain (for the probe suite)."""
        return ()

    def normalise(self, value):
        """The checked value as the body receives it (a NumPy integer or bool becomes the Python
        one, which every static use accepts); by default the value itself."""
        return value


def describe(value) -> str:
    """What a user passed, in their words: a type name, or an array's shape and dtype (never
    an internal type such as a tracer's)."""
    if isinstance(value, jax.core.Tracer):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype} traced by jit/vmap"
    if isinstance(value, (jax.Array, np.ndarray)):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def _is_traced(value) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(value))


def _static(value, where, name, text) -> None:
    if _is_traced(value):
        raise TypeError(
            f"{where}: `{name}` is a static option (it shapes the program) and must be {text}, "
            f"got {describe(value)}: pass a Python value, "
            "not one traced by jit/vmap (with optax.inject_hyperparams, "
            f"write `optax.inject_hyperparams(..., static_args=({name!r},))`)."
        )


def _as_array(value, where, name, text) -> np.ndarray:
    """``value`` read as a NumPy array, or a ``TypeError`` saying it must be ``text``."""
    try:
        return np.asarray(value)
    except Exception as err:  # noqa: BLE001 - an object numpy cannot read
        raise TypeError(f"{where}: `{name}` must be {text}, got {describe(value)}.") from err


class Real(Domain):
    """A real scalar (a Python number or a 0-d array) in ``[low, high]`` by default; ``low_open``
    and ``high_open`` choose the ends, ``allow_inf`` admits ``inf``; ``static`` refuses a value
    traced by jit/vmap (an option that shapes the program, such as a solver's tolerance)."""

    def __init__(
        self,
        low: Optional[float] = None,
        high: Optional[float] = None,
        *,
        low_open: bool = False,
        high_open: bool = False,
        allow_inf: bool = False,
        static: bool = False,
    ):
        self.low, self.high, self.low_open, self.high_open, self.allow_inf = (
            low,
            high,
            low_open,
            high_open,
            allow_inf,
        )
        self.static = static
        parts = []
        if low is not None:
            parts.append(f"{'>' if low_open else '>='} {low:g}")
        if high is not None:
            parts.append(f"{'<' if high_open else '<='} {high:g}")
        self.bound = " and ".join(parts)
        self.text = (
            f"a {'' if allow_inf else 'finite '}real number{' ' + self.bound if self.bound else ''}"
        )

    def check(self, value, where, name):
        if self.static:
            _static(value, where, name, self.text)
        if _is_traced(value):
            return
        if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
            raise TypeError(
                f"{where}: `{name}` must be a real number, got {describe(value)} {value!r}."
            )
        arr = _as_array(value, where, name, "a real number")
        if arr.dtype.kind not in "iuf" or arr.ndim != 0:
            raise TypeError(
                f"{where}: `{name}` must be a real scalar, got {type(value).__name__} of dtype "
                f"{arr.dtype} and shape {arr.shape}."
            )
        v = float(arr)
        if math.isnan(v) or (math.isinf(v) and not self.allow_inf):
            raise ValueError(f"{where}: `{name}` must be finite, got {v!r} ({self.text}).")
        bad = False
        if self.low is not None:
            bad |= v <= self.low if self.low_open else v < self.low
        if self.high is not None:
            bad |= v >= self.high if self.high_open else v > self.high
        if bad:
            raise ValueError(f"{where}: `{name}` must be {self.bound}, got {v!r} ({self.text}).")

    def outside(self):
        out = [float("nan"), "1.0", True]
        if not self.allow_inf:
            out.append(float("inf"))
        if self.low is not None:
            out.append(self.low if self.low_open else self.low - max(1e-3, abs(self.low) * 1e-3))
        if self.high is not None:
            out.append(
                self.high if self.high_open else self.high + max(1e-3, abs(self.high) * 1e-3)
            )
        return tuple(out)


class Complex(Domain):
    """A complex scalar (a Python ``complex`` or real number, or a 0-d array), finite: a
    hyperparameter that lives in the complex plane (complex momentum's ``beta``)."""

    text = "a finite complex number"

    def check(self, value, where, name):
        if _is_traced(value):
            return
        if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, got {describe(value)} {value!r}."
            )
        arr = _as_array(value, where, name, self.text)
        if arr.dtype.kind not in "iufc" or arr.ndim != 0:
            raise TypeError(
                f"{where}: `{name}` must be a complex scalar, got {type(value).__name__} of dtype "
                f"{arr.dtype} and shape {arr.shape}."
            )
        if not np.isfinite(arr):
            raise ValueError(f"{where}: `{name}` must be finite, got {complex(arr)!r}.")

    def outside(self):
        return (complex("nan"), complex(0.5, float("inf")), "0.5j", True, np.array([0.5j, 0.5j]))


class FiniteArray(Domain):
    """An array of real numbers (or a scalar), every entry finite: the numbers that define a
    game (a matrix, a vector of probabilities, a reference point)."""

    text = "an array of finite real numbers"

    def check(self, value, where, name):
        if _is_traced(value):
            return
        arr = _as_array(value, where, name, self.text)
        if isinstance(value, (str, bytes)) or arr.dtype.kind not in "iuf":
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, "
                f"got {describe(value)} of dtype {arr.dtype}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{where}: `{name}` has non-finite entries (NaN or inf): it must be {self.text}."
            )

    def outside(self):
        return (float("nan"), np.array([1.0, np.inf]), "1.0")


class Integer(Domain):
    """A Python ``int`` (not a ``bool``) in ``[low, high]`` (static: it shapes the program)."""

    def __init__(self, low: Optional[int] = None, high: Optional[int] = None):
        self.low, self.high = low, high
        if low is not None and high is not None:
            self.text = f"an int in [{low}, {high}]"
        elif low == 1:
            self.text = "a positive int"
        elif low == 0:
            self.text = "a non-negative int"
        elif low is not None:
            self.text = f"an int >= {low}"
        else:
            self.text = "an int"

    def check(self, value, where, name):
        _static(value, where, name, self.text)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            hint = ""
            if isinstance(value, (jax.Array, np.ndarray)) and np.ndim(value) == 0:
                hint = (
                    " (optax.inject_hyperparams turns numbers into arrays; "
                    "to keep this static option a number, "
                    f"write `optax.inject_hyperparams(..., static_args=({name!r},))`)"
                )
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, got {describe(value)} {value!r}{hint}."
            )
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(f"{where}: `{name}` must be {self.text}, got {value!r}.")

    def normalise(self, value):
        return int(value) if isinstance(value, np.integer) else value

    def outside(self):
        out = [1.5, True, "2"]
        if self.low is not None:
            out.append(self.low - 1)
        if self.high is not None:
            out.append(self.high + 1)
        return tuple(out)


class IntSequence(Domain):
    """A non-empty tuple, list or range of Python ``int`` (not ``bool``), or a 1-D integer
    NumPy array, each at least ``low`` (static: sizes, orders)."""

    def __init__(self, low: int = 0):
        self.low = low
        self.text = f"a non-empty sequence of ints >= {low}, e.g. ({max(low, 1)}, {low + 2})"

    def check(self, value, where, name):
        _static(value, where, name, self.text)
        if isinstance(value, range) or (
            isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu"
        ):
            value = tuple(int(v) for v in value)
        if not isinstance(value, (tuple, list)):
            hint = f": write ({value!r},) for one" if isinstance(value, (int, np.integer)) else ""
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, got {describe(value)} {value!r}{hint}."
            )
        bad = [
            v
            for v in value
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer))
        ]
        if bad or not value:
            raise TypeError(f"{where}: `{name}` must be {self.text}, got {value!r}.")
        if min(value) < self.low:
            raise ValueError(f"{where}: `{name}` must be {self.text}, got {value!r}.")

    def normalise(self, value):
        return tuple(int(v) for v in value)

    def outside(self):
        return (3, (1.5,), ("2",), (), (self.low - 1,))


class Choice(Domain):
    """One of a fixed set of values (strings, or other hashables)."""

    def __init__(self, *options):
        self.options = options
        self.text = "one of " + ", ".join(repr(o) for o in options)

    def check(self, value, where, name):
        _static(value, where, name, self.text)
        try:
            ok = any(type(value) is type(o) and value == o for o in self.options)
        except Exception:  # noqa: BLE001 - an incomparable value
            ok = False
        if not ok:
            raise ValueError(f"{where}: `{name}` must be {self.text}; unknown `{name}` {value!r}.")

    def outside(self):
        return ("__not_an_option__", 3)


class PlayerOrder(Domain):
    """One of the named two-player orders, or a tuple that is a permutation of ``range(n)``
    for some ``n >= 2`` (the players in the order they move; static)."""

    def __init__(self, *named):
        self.named = named
        self.text = (
            ", ".join(repr(o) for o in named)
            + " or a permutation of range(n) as a tuple, e.g. (2, 0, 1)"
        )

    def check(self, value, where, name):
        _static(value, where, name, self.text)
        if isinstance(value, str):
            if value not in self.named:
                raise ValueError(
                    f"{where}: `{name}` must be {self.text}; unknown `{name}` {value!r}."
                )
            return
        if not isinstance(value, tuple) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in value
        ):
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, got {describe(value)} {value!r}."
            )
        if len(value) < 2 or sorted(int(i) for i in value) != list(range(len(value))):
            raise ValueError(
                f"{where}: `{name}` must be {self.text}; "
                f"{value!r} is not a permutation of range({len(value)})."
            )

    def outside(self):
        return ("__not_an_option__", (0, 0, 1), (1, 2), [1, 0], (0,))


class Flag(Domain):
    """A Python ``bool``."""

    text = "a bool (True or False)"

    def check(self, value, where, name):
        _static(value, where, name, self.text)
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"{where}: `{name}` must be {self.text}, got {describe(value)} {value!r}."
            )

    def normalise(self, value):
        return bool(value) if isinstance(value, np.bool_) else value

    def outside(self):
        return (1, "yes")


class Maybe(Domain):
    """``None`` (the documented default) or a value of ``inner``."""

    def __init__(self, inner: Domain):
        self.inner = inner
        self.text = f"None or {inner.text}"

    def check(self, value, where, name):
        if value is not None:
            try:
                self.inner.check(value, where, name)
            except (TypeError, ValueError) as err:
                raise type(err)(
                    str(err).replace(f"must be {self.inner.text}", f"must be {self.text}")
                ) from None

    def normalise(self, value):
        return None if value is None else self.inner.normalise(value)

    def outside(self):
        return self.inner.outside()


def check_options(declared: Dict[str, Domain], where: str, arguments: Dict[str, Any]) -> None:
    """Check every declared option that ``arguments`` (a call's bound arguments) holds, and put
    back the normalised value (a NumPy integer or bool becomes the Python one)."""
    for name, domain in declared.items():
        if name in arguments:
            value = arguments[name]
            domain.check(value, where, name)
            new = domain.normalise(value)
            if new is not value:
                arguments[name] = new


def declare(fn: Callable, public: Callable, declared: Dict[str, Domain]) -> Callable:
    """Register ``public`` (the checked form of ``fn``) as declaring ``declared``: its
    ``__domains__``, its ``Domains:`` docstring section and its entry in ``DECLARED``."""
    if declared:
        public.__domains__ = dict(declared)
        public.__doc__ = _with_domains(fn.__doc__, declared)
        if "<locals>" not in fn.__qualname__:  # a function made inside another is not public
            DECLARED[f"{fn.__module__}.{fn.__qualname__}"] = public
    return public


def where_of(fn: Callable) -> str:
    """How messages name ``fn``: a method with its class (``SpectralDensity.moments``)."""
    return fn.__qualname__ if "<locals>" not in fn.__qualname__ else fn.__name__


def domains(**declared: Domain) -> Callable[[Callable], Callable]:
    """Declare the domains of a public function's options (see the module docstring).

    The returned function checks every declared option that a call passes (defaults are
    valid by construction), then runs the function; it keeps the signature
    (``inspect.signature``) and gains ``__domains__`` and a ``Domains:`` docstring section.
    This is the entry layer of a function without points; one with points (modules as
    players, a compiled program) declares its domains through ``_validation.checks.entry``.
    """

    def wrap(fn: Callable) -> Callable:
        return one_layer(fn, declared, lambda bound: fn(*bound.args, **bound.kwargs))

    return wrap


def one_layer(fn: Callable, declared: Dict[str, Domain], run: Callable, kind: str = "domains"):
    """The public form of ``fn``: one frame that binds the call's arguments, checks the declared
    options and hands the bound arguments to ``run`` (``@domains`` runs ``fn``;
    ``_validation.checks.entry`` also splits modules and runs a compiled program)."""
    sig = inspect.signature(fn)
    unknown = sorted(set(declared) - set(sig.parameters))
    if unknown:
        raise TypeError(f"{kind} of {fn.__qualname__}: no parameter named {unknown}")
    where = where_of(fn)

    @functools.wraps(fn)
    def public(*args, **kwargs):
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)  # the call's own TypeError names the problem
        check_options(declared, where, bound.arguments)
        return run(bound)

    return declare(fn, public, declared)


def _with_domains(doc: Optional[str], declared: Dict[str, Domain]) -> Optional[str]:
    """``doc`` with a ``Domains:`` section listing each declared option's domain, after its
    ``Args:`` section (Google style, as napoleon renders it)."""
    if doc is None or not declared:
        return doc
    lines = doc.splitlines()
    indent = next((len(x) - len(x.lstrip()) for x in lines[1:] if x.strip()), 4)
    pad = " " * indent
    section = ["", f"{pad}Domains:"] + [
        f"{pad}  {name}: {d.text} (checked when concrete)." for name, d in declared.items()
    ]
    heads = [
        i
        for i, x in enumerate(lines)
        if x.strip() in ("Returns:", "Raises:", "Examples:", "References:", "Yields:")
    ]
    at = heads[0] if heads else len(lines)
    while at > 0 and not lines[at - 1].strip():
        at -= 1
    return "\n".join(lines[:at] + section + lines[at:])
