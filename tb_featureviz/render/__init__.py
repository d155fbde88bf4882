"""Pure drawing: feature maps and kernels to uint8 grids, PNG bytes and JSON records.

numpy only (no Keras, no TensorFlow, no I/O), inputs never mutated, so grids
draw on worker threads and a captured step can be drawn from the background
thread. ``tests/render/test_pure_imports.py`` imports every module here with
Keras and TensorFlow blocked.
"""
