"""Search spaces: Hyperopt expressions keyed by Spark Params, and a grid seen as a space."""

import json

import numpy as np
from hyperopt import hp
from hyperopt.pyll.base import Apply


def param_key(param):
    """A stable text key for a Param: ``<stage uid>.<name>``."""
    return f"{param.parent}.{param.name}"


def check_space(owner, space):
    """Check a ``searchSpace`` dict; raise ValueError naming the Param and value if bad."""
    from sparktpe.params import not_allowed
    if not isinstance(space, dict):
        raise not_allowed(owner, "searchSpace", type(space).__name__,
                          "a dict from Spark Param to a Hyperopt expression")
    if not space:
        raise not_allowed(owner, "searchSpace", "{}", "at least one Param to search")
    for param, expr in space.items():
        if not hasattr(param, "parent") or not hasattr(param, "typeConverter"):
            raise not_allowed(owner, "searchSpace", repr(param),
                              "keys must be Spark Param objects such as lr.regParam")
        if not isinstance(expr, Apply):
            raise not_allowed(owner, "searchSpace", f"{{{param.name}: {expr!r}}}",
                              "values must be Hyperopt expressions such as hp.uniform(...)")


def grid_as_space(grid):
    """The grid's values as a space: each Param an ``hp.choice`` over its distinct grid values.

    Returns
    -------
    dict
        Param -> Hyperopt expression, Params in first-seen order, values in grid order.
    """
    values = {}
    for param_map in grid:
        for param, value in param_map.items():
            seen = values.setdefault(param, [])
            if not any(_same(value, v) for v in seen):
                seen.append(value)
    return {param: hp.choice(param_key(param), vs) for param, vs in values.items()}


def _same(a, b):
    return type(a) is type(b) and a == b


def plain(value):
    """A JSON-ready Python value: numpy scalars and arrays become Python numbers and lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    return value


def encode_setting(param, value):
    """One Param setting as the JVM protocol wants it, typed by the Param's converter."""
    return {"parent": param.parent, "name": param.name, "value": plain(param.typeConverter(plain(value)))}


def vals_json(vals):
    """Hyperopt's ``misc.vals`` as JSON (numpy ints become ints)."""
    return json.loads(json.dumps({k: plain(v) for k, v in vals.items()}))
