"""The model a command logs: a saved model file or a ``keras.applications`` name.

``--model`` takes either. A value that names an existing file, ends in
``.keras``/``.h5``/``.hdf5`` or contains a path separator is a file, loaded
with ``keras.saving.load_model``; anything else is looked up, case and
``_`` insensitively, among the model functions of ``keras.applications``
(``xception``, ``resnet50``, ``mobilenet_v2``, ...). Applications are built
without their top (any input size their minimum allows) with ImageNet weights;
where those can't be downloaded (no network), a note says so and the weights
are random. Each application comes with its own ``preprocess_input``.

A command checks its layers and channels against the ARCHITECTURE before any
weights are read (``check`` of :func:`load`): an application is built with
``weights=None`` (about 0.4 s for Xception on 2 cores), checked, and only
then gets its weights, copied from a second, pretrained build (ImageNet:
Keras downloads and loads them only while building) or read from the
``--weights`` file into the same model. The checked model is the one
returned, so the names checked are the names logged: a second build
numbers auto-named layers on (InceptionV3's ``conv2d`` becomes
``conv2d_94``). A saved model file is loaded whole, then checked: its
weights are local, and reading them is cheap (Xception's 84 MB: ``load_model``
0.75 s in all; the architecture alone from ``config.json`` 0.34 s, but then
``model.load_weights`` on the ``.keras`` file 2 s more).
"""

import contextlib
import dataclasses
import difflib
import importlib
import os
import sys

from tb_featureviz.cli.common import CommandError, first_line

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")

#: Input sizes of the applications whose ImageNet size is not 224.
DEFAULT_SIZES = {"xception": 299, "inceptionv3": 299, "inceptionresnetv2": 299, "nasnetlarge": 331}

EXPECTED_MODEL = "--model expects a saved model file (.keras, .h5) or a keras.applications name (e.g. xception)"


@dataclasses.dataclass
class LoadedModel:
    """A model ready to log.

    Attributes:
        model: the Keras model.
        description: how it was made, for a progress line (``"xception (71x71, random weights)"``).
        preprocess: the application's ``preprocess_input``, or None for a model file.
        preprocess_name: its dotted name, or None.
        weights: ``"imagenet"``, ``"none"``, a weights file, or None for a model file.
        checked: what the ``check`` of :func:`load` returned (None without one).
    """

    model: object
    description: str
    preprocess: object = None
    preprocess_name: str = None
    weights: str = None
    checked: object = None


def is_model_path(value):
    """Whether ``--model value`` means a file rather than an application name."""
    return os.path.exists(value) or value.lower().endswith(MODEL_SUFFIXES) or os.sep in value or "/" in value


def _key(name):
    return name.lower().replace("_", "").replace("-", "")


def applications():
    """``{lookup key: (public name, model function)}`` of every ``keras.applications`` model."""
    import keras

    table = {}
    for name in dir(keras.applications):
        function = getattr(keras.applications, name)
        if name[:1].isupper() and callable(function):
            table[_key(name)] = (name, function)
    return table


def application_preprocess(function):
    """``(preprocess_input, dotted public name)`` of an application's model function."""
    module = importlib.import_module(function.__module__)
    public = function.__module__.replace("keras.src.applications.", "keras.applications.")
    return module.preprocess_input, f"{public}.preprocess_input"


def default_size(name):
    """The ImageNet input size of application ``name`` (299 for Xception)."""
    return DEFAULT_SIZES.get(_key(name), 224)


#: The first bytes of an HDF5 file (Keras' .h5 format).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_model_file(path):
    """Refuse, before Keras loads, a ``--model`` path that can't be a saved model.

    Raises:
        CommandError: missing, a directory, a ``.keras`` file that is no zip
            archive, or a ``.h5`` file that is no HDF5 file.
    """
    if not os.path.exists(path):
        raise CommandError(f"{EXPECTED_MODEL}. Received: {path!r}, a file that does not exist")
    if os.path.isdir(path):
        raise CommandError(
            f"{EXPECTED_MODEL}. Received: {path!r}, a directory (a TensorFlow SavedModel? Keras 3 loads "
            ".keras and .h5 files only)"
        )
    import zipfile

    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == ".keras" and not zipfile.is_zipfile(path):
            raise CommandError(
                f"--model expects a .keras file (a zip archive written by model.save). Received: {path!r}, "
                "which is not a zip archive"
            )
        if suffix in (".h5", ".hdf5"):
            with open(path, "rb") as handle:
                if handle.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                    raise CommandError(
                        f"--model expects an {suffix} file in HDF5 format (written by model.save). "
                        f"Received: {path!r}, which is not an HDF5 file"
                    )
    except OSError as error:
        raise CommandError(f"--model expects a readable model file. Received: {path!r} ({first_line(error)})") from error


def load_model_file(path, check=None):
    """``keras.saving.load_model(path, compile=False)``, with errors a shell user can act on.

    Args:
        path: a ``.keras`` or ``.h5`` file.
        check: optional ``function(model) -> anything`` run on the loaded
            model (see :func:`load`); its result is ``LoadedModel.checked``.

    Raises:
        CommandError: the file doesn't exist or Keras can't load it.
    """
    check_model_file(path)
    import keras

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - Keras raises many types for a file it can't read
        raise CommandError(
            f"--model expects a model file keras.saving.load_model can load. Received: {path!r} ({first_line(error)})"
        ) from error
    checked = check(model) if check is not None else None
    return LoadedModel(model, f"{os.path.basename(path)} ({type(model).__name__} {model.name!r})", checked=checked)


def find_application(name):
    """``(public name, model function)`` of ``keras.applications`` model ``name``.

    Raises:
        CommandError: no application has that name (the closest ones are listed).
    """
    table = applications()
    found = table.get(_key(name))
    if found is None:
        close = difflib.get_close_matches(_key(name), sorted(table), n=3, cutoff=0.6)
        hint = f" Closest names: {', '.join(table[c][0].lower() for c in close)}." if close else (
            " Names: " + ", ".join(sorted(public.lower() for public, _ in table.values())[:8]) + ", ...")
        raise CommandError(
            f"{EXPECTED_MODEL}. Received: {name!r}, which is neither an existing file nor a keras.applications "
            f"name.{hint}"
        )
    return found


def load_application(name, weights="imagenet", image_size=None, note=print, check=None, include_top=False):
    """A ``keras.applications`` model (without its top unless told), with an honest weights fallback.

    The architecture is built first, without weights, and ``check`` runs on
    it; weights are downloaded or read only after it passed, into the same
    model.

    Args:
        name: e.g. ``"xception"`` (case and ``_`` don't matter).
        weights: ``"imagenet"`` (random weights, with a note, where they
            can't be downloaded), ``"none"``, or a weights file.
        image_size: input height and width; default: the model's ImageNet size.
        note: ``function(text)`` that shows a one-line note.
        check: optional ``function(model) -> anything`` run on the weightless
            architecture; what it raises stops the load before any weights
            are read. Its result is ``LoadedModel.checked``.
        include_top: keep the ImageNet classifier (1000 classes, softmax):
            what attribution explains.

    Returns:
        :class:`LoadedModel`.

    Raises:
        CommandError: unknown name, missing or unreadable weights file, an
            input size the model refuses.
    """
    public, function = find_application(name)
    size = default_size(public) if image_size is None else image_size
    shape = (size, size, 3)
    if weights not in ("imagenet", "none") and not os.path.isfile(weights):
        raise CommandError(
            f"--weights expects 'imagenet', 'none' or an existing weights file. Received: {weights!r}, "
            "which is not a file"
        )
    try:
        model = function(weights=None, include_top=include_top, input_shape=shape)
    except ValueError as error:
        raise CommandError(f"--image-size {size} does not fit {public}: {first_line(error)}") from error
    checked = check(model) if check is not None else None

    used = weights
    if weights == "imagenet":
        try:
            # Keras prints "Downloading data from ..." on stdout, which holds results only.
            with contextlib.redirect_stdout(sys.stderr):
                pretrained = function(weights="imagenet", include_top=include_top, input_shape=shape)
        except Exception as error:  # noqa: BLE001 - any download or cache failure means "no weights"
            note(
                f"could not load the ImageNet weights for {public} ({first_line(error, 200)}); using random "
                "weights (weights=None): the filters are noise and the feature maps show an untrained network. "
                "Pass --weights FILE to use a local weights file."
            )
            used = "none"
        else:
            model.set_weights(pretrained.get_weights())
            del pretrained
    elif weights != "none":
        try:
            model.load_weights(weights)  # what keras.applications does with a weights file
        except Exception as error:  # noqa: BLE001 - h5py, Keras and OS errors alike mean "not these weights"
            raise CommandError(
                f"--weights expects a weights file of {public} {'with' if include_top else 'without'} its top "
                f"at {size}x{size}. "
                f"Received: {weights!r} ({first_line(error)})"
            ) from error
    preprocess, preprocess_name = application_preprocess(function)
    shown = {"imagenet": "ImageNet weights", "none": "random weights"}.get(used, f"weights {used}")
    return LoadedModel(model, f"{public} ({size}x{size}, {shown})", preprocess, preprocess_name, used, checked)


def check_file_options(path, weights, image_size):
    """Refuse ``--weights`` and ``--image-size`` with a model file: they apply to applications only."""
    for flag, given in (("--weights", weights), ("--image-size", image_size)):
        if given is not None:
            raise CommandError(
                f"{flag} expects a keras.applications --model (a saved model has its own). "
                f"Received: {flag} with the model file {path!r}"
            )


def load(value, weights=None, image_size=None, note=print, check=None, include_top=False):
    """The model ``--model value`` names (see the module docstring).

    ``weights`` and ``image_size`` apply to applications only; given with a
    model file they are refused. ``check(model)`` checks the command's
    layers and channels: for an application it runs on the architecture,
    before any weights are downloaded or read; for a model file, once the
    file is loaded. What it raises stops the load; what it returns is
    ``LoadedModel.checked``. ``include_top`` keeps an application's
    classifier (a model file is loaded as it is).
    """
    if is_model_path(value):
        check_file_options(value, weights, image_size)
        return load_model_file(value, check)
    return load_application(value, weights or "imagenet", image_size, note, check, include_top)


def resolve_function(dotted, flag="--preprocess"):
    """The function at a dotted path like ``keras.applications.xception.preprocess_input``.

    Raises:
        CommandError: the module can't be imported or holds no such callable.
    """
    expected = f"{flag} expects a dotted path to a function, e.g. keras.applications.xception.preprocess_input"
    module_name, _, attribute = dotted.rpartition(".")
    if not module_name or not attribute:
        raise CommandError(f"{expected}. Received: {dotted!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise CommandError(f"{expected}. Received: {dotted!r} ({first_line(error)})") from error
    function = getattr(module, attribute, None)
    if not callable(function):
        raise CommandError(f"{expected}. Received: {dotted!r}, and {module_name} has no function {attribute!r}")
    return function


def start_keras(value, args, console):
    """Check ``--model``'s file and options, then choose and import the Keras backend.

    The checks that need no Keras come first; an unknown application name
    is refused right after Keras loads, before any progress line.

    Returns:
        the backend's name.
    """
    from tb_featureviz.cli import backend as backend_lib

    is_file = is_model_path(value)
    if is_file:
        check_model_file(value)
        check_file_options(value, args.weights, args.image_size)
    choice = backend_lib.choose_backend(args.backend)
    if choice.note:
        console.note(choice.note)
    backend = backend_lib.import_keras(choice, debug=args.debug)
    if not is_file:
        find_application(value)
    return backend


def add_application_arguments(parser):
    """``--weights`` and ``--image-size``: how a ``keras.applications`` ``--model`` is built."""
    from tb_featureviz.cli.log import size_type

    parser.add_argument("--weights", metavar="imagenet|none|FILE",
                        help="weights of a keras.applications model (default imagenet; random where offline)")
    parser.add_argument("--image-size", type=size_type, metavar="PIXELS",
                        help="input size of a keras.applications model (default: its ImageNet size, 299 for "
                             "Xception; Xception needs >= 71)")
