"""Backend tensors and Keras variables to numpy, on every Keras backend, without warnings.

Keras' own conversions (``keras.ops.convert_to_numpy``, ``Variable.numpy()``,
the outputs of ``predict_on_batch`` on PyTorch) call ``np.array`` on an
object whose ``__array__`` takes no ``copy`` argument, which numpy 2 warns
about on every call: hundreds of warnings per training run on JAX and
PyTorch. These functions read each backend's own array instead, and always
return a copy, so that later in-place updates (PyTorch optimizers) never
change what was read.

Only the active backend's framework is touched, and Keras has imported it
already.

Example:
    >>> import keras
    >>> int(variable_array(keras.optimizers.SGD().iterations))
    0
"""

import numpy as np

import keras


def to_numpy(value):
    """A numpy copy of a backend tensor (a model output, a variable's value).

    bfloat16 tensors of PyTorch, which has no numpy bfloat16, come back as
    float32; other dtypes are kept.

    Example:
        >>> to_numpy(keras.ops.ones((2,))).tolist()
        [1.0, 1.0]
    """
    if keras.config.backend() == "torch":
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if value.dtype == torch.bfloat16:
                return value.float().numpy()
            # .numpy() shares the tensor's memory: copy it.
            return value.numpy().copy()
    # jax arrays and tf tensors accept numpy 2's copy argument.
    return np.array(value)


def variable_array(variable):
    """A numpy copy of a Keras variable's value.

    Example:
        >>> layer = keras.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> variable_array(layer.kernel).shape
        (3, 2)
    """
    if keras.config.backend() == "tensorflow":
        # Variable.numpy() is np.array(self): a copy, and no warning on
        # TensorFlow, whose variables (distributed ones too) convert themselves.
        return np.asarray(variable.numpy())
    return to_numpy(variable.value)


def for_backend(implementations, what):
    """The implementation for Keras' current backend, from ``{"tensorflow": ..., "jax": ..., "torch": ...}``.

    Gradients have no backend-neutral Keras API: feature visualization and
    attribution each keep one implementation per backend.

    Example:
        >>> for_backend({keras.backend.backend(): "here"}, "This")
        'here'

    Raises:
        NotImplementedError: naming ``what`` and the backend, for any other backend.
    """
    backend = keras.backend.backend()
    if backend not in implementations:
        raise NotImplementedError(f"{what} runs on the tensorflow, jax and torch backends. "
                                  f"Received: backend {backend!r}")
    return implementations[backend]
