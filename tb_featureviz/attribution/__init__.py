"""Attribution: where a classifier looks, in a picture, for a class (the Grad-CAM family).

The maths (:mod:`.methods`) and the target classes (:mod:`.targets`) are
pure numpy; :mod:`.scores` finds the logits and the default layer,
:mod:`.gradients` runs the one forward and backward pass per backend,
:mod:`.attributor` puts them together, :mod:`.grids` draws a result as a
logged grid, and :mod:`.schedule` is the callback's part.

Importing this package imports none of them: ``attribute``, ``Attributor``
and ``AttributionResult`` load on first use (``from tb_featureviz.attribution
import attribute``), and the pure modules never need Keras.
"""

from tb_featureviz import lazy_attributes

__getattr__, __all__ = lazy_attributes(__name__, dict.fromkeys(("attribute", "Attributor", "AttributionResult"),
                                                               "attributor"))
