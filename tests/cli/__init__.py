"""Tests of ``tb_featureviz.cli``: the ``tb-featureviz`` command, mostly in subprocesses."""
