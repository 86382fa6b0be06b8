"""Finite-size Monte Carlo simulators used to check the replica predictions.

* :mod:`replica.simulators.perceptron` -- storage capacity of the spherical
  perceptron (LP / max-margin solvers, Cover's exact finite-N formula).
* :mod:`replica.simulators.sk` -- Sherrington--Kirkpatrick model (exact
  enumeration up to N = 24, parallel tempering).
"""
