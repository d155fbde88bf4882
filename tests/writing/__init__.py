"""Tests of ``tb_featureviz.writing``: event files, the write path, full disks."""
