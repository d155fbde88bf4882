"""Tests of ``tb_featureviz.plugin``: the TensorBoard plugin, its routes, its loader, a wheel install."""
