"""Which classes an attribution explains: each picture's top class, its label, chosen classes, or the top k.

A target specification becomes an int array ``[N, T]`` of class indices:
``"predicted"`` (each picture's top class, ``T = 1``), ``"label"`` (the
given labels, ``T = 1``), an int or a list of ints (the same classes for
every picture), or the top k (``"top3"`` or ``("top", 3)``), strongest
first. Pure numpy; errors name what was expected and what was received.

Example:
    >>> logits = np.array([[0.1, 2.0, 0.5], [3.0, 0.0, 1.0]])
    >>> target_classes("predicted", logits).tolist(), target_classes("top2", logits).tolist()
    ([[1], [0]], [[1, 2], [0, 2]])
"""

import re

import numpy as np

_TOP = re.compile(r"top(\d+)\Z")


def describe(targets):
    """The specification in words, for records and captions.

    Example:
        >>> describe("top3"), describe([3, 7]), describe(("top", 2))
        ('top3', '3,7', 'top2')
    """
    if isinstance(targets, str):
        return targets
    if isinstance(targets, tuple) and len(targets) == 2 and targets[0] == "top":
        return f"top{int(targets[1])}"
    if isinstance(targets, (int, np.integer)):
        return str(int(targets))
    return ",".join(str(int(c)) for c in targets)


def top_k(targets):
    """k of a top-k specification (``"top3"``, ``("top", 3)``), else None."""
    if isinstance(targets, str):
        match = _TOP.match(targets)
        return int(match[1]) if match else None
    if isinstance(targets, tuple) and len(targets) == 2 and targets[0] == "top":
        return targets[1]
    return None


def check_targets(targets, num_classes=None, labels=None, num_images=None, owner="attribute"):
    """Refuse a target specification that can't be met, before anything runs.

    Raises:
        ValueError, TypeError: an unknown specification, a class out of
            ``[0, num_classes)``, ``"label"`` without labels or with labels
            of the wrong length or range, a top k outside ``1..num_classes``.
    """
    def bad(text):
        return ValueError(f"{owner} expects targets {text}")

    k = top_k(targets)
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 or (num_classes and k > num_classes):
            raise bad(f"'topK' with 1 <= K <= {num_classes or 'the class count'}. Received: targets={targets!r}")
        return
    if isinstance(targets, str):
        if targets == "predicted":
            return
        if targets != "label":
            raise bad(f"'predicted', 'label', 'topK', a class index or a list of them. Received: targets={targets!r}")
        if labels is None:
            raise ValueError(f"{owner} expects targets='label' with labels= (one class index per picture). "
                             "Received: labels=None")
        labels = np.asarray(labels)
        if labels.ndim != 1 or (num_images is not None and labels.shape[0] != num_images):
            raise ValueError(f"{owner} expects one label per picture ({num_images} labels). "
                             f"Received: labels of shape {labels.shape}")
        _check_classes(labels.tolist(), num_classes, owner, "labels")
        return
    if isinstance(targets, bool):
        raise TypeError(f"{owner} expects targets as a class index or a list of them. Received: {targets!r}")
    if isinstance(targets, (int, np.integer)):
        _check_classes([targets], num_classes, owner, "targets")
        return
    try:
        classes = list(targets)
    except TypeError:
        raise TypeError(f"{owner} expects targets 'predicted', 'label', 'topK', a class index or a list of them. "
                        f"Received: {type(targets).__name__}") from None
    if not classes:
        raise bad("to name at least one class. Received: an empty list")
    _check_classes(classes, num_classes, owner, "targets")


def _check_classes(classes, num_classes, owner, name):
    wrong = [c for c in classes if isinstance(c, bool) or not isinstance(c, (int, np.integer))
             or c < 0 or (num_classes is not None and c >= num_classes)]
    if wrong:
        limit = f"[0, {num_classes})" if num_classes is not None else ">= 0"
        raise ValueError(f"{owner} expects {name} to be class indices in {limit}. Received: {wrong}")


def target_classes(targets, logits, labels=None):
    """The classes ``[N, T]`` (int64) each picture's maps explain.

    Args:
        targets: the specification (checked with :func:`check_targets`).
        logits: ``[N, K]`` class scores (for ``"predicted"`` and top k).
        labels: ``[N]`` class indices, for ``"label"``.
    """
    logits = np.asarray(logits)
    count, num_classes = logits.shape
    check_targets(targets, num_classes, labels, count)
    k = top_k(targets)
    if k is not None:
        # Stable order: ties keep the lower class first.
        return np.argsort(-logits, axis=1, kind="stable")[:, :int(k)].astype(np.int64)
    if targets == "predicted":
        return np.argmax(logits, axis=1)[:, None].astype(np.int64)
    if isinstance(targets, str):  # "label"
        return np.asarray(labels, np.int64)[:, None]
    classes = [int(targets)] if isinstance(targets, (int, np.integer)) else [int(c) for c in targets]
    return np.tile(np.asarray(classes, np.int64), (count, 1))
