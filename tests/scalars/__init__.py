"""Tests of ``tb_featureviz.scalars``: drift and channel-health math, pure numpy."""
