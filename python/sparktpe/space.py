"""Search spaces: Hyperopt expressions keyed by Spark Params, and a grid seen as a space.

A space is a dict. Its keys are Spark Params (searched independently) or text labels whose
expression yields one of several sub-spaces (``hp.choice`` between :func:`subspace` dicts): a
conditional space. Only the chosen sub-space's Params are set; the others stay inactive. A
sub-space may set ``pipeline.stages`` to a list of stages, which is how a search selects between
models; those stages' Params may be searched in the same sub-space.
"""

import json
import math

import numpy as np
from hyperopt import hp
from hyperopt.pyll.base import Apply, Literal
from pyspark.ml.param import TypeConverters


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
        if not is_param(key) and not _chooses_subspaces(expr):
            raise not_allowed(owner, "searchSpace", f"key {key!r}",
                              "a key that is not a Spark Param must label an hp.choice between "
                              "sparktpe.subspace(...) dicts; to search a Param, use the Param "
                              "object itself as the key (e.g. lr.regParam, not 'regParam')")
    _check_labels(owner, space)


def _chooses_subspaces(expr):
    """True for ``hp.choice(label, [subspace(...), ...])``: every option is a dict."""
    return (expr.name == "switch" and len(expr.pos_args) > 1
            and all(isinstance(o, Apply) and o.name == "dict" for o in expr.pos_args[1:]))


def _entries(space):
    """(owner name, expression) for every Param the space sets: top-level keys and the keys of
    sub-space dicts (``"<uid>.<name>"``), each expression with its sub-spaces left out."""
    found = []

    def walk(name, node):
        found.append((name, node))
        for option in _subspace_dicts(node):
            for key, value in option.named_args:
                walk(key, value)

    for key, expr in space.items():
        walk(param_key(key) if is_param(key) else key, expr)
    return found


def _subspace_dicts(node):
    return [o for o in node.pos_args[1:] if isinstance(o, Apply) and o.name == "dict"] \
        if isinstance(node, Apply) and node.name == "switch" else []


def _check_labels(owner, space):
    """Two different expressions with one Hyperopt label make Hyperopt fail with a bare
    DuplicateLabel: name the Params (or choice labels) that use it."""
    from sparktpe.params import not_allowed
    users = {}  # label -> {id(node): owner name}

    def walk(name, node):
        if not isinstance(node, Apply):
            return
        if node.name == "hyperopt_param":
            users.setdefault(node.pos_args[0].obj, {}).setdefault(id(node), name)
        for option in _subspace_dicts(node):
            for key, value in option.named_args:
                walk(key, value)
        for arg in list(node.pos_args) + [a for _, a in node.named_args]:
            if not (isinstance(arg, Apply) and arg.name == "dict"):
                walk(name, arg)

    for key, expr in space.items():
        walk(param_key(key) if is_param(key) else key, expr)
    for label, nodes in users.items():
        if len(nodes) > 1:
            names = " and ".join(sorted(set(nodes.values())))
            raise not_allowed(owner, "searchSpace", f"label {label!r}",
                              f"each Hyperopt expression needs its own label, but {names} both "
                              f"use {label!r}; rename one")


_CONTINUOUS = {"uniform", "loguniform", "normal", "lognormal"}
_QUANTIZED = {"quniform", "qloguniform", "qnormal", "qlognormal"}


def _literal(node):
    return node.obj if isinstance(node, Literal) else None


def _describe(node):
    """``hp.uniform('r', -1, 1)`` for a Hyperopt distribution node (for messages)."""
    if isinstance(node, Apply) and node.name in ("float", "int") and len(node.pos_args) == 1:
        inner = _describe(node.pos_args[0])
        return f"scope.int({inner})" if node.name == "int" else inner
    if isinstance(node, Apply) and node.name == "hyperopt_param":
        dist = node.pos_args[1]
        args = ", ".join(repr(_literal(a)) for a in dist.pos_args)
        return f"hp.{dist.name}({node.pos_args[0].obj!r}, {args})"
    if isinstance(node, Apply) and node.name == "switch":
        return f"hp.choice({node.pos_args[0].pos_args[0].obj!r}, ...)"
    return repr(node)


def _draws_non_integers(node):
    """True when the expression can yield a value with a fractional part (e.g. hp.uniform)."""
    if isinstance(node, Literal):
        return isinstance(node.obj, float) and not float(node.obj).is_integer()
    if not isinstance(node, Apply) or node.name == "int":
        return False
    if node.name == "float" and len(node.pos_args) == 1:
        return _draws_non_integers(node.pos_args[0])
    if node.name == "hyperopt_param":
        dist = node.pos_args[1]
        if dist.name in _CONTINUOUS:
            return True
        if dist.name in _QUANTIZED:
            q = _literal(dist.pos_args[-1]) if dist.pos_args else None
            return not (isinstance(q, (int, float)) and float(q).is_integer())
        return False
    if node.name == "switch":
        return any(_draws_non_integers(o) for o in node.pos_args[1:])
    return False


def _extreme_values(node):
    """The values at the ends of what an expression can draw (a choice: each option), or None
    when they cannot be read off (an unbounded or custom expression). Raises ValueError for an
    empty range (low > high)."""
    if isinstance(node, Literal):
        return [node.obj]
    if not isinstance(node, Apply):
        return None
    if node.name in ("float", "int") and len(node.pos_args) == 1:
        inner = _extreme_values(node.pos_args[0])
        cast = int if node.name == "int" else float
        return None if inner is None else [cast(v) for v in inner]
    if node.name == "switch":
        options = [_extreme_values(o) for o in node.pos_args[1:]]
        return None if any(o is None for o in options) else [v for o in options for v in o]
    if node.name != "hyperopt_param":
        return None
    dist = node.pos_args[1]
    args = [_literal(a) for a in dist.pos_args]
    if any(not isinstance(a, (int, float)) for a in args):
        return None
    if dist.name in ("uniform", "quniform", "loguniform", "qloguniform"):
        low, high = args[0], args[1]
        if low > high:
            raise ValueError(f"{_describe(node)} has an empty range ({low} > {high})")
        if dist.name.endswith("loguniform"):
            low, high = math.exp(low), math.exp(high)
        if dist.name.startswith("q"):
            q = args[2]
            low, high = round(low / q) * q, round(high / q) * q
        return [float(low), float(high)]
    if dist.name == "randint":
        low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        if low >= high:
            raise ValueError(f"{_describe(node)} has an empty range ({low} >= {high})")
        return [low, high - 1]
    return None


def check_space_against_jvm(owner, space, params, java_by_uid):
    """Check every expression of the space against the Param it sets, before any Spark job.

    An integer Param (``maxIter``, ``maxDepth``, ...) must get integer draws; the values at
    both ends of a range, and every option of a choice, must pass the JVM Param's validator
    (e.g. ``regParam >= 0``); a range must not be empty.

    Parameters
    ----------
    owner : Params
        The tuner (for messages).
    space : dict
        The search space.
    params : dict
        ``"<uid>.<name>"`` -> Python Param, for every Param the space may set.
    java_by_uid : dict
        uid -> JVM stage, for the Params' validators.

    Raises
    ------
    ValueError
        Naming the Param, the expression and what to use instead.
    """
    from sparktpe.boundary import is_valid
    from sparktpe.params import not_allowed
    for name, expr in _entries(space):
        param = params.get(name)
        if param is None or _subspace_dicts(expr):
            continue  # a label choosing between sub-spaces: its entries are checked themselves
        shown = f"{{{name}: {_describe(expr)}}}"
        if param.typeConverter is TypeConverters.toInt and _draws_non_integers(expr):
            raise not_allowed(owner, "searchSpace", shown,
                              f"{name} is an integer Param, but this expression draws "
                              "non-integer values; use scope.int(hp.quniform(label, low, high, "
                              "1)), hp.randint(label, low, high) or hp.choice(label, [ints])")
        try:
            extremes = _extreme_values(expr)
        except ValueError as e:
            raise not_allowed(owner, "searchSpace", shown, str(e)) from None
        if param.parent not in java_by_uid:
            continue
        for value in extremes or []:
            if not isinstance(value, (bool, int, float, str)):
                continue  # stages and lists: no validator to ask
            try:
                valid = is_valid(java_by_uid, param, value)
            except TypeError:  # the Param's converter refuses it (e.g. a string for a number)
                valid = False
            if not valid:
                raise not_allowed(owner, "searchSpace", shown,
                                  f"it can draw {value!r}, which {name} does not allow "
                                  f"({param.doc}); draw only valid values")


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
