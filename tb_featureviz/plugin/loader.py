"""TensorBoard's entry point to the featureviz plugin: a loader that imports nothing heavy.

TensorBoard imports every ``tensorboard_plugins`` entry point at start-up
without a try/except, so an ImportError here would stop the whole
``tensorboard`` command, not only this plugin. This module therefore
imports only ``tensorboard.plugins.base_plugin`` (always present where
TensorBoard runs); the plugin itself, and anything it needs, is imported
inside :meth:`FeatureVizLoader.load`, where TensorBoard catches failures
and merely skips the plugin.

Example:
    >>> from tensorboard.backend import application   # doctest: +SKIP
    >>> app = application.TensorBoardWSGIApp(           # doctest: +SKIP
    ...     flags, [FeatureVizLoader()], data_provider)
"""

from tensorboard.plugins import base_plugin


class FeatureVizLoader(base_plugin.TBLoader):
    """Creates the featureviz plugin for a TensorBoard instance.

    Example:
        >>> FeatureVizLoader().load(context)   # doctest: +SKIP
        <tb_featureviz.plugin.core.FeatureVizPlugin object at ...>
    """

    def load(self, context):
        """Import and build the plugin.

        Args:
            context: the ``base_plugin.TBContext`` TensorBoard passes in.

        Returns:
            A ``tb_featureviz.plugin.core.FeatureVizPlugin``.
        """
        from tb_featureviz.plugin import core

        return core.FeatureVizPlugin(context)
