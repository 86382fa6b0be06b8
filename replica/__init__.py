"""replica: a symbolic-numeric replica calculator.

Derive saddle-point equations from a free energy (SymPy), solve them
(numpy/scipy, or mpmath at any precision), and verify them against
finite-size Monte Carlo of the same model.
"""
from .api import compare, model_names, simulate, solve, sweep
from .errors import (ConvergenceError, DerivationError, ModelNotFoundError, ParameterError,
                     ReplicaError, SimulationError)
from .model import Model, Reference, Stability
from .params import Interval, Observable, OrderParameter, Parameter
from .registry import get_model

__version__ = "0.1.0"

__all__ = ["compare", "model_names", "simulate", "solve", "sweep", "get_model", "Model", "Reference",
           "Stability", "Interval", "Observable", "OrderParameter", "Parameter", "ReplicaError",
           "ConvergenceError", "DerivationError", "ModelNotFoundError", "ParameterError", "SimulationError"]
