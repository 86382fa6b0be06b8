"""Exceptions of the package: one class per failure a user can act on.

Every error the command line reports as a one-line message (exit status 2)
derives from :class:`ReplicaError`.
"""


class ReplicaError(Exception):
    """Base class: a user-facing failure with a message that says what to fix."""


class ModelNotFoundError(ReplicaError):
    """The model name (or ``path.py:ClassName``) does not name a model.

    Run ``replica models`` for the registered names.
    """


class ParameterError(ReplicaError, ValueError):
    """A parameter is unknown, malformed or outside its domain.

    The message names the parameter, the value given and the allowed range.
    """


class ConvergenceError(ReplicaError, RuntimeError):
    """A saddle-point solver did not converge.

    Carries the residual and the last iterate; try other starting points,
    a smaller step in a sweep, or a point further from a phase boundary.
    """

    def __init__(self, message, residual=None, last_iterate=None):
        super().__init__(message)
        self.residual = residual
        self.last_iterate = last_iterate


class DerivationError(ReplicaError):
    """A symbolic step (limit, asymptotic rule, closed form) could not be done."""


class SimulationError(ReplicaError, RuntimeError):
    """A simulation could not be run for these parameters (or failed)."""
