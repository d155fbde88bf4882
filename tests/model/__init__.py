"""Tests of ``tb_featureviz.model``: what reads the model and its inputs (probe images)."""
