"""The Grad-CAM family as array math: a layer's activations and gradients to one map per target.

Inputs are what one forward and one backward pass give, channels last:
activations ``A`` ``[N, h, w, C]`` of the layer for ``N`` pictures, and the
gradients ``G`` ``[N, T, h, w, C]`` of each picture's ``T`` target scores
(the class logits, before any softmax) with respect to ``A``. Each method
returns the raw maps ``[N, T, h, w]`` (float64) at the layer's resolution,
before any upsampling or normalisation:

- **Grad-CAM** (Selvaraju et al. 2017): ``relu(sum_k alpha_k A_k)`` with
  ``alpha_k = mean_hw(G_k)``.
- **Grad-CAM++** (Chattopadhay et al. 2018): ``relu(sum_k w_k A_k)`` with
  ``w_k = sum_hw(a * relu(G_k))`` and
  ``a = G^2 / (2 G^2 + sum_hw(A_k) G^3)`` (0 where ``G`` is 0): the
  closed form of the paper for an exponential of the score, whose factor
  ``exp(S)`` is the same for every position and channel and left out.
- **LayerCAM** (Jiang et al. 2021): ``relu(sum_k relu(G_k) * A_k)``,
  position by position.
- **Score-CAM** (Wang et al. 2020): ``relu(sum_k c_k A_k)``, ``c_k`` the
  rise of the class probability when the input is masked by channel
  ``k``'s upsampled, normalised map (:func:`score_cam`; the forward passes
  are :mod:`tb_featureviz.attribution.attributor`'s).

Pure numpy: inputs are never mutated.

Example:
    >>> A = np.ones((1, 2, 2, 3))
    >>> G = np.zeros((1, 1, 2, 2, 3)); G[..., 0] = 1.0
    >>> grad_cam(A, G)[0, 0].tolist()
    [[1.0, 1.0], [1.0, 1.0]]
"""

import numpy as np

#: Method names, as ``attribute(method=...)`` takes them; Score-CAM is opt-in (a forward pass per channel).
GRADIENT_METHODS = ("gradcam", "gradcam++", "layercam")
METHODS = GRADIENT_METHODS + ("scorecam",)

_EPSILON = 1e-12


def check_method(method, owner="attribute"):
    """Refuse an unknown method name (ValueError naming the choices).

    Example:
        >>> check_method("gradcam")
        'gradcam'
    """
    if method not in METHODS:
        raise ValueError(f"{owner} expects method in {list(METHODS)}. Received: method={method!r}")
    return method


def _checked(activations, gradients):
    activations = np.asarray(activations, np.float64)
    gradients = np.asarray(gradients, np.float64)
    if activations.ndim != 4 or gradients.ndim != 5 or gradients.shape[:1] + gradients.shape[2:] != activations.shape:
        raise ValueError(f"The Grad-CAM methods expect activations [N, h, w, C] and gradients [N, T, h, w, C]. "
                         f"Received: shapes {activations.shape} and {gradients.shape}")
    return activations, gradients


def grad_cam(activations, gradients):
    """Grad-CAM maps ``[N, T, h, w]``: channels weighted by their mean gradient, summed, rectified."""
    activations, gradients = _checked(activations, gradients)
    weights = gradients.mean(axis=(2, 3))  # [N, T, C]
    return np.maximum(np.einsum("nhwc,ntc->nthw", activations, weights), 0.0)


def grad_cam_plus_plus(activations, gradients):
    """Grad-CAM++ maps ``[N, T, h, w]`` (the paper's closed-form weights, see the module)."""
    activations, gradients = _checked(activations, gradients)
    squared = gradients ** 2
    cubed = squared * gradients
    sums = activations.sum(axis=(1, 2))[:, None, None, None, :]  # [N, 1, 1, 1, C]
    denominator = 2.0 * squared + sums * cubed
    alpha = np.divide(squared, denominator, out=np.zeros_like(squared),
                      where=(gradients != 0) & (np.abs(denominator) > _EPSILON))
    weights = (alpha * np.maximum(gradients, 0.0)).sum(axis=(2, 3))  # [N, T, C]
    return np.maximum(np.einsum("nhwc,ntc->nthw", activations, weights), 0.0)


def layer_cam(activations, gradients):
    """LayerCAM maps ``[N, T, h, w]``: each position's activations weighted by its positive gradients."""
    activations, gradients = _checked(activations, gradients)
    return np.maximum((np.maximum(gradients, 0.0) * activations[:, None]).sum(axis=-1), 0.0)


#: The gradient methods by name.
GRADIENT_MAPS = {"gradcam": grad_cam, "gradcam++": grad_cam_plus_plus, "layercam": layer_cam}


def score_cam(activations, masked_probabilities, baseline_probabilities):
    """Score-CAM maps ``[N, T, h, w]`` from the probabilities of the masked inputs.

    Args:
        activations: ``[N, h, w, C]``.
        masked_probabilities: ``[N, T, C]``: each target's probability when
            picture ``n`` is multiplied by channel ``k``'s normalised map.
        baseline_probabilities: ``[N, T]``: the same for the baseline input
            (all zeros in the model's input space).

    Example:
        >>> A = np.zeros((1, 1, 2, 2)); A[..., 0, 0] = 1.0; A[..., 1, 1] = 2.0
        >>> score_cam(A, np.array([[[0.5, 0.1]]]), np.array([[0.2]]))[0, 0].tolist()
        [[0.3, 0.0]]
    """
    activations = np.asarray(activations, np.float64)
    rise = np.asarray(masked_probabilities, np.float64) - np.asarray(baseline_probabilities, np.float64)[..., None]
    return np.maximum(np.einsum("nhwc,ntc->nthw", activations, rise), 0.0)


def normalised_masks(activations):
    """Each channel's map scaled to [0, 1] (``[N, h, w, C]``); a constant channel gives zeros.

    The masks Score-CAM multiplies the input with, once upsampled.

    Example:
        >>> normalised_masks(np.array([[[[1.0, 5.0]], [[3.0, 5.0]]]]))[..., 0].tolist()
        [[[0.0], [1.0]]]
    """
    activations = np.asarray(activations, np.float64)
    lo = activations.min(axis=(1, 2), keepdims=True)
    spread = activations.max(axis=(1, 2), keepdims=True) - lo
    return np.divide(activations - lo, spread, out=np.zeros_like(activations), where=spread > _EPSILON)


def softmax(logits, axis=-1):
    """Softmax along ``axis`` (float64), shifted by the maximum for stability.

    Example:
        >>> softmax(np.array([0.0, np.log(3.0)])).round(6).tolist()
        [0.25, 0.75]
    """
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)
