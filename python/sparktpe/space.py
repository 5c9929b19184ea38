"""Search spaces: Hyperopt expressions keyed by Spark Params, and a grid seen as a space.

A space is a dict. Its keys are Spark Params (searched independently) or text labels whose
expression yields one of several sub-spaces (``hp.choice`` between :func:`subspace` dicts): a
conditional space. Only the chosen sub-space's Params are set; the others stay inactive. A
sub-space may set ``pipeline.stages`` to a list of stages, which is how a search selects between
models; those stages' Params may be searched in the same sub-space.
"""

import json

import numpy as np
from hyperopt import hp
from hyperopt.pyll.base import Apply, Literal


def param_key(param):
    """A stable text key for a Param: ``<stage uid>.<name>``."""
    return f"{param.parent}.{param.name}"


def is_param(key):
    return hasattr(key, "parent") and hasattr(key, "typeConverter")


def is_stage(value):
    """A Spark ML stage (a Params with a uid), e.g. a value of ``pipeline.stages``."""
    return hasattr(value, "uid") and hasattr(value, "hasParam")


def space_key(key):
    """The key Hyperopt sees: ``<uid>.<name>`` for a Param, the label itself otherwise."""
    return param_key(key) if is_param(key) else key


def subspace(settings):
    """One alternative of a conditional space, for ``hp.choice``.

    Parameters
    ----------
    settings : dict
        Spark Param -> Hyperopt expression or constant (for example
        ``{pipeline.stages: [assembler, rf], rf.maxDepth: scope.int(hp.quniform(...))}``).

    Returns
    -------
    dict
        The same with each Param written as ``"<stage uid>.<name>"`` (Hyperopt sorts a dict's
        keys, which Param objects do not allow); sparktpe maps the keys back.

    Raises
    ------
    ValueError
        When a key is not a Spark Param.
    """
    for key in settings:
        if not is_param(key):
            raise ValueError(f"subspace: key {key!r} is not a Spark Param such as lr.regParam")
    return {param_key(p): v for p, v in settings.items()}


def check_space(owner, space):
    """Check a ``searchSpace`` dict; raise ValueError naming the Param and value if bad."""
    from sparktpe.params import not_allowed
    if not isinstance(space, dict):
        raise not_allowed(owner, "searchSpace", type(space).__name__,
                          "a dict from Spark Param to a Hyperopt expression")
    if not space:
        raise not_allowed(owner, "searchSpace", "{}", "at least one Param to search")
    for key, expr in space.items():
        if not is_param(key) and not isinstance(key, str):
            raise not_allowed(owner, "searchSpace", repr(key),
                              "keys must be Spark Param objects such as lr.regParam, or labels "
                              "of a choice between sparktpe.subspace(...) dicts")
        if not isinstance(expr, Apply):
            name = key.name if is_param(key) else key
            raise not_allowed(owner, "searchSpace", f"{{{name}: {expr!r}}}",
                              "values must be Hyperopt expressions such as hp.uniform(...)")


def _nodes(space):
    """Every node of the space's expression graphs."""
    seen, todo = set(), list(space.values())
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, Apply):
            todo.extend(node.pos_args)
            todo.extend(arg for _, arg in node.named_args)


def stages_in(space):
    """The Spark stages that appear as values in the space (e.g. alternatives of
    ``pipeline.stages``), in first-seen order: stages a proposal may bring into the estimator."""
    found = {}
    for node in _nodes(space):
        if isinstance(node, Literal) and is_stage(node.obj):
            found.setdefault(node.obj.uid, node.obj)
    return list(found.values())


def space_params(owner, space, stages):
    """Every Param the space may set, by key.

    Parameters
    ----------
    owner : Params
        The tuner (for error messages).
    space : dict
        The search space.
    stages : list
        The estimator's stages and :func:`stages_in` the space, with their nested stages.

    Returns
    -------
    dict
        ``"<uid>.<name>"`` -> Param.

    Raises
    ------
    ValueError
        Naming a sub-space key that is no Param of ``stages`` (top-level Params are checked by
        :func:`sparktpe.stages.owner_of`).
    """
    from sparktpe.params import not_allowed
    known = {f"{s.uid}.{p.name}": p for s in stages for p in s.params}
    tunable = ", ".join(sorted({s.uid for s in stages}))
    for node in _nodes(space):
        if isinstance(node, Apply) and node.name == "dict":
            for key, _ in node.named_args:
                if key not in known:
                    raise not_allowed(owner, "searchSpace", f"sub-space key {key!r}",
                                      "keys of sparktpe.subspace(...) dicts, Params of the "
                                      f"stages {tunable}")
    return known


def flatten(point, params):
    """A sampled point as ``[(Param, value)]``: sub-spaces chosen by a label are opened,
    so only the chosen alternative's Params appear."""
    settings = []
    for key, value in point.items():
        if key in params:
            settings.append((params[key], value))
        elif isinstance(value, dict):
            settings.extend(flatten(value, params))
        else:
            raise ValueError(f"searchSpace: {key!r} gave {value!r}; a label's expression must "
                             "choose between sparktpe.subspace(...) dicts")
    return settings


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
    """One Param setting as the JVM protocol wants it, typed by the Param's converter.
    Stages (``pipeline.stages`` alternatives) travel as their uids."""
    if is_stage(value):
        return {"parent": param.parent, "name": param.name, "value": {"stageUid": value.uid}}
    if isinstance(value, (list, tuple)) and value and all(is_stage(v) for v in value):
        return {"parent": param.parent, "name": param.name,
                "value": {"stageUids": [v.uid for v in value]}}
    return {"parent": param.parent, "name": param.name, "value": plain(param.typeConverter(plain(value)))}


def vals_json(vals):
    """Hyperopt's ``misc.vals`` as JSON (numpy ints become ints)."""
    return json.loads(json.dumps({k: plain(v) for k, v in vals.items()}))
