"""Pure scalars of a logged step: drift from the starting kernels, channel health.

numpy only, like :mod:`tb_featureviz.render`.
"""
