"""Tests of ``tb_featureviz.featurevis``: the recipe, and the optimiser on CNNs trained here."""
