"""Tests of ``tb_featureviz.render``: the pure numpy drawing (grids, kernels, jobs, PNG, caps)."""
