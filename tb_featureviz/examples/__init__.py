"""Dataset examples: for every channel, the pieces of real data that drive it most.

One streaming pass over a data set (:mod:`.scan`) keeps per channel the top
k pictures by the channel's spatial maximum (:mod:`.topk`, pure), the
layers' statistics and histograms (:mod:`.reductions`), and crops each kept
unit's receptive field (:mod:`.fields`, pure; :mod:`.receptive` walks the
model's graph) from its picture; :mod:`.data` reads arrays, ``tf.data``,
``PyDataset``, torch ``DataLoader`` and iterables; :mod:`.grids` makes the
logged grids; :mod:`.schedule` is the callback's part.
"""
