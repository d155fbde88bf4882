"""HTTP plumbing of the plugin: parameters, error replies, allowed methods, static files.

Every route is a WSGI app made by :func:`json_route`: it answers only GET
and HEAD (405 with ``Allow: GET, HEAD`` otherwise), turns an
:class:`HttpError` or a data provider's ``PublicError`` into a JSON
``{"error": ...}`` reply with its code, and never lets bad input become a
500. Static files come from a whitelist read once at start-up
(:func:`load_static_files`); no request parameter ever reaches a file path.

Example:
    >>> from werkzeug import test, wrappers
    >>> app = json_route("runs", lambda request, route, ctx, eid: {"runs": []})
    >>> test.Client(app, wrappers.Response).post("/").status_code
    405
"""

import os
import re
from importlib import resources

from tensorboard import errors, plugin_util
from tensorboard.backend import http_util
from werkzeug import wrappers

from tb_featureviz import jsontext

#: Static file types the panel may ship, and the type each is served with.
STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}

#: Methods every route answers; others get 405.
ALLOWED_METHODS = ("GET", "HEAD")

_INT = re.compile(r"-?[0-9]{1,18}\Z")
_STATIC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")


class HttpError(Exception):
    """An error reply: ``code`` and the message sent as ``{"error": ...}``."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def bad_request(message):
    """A 400 :class:`HttpError`."""
    return HttpError(400, message)


def not_found(message):
    """A 404 :class:`HttpError`."""
    return HttpError(404, message)


def param(request, route, name, required=True):
    """The single non-empty value of query parameter ``name``, or None.

    Raises:
        HttpError: 400 when it is missing (and required), repeated or empty.
    """
    values = request.args.getlist(name)
    if not values:
        if required:
            raise bad_request(f"{route} expects parameter '{name}'. Received: no '{name}'")
        return None
    if len(values) > 1:
        raise bad_request(f"{route} expects one value of '{name}'. Received: {len(values)} values")
    if not values[0]:
        raise bad_request(f"{route} expects a non-empty '{name}'. Received: {name}=")
    return values[0]


def int_param(request, route, name, required=True, minimum=None):
    """Query parameter ``name`` as an int (plain decimal digits), or None.

    Raises:
        HttpError: 400 for anything but up to 18 digits (and ``>= minimum``).
    """
    text = param(request, route, name, required)
    if text is None:
        return None
    if not _INT.match(text) or (minimum is not None and int(text) < minimum):
        what = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise bad_request(f"{route} expects '{name}' to be {what}. Received: {name}={text!r}")
    return int(text)


def _method_not_allowed(request):
    body = jsontext.dumps({"error": f"Method {request.method} not allowed; use {' or '.join(ALLOWED_METHODS)}"})
    response = http_util.Respond(request, body, "application/json", code=405)
    response.headers["Allow"] = ", ".join(ALLOWED_METHODS)
    return response


def json_route(route, handler):
    """WSGI app of a route; errors become ``{"error": ...}`` JSON replies.

    Args:
        route: the route's name, for error messages.
        handler: ``handler(request, route, ctx, eid)`` returning a JSON
            document (dict, or its text) or ``(bytes, content_type)``.
    """

    @wrappers.Request.application
    def app(request):
        if request.method not in ALLOWED_METHODS:
            return _method_not_allowed(request)
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        try:
            body = handler(request, route, ctx, eid)
        except HttpError as e:
            code, message = e.code, str(e)
        except errors.PublicError as e:
            # The data provider's own 4xx (e.g. data dropped between two
            # calls): keep its code, still answer JSON.
            code, message = e.http_code, str(e)
        else:
            if isinstance(body, tuple):
                return http_util.Respond(request, body[0], body[1])
            text = body if isinstance(body, str) else jsontext.dumps_lenient(body)
            return http_util.Respond(request, text, "application/json")
        return http_util.Respond(request, jsontext.dumps_lenient({"error": message}), "application/json", code=code)

    return app


def static_route(content, content_type):
    """WSGI app serving one whitelisted file, read at load time."""

    @wrappers.Request.application
    def app(request):
        if request.method not in ALLOWED_METHODS:
            return _method_not_allowed(request)
        return http_util.Respond(request, content, content_type)

    return app


def load_static_files(root=None):
    """Read the panel's static files once: the whitelist of what may be served.

    Only plain files directly in ``root`` whose suffix is in
    :data:`STATIC_TYPES` and whose name is simple (letters, digits, ``_``,
    ``.``, ``-``) are taken; each is served at ``/<name>``. No request
    parameter ever reaches a file path: a request either names a key of
    this dict or gets a 404.

    Args:
        root: a directory (``pathlib.Path`` or ``importlib.resources``
            Traversable); by default the package ``tb_featureviz.frontend``
            (setup.py maps it to ``frontend/``).

    Returns:
        Dict ``{"/index.js": (bytes, "text/javascript"), ...}``; empty when
        the package is not installed.

    Example:
        >>> import pathlib, tempfile
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "index.js").write_text("export function render() {}")
        >>> _ = (d / "notes.txt").write_text("not served")
        >>> sorted(load_static_files(d))
        ['/index.js']
    """
    if root is None:
        try:
            root = resources.files("tb_featureviz.frontend")
        except ModuleNotFoundError:
            return {}
    files = {}
    for entry in root.iterdir():
        name = entry.name
        suffix = os.path.splitext(name)[1]
        if suffix in STATIC_TYPES and _STATIC_NAME.match(name) and entry.is_file():
            files["/" + name] = (entry.read_bytes(), STATIC_TYPES[suffix])
    return files
