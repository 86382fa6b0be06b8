"""Finite-size Monte Carlo simulators used to check the replica predictions.

* :mod:`replica.simulators.perceptron` -- storage capacity of the spherical
  perceptron (LP / max-margin solvers, Cover's exact finite-N formula).
* :mod:`replica.simulators.sk` -- Sherrington--Kirkpatrick model (exact
  enumeration up to N = 24, parallel tempering).
* :mod:`replica.simulators.teacher_student` -- teacher-student perceptron learning: version-space
  sampling (Gibbs, Bayes centre of mass), Hebb, max-margin (hard-margin SVM).
* :mod:`replica.simulators.random_matrix` -- sample covariances: Marchenko-Pastur density and
  moments, the spiked model's top eigenvalue and overlap.
"""
