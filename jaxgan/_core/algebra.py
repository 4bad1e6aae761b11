"""The step algebra: the role of every stage of a chain, the one rule that says which stage may
follow which, and the immutable field each stage is handed.

The design and its reasons: the docs page "Design notes" (``docs/design.md``), section
"The step algebra".
"""

from __future__ import annotations

import enum
import math
import weakref
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import jax
import optax

from .partition import on_parameters, split_point

#: extra arguments of the real call (immutable data) and of the probe trace
FIELD = "jaxgan_field"
AT = "jaxgan_at"
PLAYER = "jaxgan_player"
PROBE = "jaxgan_probe"
PLAYERS = ("phi", "theta")
_OURS = (FIELD, AT, PLAYER, PROBE)


class Role(str, enum.Enum):
    """The role of a stage in a chain (the step algebra)."""

    CORRECTION = "field correction"
    DIRECTION = "direction stage"
    STEP = "full step"
    PROJECTION = "projection"


class Side(str, enum.Enum):
    """Which stage of a pair a ``Property`` reads."""

    BEFORE = "before"
    AFTER = "after"


class Property(NamedTuple):
    """A declared property of one stage of a pair (a field of its ``Info``), e.g.
    ``Property(Side.AFTER, "uses_field")``."""

    side: Side
    field: str

    def of(self, before: "Info", after: "Info") -> bool:
        return bool(getattr(before if self.side is Side.BEFORE else after, self.field))


class Rule(NamedTuple):
    """One entry of ``RULE``: may ``after`` follow ``before``?

    ``allowed`` is the verdict; ``unless`` is a ``Property`` of a stage (the earlier stage
    moves once, the later one uses the field) that reverses it when false; ``why`` is the
    message when refused.
    """

    allowed: bool
    why: str = ""
    unless: Optional[Property] = None


C, D, S, P = Role.CORRECTION, Role.DIRECTION, Role.STEP, Role.PROJECTION

_FIRST = (
    "{after} must come first in the optax chain, before any learning-rate scaling or optimiser: "
    "it reads its updates as the field xi, "
    "but {before} already transformed them (e.g. `optax.chain(optax.sgd(lr), {after_call}(...))`). "
    "Write `optax.chain({after_call}(...), optax.sgd(lr))`; "
    "several corrections may be chained together ahead of the optimiser."
)
_AFTER_STEP = (
    "{before} is a full step: it produces the final update, learning rate included, "
    "and nothing that changes the update may follow it, so {after} after it is refused. "
    "Put corrections before it (`optax.chain(jg.transforms.consensus(g), {before_call}(...))`) "
    "and direction stages inside it where it takes an inner optimiser "
    "(`{before_call}(optax.chain(...))`)."
)

#: What may follow what: ``RULE[(before, after)]``. The test suite enumerates it.
RULE: Dict[Tuple[Role, Role], Rule] = {
    (C, C): Rule(True),
    (C, D): Rule(True),
    (C, S): Rule(
        True,
        unless=Property(Side.AFTER, "uses_field"),
        why="{after} does not use the incoming field, so {before} before it would be ignored: "
        "{after_why}",
    ),
    (C, P): Rule(
        False,
        "{after} right after {before} would take the corrected field itself as the update "
        "(no learning rate: a step of one along the field, uphill): put a direction stage "
        "or a full step between, `optax.chain({before_call}(...), optax.sgd(lr), <projection>)`.",
    ),
    (D, C): Rule(False, _FIRST),
    (D, D): Rule(True),
    (D, S): Rule(
        False,
        "{after} must come first in the optax chain, after the corrections only: "
        "it is a full step, which takes the (corrected) field and applies its own learning rate, "
        "but {before} before it already turned the field into an update, "
        "which would change the algorithm. Write the step alone after the corrections, "
        "`optax.chain(<corrections>, {after_call}(...))`, "
        "with its learning rate in its own arguments (or in its inner optimiser).",
    ),
    (D, P): Rule(True),
    (S, C): Rule(False, _AFTER_STEP),
    (S, D): Rule(False, _AFTER_STEP),
    (S, S): Rule(False, _AFTER_STEP),
    (S, P): Rule(
        True,
        unless=Property(Side.BEFORE, "moves_once"),
        why="{after} after {before} would project once per round, "
        "not after each step {before} takes: {inner_remedy}.",
    ),
    (P, C): Rule(
        False,
        "{after} after {before}: a projection comes last in a step "
        "(it acts on the point after the step), and a field correction comes first. "
        "Write `optax.chain({after_call}(...), ..., <projection>)`.",
    ),
    (P, D): Rule(
        False,
        "{after} after {before} would move the point off the set it projects on: "
        "a projection comes last, after every direction stage "
        "(`optax.chain(..., optax.sgd(lr), <projection>)`).",
    ),
    (P, S): Rule(
        False,
        "{before} before the full step {after} would project before the step, never after it: "
        "{remedy}.",
    ),
    (P, P): Rule(True),
}


class Place(str, enum.Enum):
    """Where a chain runs: the top of a step, or inside a full step's inner optimiser."""

    TOP = "the top of the step"
    JOINT = "a joint inner optimiser"
    SHIFTED = "a joint inner optimiser fed a field evaluated at another point"
    PLAYER = "a per-player inner optimiser"
    DIRECTION_ONLY = "an inner optimiser fed a direction that is not a field"
    FIELD = "a corrected field (`transform=` of a spectrum, a flow or `corrected_field`)"


#: Which roles a chain may hold, by where it runs (``None``: allowed).
PLACE: Dict[Tuple[Place, Role], Optional[str]] = {
    **{(Place.TOP, r): None for r in Role},
    **{(Place.JOINT, r): None for r in Role},
    (Place.PLAYER, C): (
        "{name} inside {wrapper}'s inner optimiser would be evaluated at the wrong point: "
        "put corrections before the wrapper, "
        "e.g. `optax.chain({name_call}(...), jg.transforms.{wrapper}(...))`; "
        "{wrapper} then uses the corrected field at every point it visits."
    ),
    (Place.PLAYER, D): None,
    (Place.PLAYER, S): (
        "{name} inside {wrapper}'s inner optimiser: "
        "a full step needs both players, but each inner optimiser of {wrapper} steps one player. "
        "Use `{name_call}(...)` on its own, or direction stages inside {wrapper}."
    ),
    (Place.PLAYER, P): None,
    (Place.DIRECTION_ONLY, C): (
        "{name} inside {wrapper}'s inner optimiser would correct a direction that is not a field: "
        "regularise the game instead (jg.regularizers)."
    ),
    (Place.DIRECTION_ONLY, D): None,
    (Place.DIRECTION_ONLY, S): (
        "{name} inside {wrapper}'s inner optimiser: "
        "{wrapper} hands its inner optimiser a direction, not a field, "
        "so a full step there has no field to step with. Use direction stages inside {wrapper}."
    ),
    (Place.DIRECTION_ONLY, P): None,
    **{(Place.SHIFTED, r): None for r in (C, D, P)},
    (Place.SHIFTED, S): (
        "{name} inside {wrapper}'s inner optimiser: "
        "{wrapper} applies its inner optimiser at the current point to the field of another point "
        "(the look-ahead), which gives a full step no meaning. Nest the other way round "
        "(`{name_call}(...)` of a joint step) or use direction stages inside {wrapper}."
    ),
    (Place.FIELD, C): None,
    **{
        (Place.FIELD, r): (
            "`transform=` takes field corrections only "
            "(consensus, jare, sga, hamiltonian, opponent_lookahead, lola, sos, follow_the_ridge): "
            "{name} is a "
            + r.value
            + ", and the spectrum, flow or corrected field is of the field, "
            "not of a step. For the spectrum of a step use jg.update_jacobian / jg.spectral_radius."
        )
        for r in (D, S, P)
    },
}

#: Where a chain must turn the field into an update (a direction stage or a full step)
NEEDS_UPDATE = {Place.TOP, Place.JOINT, Place.SHIFTED, Place.PLAYER, Place.DIRECTION_ONLY}


class Counter(NamedTuple):
    """A step counter a stage declares in its state: the map repeats every ``period`` steps,
    or (``period=None``) never repeats, for the reason ``why``."""

    period: Optional[int]
    why: str = ""


class Info(NamedTuple):
    """What a stage declares: its role and name, and for a full step whether it moves the
    point once per round (a projection may follow it) and whether it uses the incoming field."""

    role: Role
    name: str
    moves_once: bool = False
    uses_field: bool = True
    why: str = ""
    form: str = ""
    namespace: Optional[str] = "transforms"


def call(info: "Info") -> str:
    """How a user writes the stage in a message: ``jg.transforms.cgd`` for jaxgan's own (in its
    ``namespace``), the declared name for a stage of the user's (``jg.declare``,
    ``field_correction``: no namespace)."""
    return f"jg.{info.namespace}.{info.name}" if info.namespace else info.name


def is_declared(info: "Info") -> bool:
    """Whether a recorded stage is one of jaxgan's own (not an undeclared optax stage)."""
    return info is not _UNDECLARED


_UNDECLARED = Info(
    Role.DIRECTION,
    "a direction stage (an optax transformation, or an optax wrapper that rebuilds the updates: "
    "masked, multi_transform, apply_if_finite)",
    namespace=None,
)


class Resolution(NamedTuple):
    """A resolved chain: its corrected field, the names of its corrections, and its counters
    (``Counter``) by the position of their leaf in ``jax.tree.leaves(state)``."""

    field: Callable
    corrections: Tuple[str, ...]
    counters: Dict[int, Counter]


class _Probe:
    """The record of one probe of a chain: the roles in the order met, the corrections' formulas
    and the declared counters (mutable, but it lives only while the probe runs)."""

    def __init__(self, start, place: Place, wrapper: Optional[str], counters: Dict[int, Counter]):
        self.current = start
        self.sequence: List[Info] = []
        self.place, self.wrapper = place, wrapper
        self.corrections: List[Tuple[str, Callable]] = []
        self.counters = counters

    def record(self, info: Info, updates, correct: Optional[Callable] = None, counter=None) -> None:
        if updates is not self.current:
            self.sequence.append(_UNDECLARED)
        self.sequence.append(info)
        self.current = updates
        if info.role is Role.CORRECTION:
            self.corrections.append((info.name, correct))
        if counter is not None:
            leaf, declared = counter
            self.counters[id(leaf)] = declared

    def finish(self, out) -> None:
        if out is not self.current:
            self.sequence.append(_UNDECLARED)
        for before, after in zip(self.sequence, self.sequence[1:]):
            check_pair(before, after)
        for info in self.sequence:
            why = PLACE[(self.place, info.role)]
            if why is not None:
                raise ValueError(
                    why.format(name=info.name, name_call=call(info), wrapper=self.wrapper)
                )
        if self.place in NEEDS_UPDATE and not any(
            i.role in (Role.DIRECTION, Role.STEP) for i in self.sequence
        ):
            names = ", ".join(i.name for i in self.sequence) or "an empty chain"
            where = "" if self.wrapper is None else f" (inside {self.wrapper}'s inner optimiser)"
            raise ValueError(
                f"the step{where} has no stage that turns the field into an update: "
                f"{names} alone would step along the field itself with a step of one "
                "(uphill, without a learning rate). Add a direction stage or a full step, "
                "e.g. `optax.chain(<corrections>, optax.sgd(lr))` "
                "(step algebra: a step needs a direction stage or a full step)."
            )


def _projection_remedy(step: Info, projection: Info) -> str:
    """Where a projection goes for the full step ``step``: after a step that moves once, in the
    inner optimiser of one that moves several times."""
    if step.moves_once:
        return (
            f"write it after the step, `optax.chain({call(step)}(...), {call(projection)}(...))`, "
            "which projects after the step's one move"
        )
    if step.form:
        return "put it in the step's inner optimiser, " + step.form.format(
            after_call=call(projection)
        )
    return f"{step.name} has no inner optimiser to project in"


def check_pair(before: Info, after: Info) -> None:
    """Apply ``RULE`` to two consecutive stages; raise ``ValueError`` naming the rule."""
    rule = RULE[(before.role, after.role)]
    allowed = rule.allowed
    if rule.unless is not None and not rule.unless.of(before, after):
        allowed = not allowed
    if allowed:
        return
    message = rule.why.format(
        before=before.name,
        after=after.name,
        after_why=after.why,
        before_call=call(before),
        after_call=call(after),
        form=before.form.format(after_call=call(after))
        if before.form
        else f"`{call(before)}(...)`",
        remedy=_projection_remedy(after, before),
        inner_remedy=f"put it in the inner optimiser, {before.form.format(after_call=call(after))}"
        if before.form
        else f"{before.name} has no inner optimiser to project in, so it has no projected form",
    )
    raise ValueError(
        f"{message} (step algebra: a {after.role.value} may not follow a {before.role.value} here)"
    )


class CorrectedField:
    """``w -> C_k(...C_1(base(w), w)..., w)``: a field as corrections define it (immutable).

    Attributes:
      names: the corrections applied, in order (those of ``base`` first).
    """

    __slots__ = ("_base", "_corrections", "names")

    def __init__(self, base: Callable, corrections):
        self._base, self._corrections = base, tuple(c for _, c in corrections)
        self.names = getattr(base, "names", ()) + tuple(n for n, _ in corrections)

    def __call__(self, w):
        v = self._base(w)
        for correct in self._corrections:
            v = correct(v, w)
        return v


def compose(field: Callable, corrections) -> Callable:
    """``field`` corrected by ``corrections`` (pairs ``(name, correct(v, w))``, in order); the
    field itself when there are none."""
    return CorrectedField(field, corrections) if corrections else field


def is_corrected(field: Callable) -> bool:
    """Whether a field handed down differs from the game's ``xi`` (corrections came before)."""
    return isinstance(field, CorrectedField)


def probe(
    tx,
    start,
    state,
    params,
    extra: Dict[str, Any],
    place: Place = Place.TOP,
    wrapper: Optional[str] = None,
    counters: Optional[Dict[int, Counter]] = None,
    check: bool = True,
) -> _Probe:
    """Read the chain ``tx`` (``walk``: its structure where it is known, a probe of ``update``
    for an opaque part) and, with ``check``, apply the rule to what it recorded."""
    record = _Probe(start, place, wrapper, {} if counters is None else counters)
    clean = {k: v for k, v in extra.items() if k not in _OURS}
    if split_point(params)[1] is not None:  # module parameters: update splits them itself
        _call_in_probe_mode(tx.update, start, state, params, clean, record)
    else:
        walk(tx.update, start, state, params, clean, record)
    if check:
        record.finish(record.current)
    return record


# --------------------------------------------------------------------------- the chain's structure
# A chain's structure is known when it is built from jaxgan's own stages (each registers its
# ``Node`` when it is made), ``jg.chain`` and ``optax.chain`` (whose stages are read from the
# chain once, by their ``update`` functions) and optax's own stages that hold no other
# transformation. ``walk`` reads such a chain without calling any ``update``; a part it cannot
# see into (``optax.inject_hyperparams``, ``masked``, a closure of the user's) is opaque, and
# only it is probed: its ``update`` is called with the extra argument ``jaxgan_probe``, to which
# every jaxgan stage inside answers by recording itself (``transformation``). The design page,
# section "The step algebra", describes both.


class Kind(str, enum.Enum):
    """What ``walk`` knows of an ``update`` function."""

    STAGE = "a jaxgan stage"
    CHAIN = "a chain of stages"
    IDENTITY = "a stage that passes its updates through"
    DIRECTION = "an optax stage that transforms the updates"
    OPAQUE = "a transformation whose parts are not known: probed"


class Node(NamedTuple):
    """The structure of one ``update`` function: its kind, and for a jaxgan stage its declared
    ``Info``, its field correction, its counter and its inner probe (``transformation``); for a
    chain, the ``update`` functions of its stages."""

    kind: Kind
    info: Optional[Info] = None
    correct: Optional[Callable] = None
    counter: Optional[Callable] = None
    inner: Optional[Callable] = None
    children: Tuple[Callable, ...] = ()


_NODES: "weakref.WeakKeyDictionary[Callable, Node]" = weakref.WeakKeyDictionary()
_CHAIN_CODE = optax.chain(optax.identity()).update.__code__
_IDENTITY_CODE = optax.identity().update.__code__
_PLAIN_CODE = optax.with_extra_args_support(
    optax.GradientTransformation(lambda p: (), lambda u, s, p=None: (u, s))
).update.__code__
#: optax's transformations that hold or build other transformations: opaque (probed)
_OPTAX_WRAPPERS = (
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "masked",
    "multi_transform",
    "partition",
    "apply_if_finite",
    "MultiSteps",
    "lookahead",
    "conditionally_transform",
    "conditionally_mask",
    "maybe_update",
    "skip_not_finite",
    "named_chain",
    "freeze",
    "selective_transform",
)


def _closure(fn) -> Dict[str, Any]:
    cells = getattr(fn, "__closure__", None) or ()
    return dict(zip(fn.__code__.co_freevars, (c.cell_contents for c in cells)))


def _holds_a_transformation(values) -> bool:
    for v in values:
        if isinstance(v, optax.GradientTransformation):
            return True
        if isinstance(v, (tuple, list)) and _holds_a_transformation(v):
            return True
        if isinstance(v, dict) and _holds_a_transformation(v.values()):
            return True
    return False


def node_of(update: Callable) -> Node:
    """The structure of ``update`` (cached by the function: a chain's structure is read once)."""
    try:
        known = _NODES.get(update)
    except TypeError:
        return Node(Kind.OPAQUE)
    if known is not None:
        return known
    node = _read(update)
    try:
        _NODES[update] = node
    except TypeError:
        pass
    return node


def _read(update: Callable) -> Node:
    code = getattr(update, "__code__", None)
    if code is None:
        return Node(Kind.OPAQUE)
    if code is _CHAIN_CODE:
        return Node(Kind.CHAIN, children=tuple(_closure(update)["update_fns"]))
    if code is _IDENTITY_CODE:
        return Node(Kind.IDENTITY)
    if code is _PLAIN_CODE:  # a transformation without extra arguments, wrapped by optax
        inner = node_of(_closure(update)["tx"].update)
        return inner if inner.kind in (Kind.DIRECTION, Kind.IDENTITY) else Node(Kind.OPAQUE)
    module = getattr(update, "__module__", "") or ""
    outer = update.__qualname__.split(".<locals>")[0]
    if (
        module.startswith("optax.")
        and outer not in _OPTAX_WRAPPERS
        and not _holds_a_transformation(_closure(update).values())
    ):
        return Node(Kind.DIRECTION)
    return Node(Kind.OPAQUE)


#: the updates after an optax stage transformed them (``walk`` does not compute them)
_TRANSFORMED = object()


def walk(update: Callable, start, state, params, extra: Dict[str, Any], record: _Probe) -> None:
    """Record the stages of the chain ``update`` in ``record``, in order, from its structure:
    a jaxgan stage records its declared role (and its correction, counter and inner chains), an
    optax stage a direction stage; an opaque part is probed (``_call_in_probe_mode``)."""
    node = node_of(update)
    if node.kind is Kind.IDENTITY:
        return
    if node.kind is Kind.CHAIN:
        if not isinstance(state, tuple) or len(state) != len(node.children):
            _call_in_probe_mode(update, start, state, params, extra, record)
            return
        for child, sub in zip(node.children, state):
            walk(child, start, sub, params, extra, record)
        return
    if node.kind is Kind.DIRECTION:
        record.sequence.append(_UNDECLARED)
        record.current = _TRANSFORMED
        return
    if node.kind is Kind.STAGE:
        game = extra.get("game")
        fn = None if node.correct is None else node.correct(game)
        counter = None if node.counter is None else node.counter(state)
        record.record(node.info, record.current, fn, counter)
        if node.inner is not None:
            node.inner(start, state, params, extra, record)
        return
    _call_in_probe_mode(update, start, state, params, extra, record)


def _call_in_probe_mode(update, start, state, params, extra, record: _Probe) -> None:
    """The fallback for an opaque part: call its ``update`` with ``jaxgan_probe`` (each jaxgan
    stage inside records itself and hands its updates back untouched); what it returns, if not
    the updates it was handed, was transformed by a stage that is not jaxgan's."""
    given = start if record.current is start else jax.tree.map(lambda x: x, start)
    if record.current is not start:
        record.current = given
    out, _ = update(given, state, params, **extra, **{PROBE: record})
    if out is not record.current:
        record.sequence.append(_UNDECLARED)
        record.current = out


def same_structure(update: Callable, as_update: Callable) -> None:
    """Declare that ``update`` (a wrapper that only resolves and forwards, ``jg.chain``) has the
    structure of ``as_update``."""
    _NODES[update] = node_of(as_update)


def static_sequence(tx) -> Optional[List[Info]]:
    """The roles of the chain ``tx`` in order, read from its structure alone (no state, no call),
    or ``None`` where a part is opaque: what ``jg.chain`` checks against ``RULE`` when built."""
    out: List[Info] = []

    def read(update) -> bool:
        node = node_of(update)
        if node.kind is Kind.IDENTITY:
            return True
        if node.kind is Kind.CHAIN:
            return all(read(c) for c in node.children)
        if node.kind is Kind.DIRECTION:
            out.append(_UNDECLARED)
            return True
        if node.kind is Kind.STAGE:
            out.append(node.info)
            return True
        return False

    return out if read(tx.update) else None


def check_sequence(sequence: List[Info]) -> None:
    """``RULE`` on each pair of consecutive stages of ``sequence``."""
    for before, after in zip(sequence, sequence[1:]):
        check_pair(before, after)


def resolve(
    tx,
    field: Callable,
    start,
    state,
    params,
    extra: Dict[str, Any],
    place: Place = Place.TOP,
    wrapper: Optional[str] = None,
) -> Resolution:
    """The resolution of a chain: checked against ``RULE`` and ``PLACE``, its corrected field
    (``field`` corrected by its corrections) and its counters, keyed by the position of their
    leaf in ``jax.tree.leaves(state)``.

    The probe runs in the caller's own trace (the optax stages' arithmetic it traces is dead
    code, removed by the compiler): a correction built there from a traced hyperparameter
    (``optax.inject_hyperparams(jg.transforms.consensus)``) then belongs to the trace that uses its
    field.
    """
    leaves = jax.tree.leaves(state)
    record = probe(tx, start, state, params, extra, place, wrapper)
    position = {id(x): i for i, x in enumerate(leaves)}
    counters = {position[k]: v for k, v in record.counters.items() if k in position}
    corrections = tuple(record.corrections)
    return Resolution(compose(field, corrections), tuple(n for n, _ in corrections), counters)


def inner_field(inner, field: Callable, start, state, params, extra: Dict[str, Any]) -> Callable:
    """The field a joint inner optimiser hands a full step nested in it: ``field`` corrected by
    the inner's own corrections (resolved abstractly, once per trace)."""
    return resolve(inner, field, start, state, params, extra, Place.JOINT).field


# --------------------------------------------------------------------------- what stages call

#: the declared ``Info`` of each jaxgan stage, by its ``update`` function (read-only metadata)
_DECLARED: "weakref.WeakKeyDictionary[Callable, Info]" = weakref.WeakKeyDictionary()


def info_of(tx) -> Optional[Info]:
    """The role a jaxgan stage declared, or ``None`` (an optax transformation, a chain)."""
    try:
        return _DECLARED.get(tx.update)
    except TypeError:
        return None


def check_place(tx, place: Place, wrapper: str) -> None:
    """Refuse, when a step is built, a jaxgan stage that ``PLACE`` forbids in ``wrapper``'s
    inner optimiser (chains are checked when the step is traced)."""
    info = info_of(tx)
    if info is not None:
        why = PLACE[(place, info.role)]
        if why is not None:
            raise ValueError(why.format(name=info.name, name_call=call(info), wrapper=wrapper))


def transformation(
    info: Info,
    init_fn,
    update_fn,
    *,
    probe_inner: Optional[Callable] = None,
    correct: Optional[Callable] = None,
    counter: Optional[Callable] = None,
) -> optax.GradientTransformationExtraArgs:
    """A jaxgan stage: ``update_fn`` in a real call; in the probe, it records ``info`` (and,
    for a correction, ``correct(game) -> (v, w) -> v'``; for a counter, ``counter(state) ->
    (leaf, Counter)``), lets ``probe_inner(updates, state, params, extra, record)`` probe its
    inner optimisers, and returns its updates untouched."""

    def update(updates, state, params=None, **extra_args):
        record = extra_args.get(PROBE)
        if not isinstance(record, _Probe):
            return update_fn(updates, state, params, **extra_args)
        game = extra_args.get("game")
        fn = None if correct is None else correct(game)
        record.record(info, updates, fn, None if counter is None else counter(state))
        if probe_inner is not None:
            probe_inner(updates, state, params, extra_args, record)
        return updates, state

    init_fn, update = on_parameters(init_fn, update)
    _DECLARED[update] = info
    _NODES[update] = Node(Kind.STAGE, info, correct, counter, probe_inner)
    return optax.GradientTransformationExtraArgs(init_fn, update)


def probe_inner(
    record: _Probe, tx, start, state, params, extra: Dict[str, Any], place: Place, wrapper: str
) -> _Probe:
    """Probe a full step's inner optimiser (inside the parent's probe): its own rule, its counters
    shared with the parent's."""
    return probe(tx, start, state, params, extra, place, wrapper, record.counters)


def inner_extra(
    extra: Dict[str, Any],
    *,
    field: Optional[Callable] = None,
    at=None,
    player: Optional[str] = None,
) -> Dict[str, Any]:
    """The extra arguments of an inner optimiser's real call: the caller's, with its own field,
    evaluation point and player (data handed down; nothing shared is changed)."""
    out = {k: v for k, v in extra.items() if k not in _OURS}
    if field is not None:
        out[FIELD] = field
    if at is not None:
        out[AT] = at
    if player is not None:
        out[PLAYER] = player
    return out


def field_of(extra: Dict[str, Any], default: Callable) -> Callable:
    """The field a full step evaluates at new points: the one the chain handed down, else
    ``default`` (the game's ``xi``: a full step called on its own)."""
    field = extra.get(FIELD)
    return default if field is None else field


def evaluation_point(extra: Dict[str, Any], params):
    """Where a correction evaluates its Jacobian products: where its incoming field was
    evaluated (``params``, unless a full step says otherwise: extragradient's look-ahead)."""
    at = extra.get(AT)
    return params if at is None else at


def player_of(extra: Dict[str, Any], where: str) -> str:
    """The player a per-player projection acts for (``jaxgan_player``), or a clear error."""
    player = extra.get(PLAYER)
    if isinstance(player, int) and not isinstance(player, bool):
        raise ValueError(
            f"{where} acts for a generator or a discriminator, so it is defined for two players; "
            f"here it steps player {player} of an n-player game."
        )
    if player not in PLAYERS:
        raise TypeError(
            f"{where}: got one player's parameters (not a jaxgan.Joint) but no `jaxgan_player`: "
            "use it inside jg.transforms.alternating, "
            "jg.transforms.per_player or jg.transforms.ttur "
            "(which say which player each step is for), or on the joint parameters."
        )
    return player


def lcm(periods) -> int:
    out = 1
    for p in periods:
        out = out * p // math.gcd(out, p)
    return out
