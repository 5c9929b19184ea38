"""Every Param has the same name, doc and default in Python and in the JVM class."""

import pytest
from pyspark.ml.wrapper import JavaWrapper

from sparktpe import (BayesianCrossValidator, BayesianCrossValidatorModel,
                      BayesianTrainValidationSplit, BayesianTrainValidationSplitModel)
from sparktpe.tuning import _TunedModel


def python_instance(cls):
    if issubclass(cls, _TunedModel):
        return cls(bestModel=None)
    return cls()


def java_instance(cls):
    name = "sparktpe." + cls.__name__
    if issubclass(cls, _TunedModel):
        # Models have no public constructor; their Params are those of the Params trait, read
        # through an estimator instance of the same family plus the model's own class defaults.
        name = name[: -len("Model")]
    return JavaWrapper._new_java_obj(name, "parity")


@pytest.mark.parametrize("cls", [BayesianCrossValidator, BayesianCrossValidatorModel,
                                 BayesianTrainValidationSplit, BayesianTrainValidationSplitModel])
def test_params_match_the_jvm_class(spark, cls):
    py = python_instance(cls)
    java = java_instance(cls)
    java_names = sorted(p.name() for p in java.params())
    assert sorted(p.name for p in py.params) == java_names
    for param in py.params:
        java_param = java.getParam(param.name)
        assert param.doc == java_param.doc(), param.name
        assert py.hasDefault(param) == java.hasDefault(java_param), param.name
        if py.hasDefault(param) and param.name != "seed":
            assert py.getOrDefault(param) == java.getOrDefault(java_param), param.name
    estimator_default_seed = java.getOrDefault(java.getParam("seed"))
    if not issubclass(cls, _TunedModel):
        assert py.getSeed() == estimator_default_seed


@pytest.mark.parametrize("cls", [BayesianCrossValidator, BayesianTrainValidationSplit])
def test_every_param_has_a_getter_a_setter_and_a_keyword(cls):
    import inspect
    keywords = set(inspect.signature(cls.__init__).parameters) - {"self"}
    for param in cls().params:
        capital = param.name[0].upper() + param.name[1:]
        assert callable(getattr(cls, "get" + capital)), param.name
        assert callable(getattr(cls, "set" + capital)), param.name
        assert param.name in keywords, param.name
    assert keywords == {p.name for p in cls().params}
