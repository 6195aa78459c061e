"""The metric suite: feature extractors (registered into torch-fidelity), the float64 Fréchet
distance, image metrics (FID, IS, KID, precision/recall, density/coverage, class metrics), toy 2D
mode metrics, and the commands that run them (train-classifier, real-features, evaluate).

Modules: frechet (one Fréchet distance), classifier (the domain CNN), evaluators (the frozen
domain classifiers shipped with the package and their cards), weights (weights files and their
sha256), extractors (torch-fidelity registration and extraction), scores (image metrics from
features), density_coverage, toy, evaluate (records and files), commands (CLI), bench (speed),
registry (every metric key: label, direction, kinds of evaluation, domain).
"""
