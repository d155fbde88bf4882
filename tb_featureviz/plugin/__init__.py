"""The featureviz TensorBoard plugin: serves logged grids to the Feature maps panel.

Nothing in this subpackage imports TensorFlow or Keras: it runs in a
TensorBoard installed without them. Its modules:

* ``loader``: the ``tensorboard_plugins`` entry point; imports nothing heavy.
* ``core``: :class:`FeatureVizPlugin`, its routes as thin wrappers over ``*_impl`` methods.
* ``reader``: :class:`RunReader`, everything read from the data provider, and every cache.
* ``documents``: validation of the JSON documents read from logs (untrusted input).
* ``http``: request parameters, error replies, method checks and the static-file whitelist.

This file imports nothing, so that loading the entry point stays light.
"""
