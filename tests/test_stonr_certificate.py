"""transforms/_stonr_certificate: the first-order certificate of a point of a box game (its
variational-inequality residual and its local type)."""

import numpy as np

import jaxgan as jg


def _double_well():
    return jg.zero_sum(lambda x, y: (x**2 - 0.25) ** 2 - (y**2 - 0.25) ** 2 + 0.1 * x * y)


def test_certificate_local_types():
    box = jg.Box(jg.Joint(-1.0, -1.0), jg.Joint(1.0, 1.0))
    g1 = jg.games.ridge_examples()["g1"]  # strict local minimax, not Nash
    r, t = jg.transforms.stonr_certificate(g1, box, jg.Joint(0.0, 0.0))
    assert float(r) == 0.0 and jg.transforms.LOCAL_TYPES(int(t)) == jg.transforms.LOCAL_TYPES.local_minmax
    r, t = jg.transforms.stonr_certificate(_double_well(), box, jg.Joint(0.0, 0.0))  # x at a maximum of its own loss
    assert float(r) == 0.0 and int(t) == 0
    r, _ = jg.transforms.stonr_certificate(g1, box, jg.Joint(0.5, 0.0))
    np.testing.assert_allclose(r, 1.0)  # xi = (-3, -2): the projected step stops at the faces x = 1, y = 1


def test_local_types_is_an_enum_like_results():
    lt = jg.transforms.LOCAL_TYPES
    assert [(int(t), t.label) for t in lt] == [(0, "first-order"), (1, "local min-max"), (2, "local Nash")]
    assert lt["local_nash"] is lt.local_nash  # by name, as any enum
