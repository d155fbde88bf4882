"""Defaults shared by the library, the callback and the command line: each defined once, here.

Some differ on purpose, by what a call costs where it runs:

- feature visualization takes Lucid's 512 optimisation steps when asked for
  directly (:func:`tb_featureviz.visualize_features`), 256 when logged
  (:meth:`tb_featureviz.FeatureVizLogger.log_features`, ``tb-featureviz
  features``), and 128 inside ``fit`` (the callback's ``features_every``),
  where training waits for it.

Example:
    >>> MAX_CHANNELS, FEATURES_STEPS, LOGGED_FEATURES_STEPS, CALLBACK_FEATURES_STEPS
    (64, 512, 256, 128)
"""

#: Feature-map channels (and kernel filters) drawn per layer by the callback and ``tb-featureviz log``.
MAX_CHANNELS = 64

#: Most layers the callback picks when none are named (see
#: :func:`tb_featureviz.model.layers.default_layers`).
MAX_LAYERS = 8

#: Optimisation steps of a feature visualization asked for directly (Lucid's).
FEATURES_STEPS = 512

#: ... logged by the logger or the ``features`` command.
LOGGED_FEATURES_STEPS = 256

#: ... logged by the callback inside ``fit``.
CALLBACK_FEATURES_STEPS = 128

#: Channels visualised per layer by the callback and the ``features`` command: the first 16.
FEATURES_CHANNELS = 16

#: Side of an optimised image (Lucid's), unless a fixed model input is smaller.
FEATURES_SIZE = 128
