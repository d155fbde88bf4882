"""TrainingSteps: the callback's step count, training batches taken while it was attached.

Steps count optimizer steps across every ``fit`` call the callback is
passed to, so they keep growing when a second ``fit`` starts over with a
new optimizer (whose ``iterations`` restart at 0). Step 0 is the model
before training.

Example:
    >>> steps = TrainingSteps()
    >>> steps.step
    0
"""

from tb_featureviz.model import tensors


def optimizer_iterations(model):
    """The model's optimizer's ``iterations`` as an int, or None where there is none."""
    iterations = getattr(getattr(model, "optimizer", None), "iterations", None)
    if iterations is None:
        return None
    return int(tensors.variable_array(iterations))


class TrainingSteps:
    """Optimizer steps taken across ``fit`` calls.

    Attributes:
        step: the step of the last :meth:`update` (0 before training).
    """

    def __init__(self):
        self.step = 0
        self._fit_start_step = 0
        self._fit_start_iterations = 0

    def fit_started(self, model):
        """A ``fit`` call starts: its optimizer's iterations count from the current step."""
        self._fit_start_step = self.step
        self._fit_start_iterations = optimizer_iterations(model)

    def update(self, model):
        """The current step, from the optimizer's iterations; remembered as :attr:`step`."""
        self.step = self._fit_start_step + max(0, optimizer_iterations(model) - self._fit_start_iterations)
        return self.step


class LoggedStepSchedule:
    """Every this many logged steps, the first included: what the callback's ``*_every`` arguments mean.

    Example:
        >>> schedule = LoggedStepSchedule("FeatureVizCallback", "features_every", 2)
        >>> [schedule.due(count) for count in (1, 2, 3)], LoggedStepSchedule("C", "x_every", None).due(1)
        ([True, False, True], False)
    """

    def __init__(self, owner, name, every):
        from tb_featureviz import arguments

        self.owner = owner
        self.every = arguments.check_count(owner, name, every, allow_none=True)

    #: What a subclass logs, as the warnings about skipped layers name it.
    what = "extra grids"

    def due(self, logged_count):
        """True when the ``logged_count``-th logged step (counting from 1) is one; never for ``every=None``."""
        return self.every is not None and (logged_count - 1) % self.every == 0

    def check(self, model, probe_images, feature_map_layers):
        """Refuse, at the callback's set-up, settings that don't fit the model (nothing here).

        Returns:
            ``[(LayerInfo, reason)]``: layers a pattern reached that this
            schedule can't use, for the callback to warn about.
        """
        return []
