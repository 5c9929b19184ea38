"""Every setting of a finite search space (choices and integer ranges only, e.g. a grid).

TPE on such a space keeps proposing settings it has already tried; with the whole list at
hand the proposer can offer one not yet tried, and knows the space is exhausted only when
every setting has run. Settings are Hyperopt ``vals``: label -> ``[index]`` for the labels
the setting uses, ``[]`` for the labels of choices it did not take (a conditional space).
"""

import itertools

# Spaces with more label combinations than this are searched like continuous ones.
MAX_COMBINATIONS = 10_000


def _options(distribution):
    """How many values a label's distribution can take, or None when it is not finite."""
    args = [getattr(a, "obj", None) for a in distribution.pos_args]
    if distribution.name == "randint" and all(isinstance(a, int) for a in args):
        low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        return range(low, high)
    if distribution.name == "categorical" and distribution.pos_args:
        return range(len(distribution.pos_args[0].pos_args))
    return None


def _active_labels(node, values, found):
    """Adds to ``found`` the labels the setting ``values`` (label -> value) evaluates: a
    choice's label and only the option it takes."""
    name = getattr(node, "name", None)
    if name == "switch" and node.pos_args[0].name == "hyperopt_param":
        label = node.pos_args[0].pos_args[0].obj
        found.add(label)
        _active_labels(node.pos_args[1 + values[label]], values, found)
        return
    if name == "hyperopt_param":
        found.add(node.pos_args[0].obj)
    for arg in list(getattr(node, "pos_args", [])) + [a for _, a in getattr(node, "named_args", [])]:
        _active_labels(arg, values, found)


def finite_settings(domain):
    """Every distinct setting of a Hyperopt ``Domain``, as ``vals`` dicts, in a fixed order;
    None when some label is continuous or the space is too large to list."""
    labels = sorted(domain.params)
    options = [_options(domain.params[label]) for label in labels]
    if any(o is None for o in options):
        return None
    count = 1
    for o in options:
        count *= len(o)
    if count > MAX_COMBINATIONS:
        return None
    settings, seen = [], set()
    for combination in itertools.product(*options):
        values = dict(zip(labels, combination))
        active = set()
        _active_labels(domain.expr, values, active)
        key = tuple((label, values[label]) for label in labels if label in active)
        if key not in seen:
            seen.add(key)
            settings.append({label: [values[label]] if label in active else [] for label in labels})
    return settings
