"""The registry of models, and loading a user's model from ``path/to/file.py:ClassName``."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys

from .errors import ModelNotFoundError
from .model import Model
from .models.amp import Amp
from .models.bayes_optimal import BayesOptimal
from .models.deep_linear import DeepLinear
from .models.diffusion import Diffusion
from .models.expansion_perceptron import ExpansionPerceptron
from .models.gardner import Gardner
from .models.hopfield import Hopfield
from .models.sk import SK
from .models.intrinsic_dimension import IntrinsicDimension
from .models.ising_perceptron import IsingPerceptron
from .models.jepa_vs_mae import JepaVsMae
from .models.l1_recovery import L1Recovery
from .models.lasso import Lasso
from .models.m_estimation import MEstimation
from .models.marchenko_pastur import MarchenkoPastur
from .models.minnorm import Minnorm
from .models.optimal_m_estimation import OptimalMEstimation
from .models.spiked_covariance import SpikedCovariance
from .models.teacher_student import TeacherStudent

MODELS = {cls.name: cls for cls in (Gardner, SK, TeacherStudent, IsingPerceptron, ExpansionPerceptron, Hopfield,
                                    MarchenkoPastur, SpikedCovariance, MEstimation, OptimalMEstimation, Lasso,
                                    L1Recovery, BayesOptimal, DeepLinear, JepaVsMae, Minnorm, IntrinsicDimension,
                                    Diffusion, Amp)}


def get_model(name: str) -> Model:
    """A model instance by registered name or ``file.py:ClassName`` (a user's own model)."""
    if isinstance(name, Model):
        return name
    if name in MODELS:
        return MODELS[name]()
    if ":" in name and name.split(":", 1)[0].endswith(".py"):
        path, cls_name = name.rsplit(":", 1)
        if not os.path.isfile(path):
            raise ModelNotFoundError(f"model file {path!r} does not exist")
        digest = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(f"replica_user_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module      # so that worker processes can unpickle the model
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's file failed to import: say so in one line
            raise ModelNotFoundError(f"could not load {path!r}: {type(exc).__name__}: {exc}") from exc
        cls = getattr(module, cls_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise ModelNotFoundError(f"{path!r} has no Model subclass named {cls_name!r}")
        return cls()
    known = ", ".join(sorted(MODELS))
    raise ModelNotFoundError(f"unknown model {name!r}; known models: {known} (or path/to/file.py:ClassName)")
