"""Hyperopt search spaces as JSON, so that a saved tuner carries its space and loading runs no code.

A space ``{Param: expression}`` is stored as a list of
``{"parent": <stage uid>, "name": <Param name>, "expression": <node>}`` (``{"label": ...,
"expression": ...}`` for a label choosing between sub-spaces). A node is the Hyperopt
(pyll) graph written out: ``{"apply": <scope function>, "args": [...], "kwargs": {...}}`` or
``{"literal": <JSON value>}``. Only the scope functions behind the documented primitives
(``hp.uniform`` ... ``hp.choice``, ``scope.int``) may appear; anything else fails at save time,
naming it, so a loaded space can only ever call Hyperopt's own sampling functions.
"""

import json

from hyperopt.pyll import scope
from hyperopt.pyll.base import Apply, Literal

from sparktpe.space import plain

ALLOWED = frozenset({
    "hyperopt_param", "float", "int", "switch", "pos_args", "dict",
    "uniform", "loguniform", "quniform", "qloguniform", "normal", "lognormal", "qnormal",
    "qlognormal", "randint", "uniformint", "categorical",
})


def _node(node, param):
    if isinstance(node, Literal):
        value = plain(node.obj)
        try:
            json.dumps(value)
        except TypeError:
            raise ValueError(f"cannot save the search space of {param.name}: the value {value!r} "
                             "is not JSON") from None
        return {"literal": value}
    if not isinstance(node, Apply):
        return {"literal": plain(node)}
    if node.name not in ALLOWED:
        raise ValueError(
            f"cannot save the search space of {param.name}: it uses {node.name!r}, which is not "
            f"one of the Hyperopt primitives sparktpe stores ({', '.join(sorted(ALLOWED))})")
    return {"apply": node.name,
            "args": [_node(a, param) for a in node.pos_args],
            "kwargs": {k: _node(v, param) for k, v in node.named_args}}


def space_to_json(space):
    """``{Param: Hyperopt expression}`` as a JSON string.

    Raises
    ------
    ValueError
        Naming the Param, when its expression uses anything but the stored primitives.
    """
    items = []
    for key, expr in space.items():
        if isinstance(key, str):  # a label choosing between sub-spaces
            items.append({"label": key, "expression": _node(expr, _Label(key))})
        else:
            items.append({"parent": key.parent, "name": key.name, "expression": _node(expr, key)})
    return json.dumps(items)


class _Label:
    """Stands in for a Param in error messages about a labelled sub-space choice."""

    def __init__(self, label):
        self.name = label


def _build(node):
    if "literal" in node:
        return node["literal"]
    name = node["apply"]
    if name not in ALLOWED:
        raise ValueError(f"saved search space uses {name!r}, which sparktpe does not load")
    args = [_build(a) for a in node["args"]]
    kwargs = {k: _build(v) for k, v in node["kwargs"].items()}
    return getattr(scope, name)(*args, **kwargs)


def space_from_json(text, params_by_key):
    """Rebuild a space from :func:`space_to_json`'s output.

    Parameters
    ----------
    text : str
        The JSON.
    params_by_key : callable
        ``(parent uid, name) -> Param`` of the estimator the space belongs to.
    """
    return {(item["label"] if "label" in item else params_by_key(item["parent"], item["name"])):
            _build(item["expression"]) for item in json.loads(text)}
