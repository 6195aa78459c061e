"""Reports of a benchmark suite, all built from one tidy results store.

`store` gathers the run, metric and benchmark files into the store; `tables` and `figures`
read only the store (plus loss logs and sample files for curves and grids); `index` writes the
suite's README. `layout` names every output file, so the workflow can declare them; the input
files are found through the results layout the rules use (gans/layout.py).
"""
