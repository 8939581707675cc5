"""A faster Python side for the jsii calls a synthesis makes (speed-up ``fast_kernel``).

Why this exists
---------------
Every construct, struct and attribute read of a CDKTF app is a request to the jsii kernel
(node): the default app makes ~1,300, fifty services in two environments ~10,700. On the
Python side jsii spends about 0.3 ms on each of them, more than node takes to answer:

* struct arguments are serialized by reading every declared property through its
  generated getter, which evaluates ``typing.cast(typing.Optional[...], value)`` each time
  (an ``EcsServiceConfig`` has ~40 properties, most of them unset);
* requests and responses go through cattrs' generic (un)structuring, where each of these
  messages has a fixed, flat shape;
* the overrides of a class are found again, by walking its MRO, for every instance.

``install()`` replaces those three steps with direct equivalents that produce the same
messages:

* a generated struct keeps its values in ``self._values`` and each property getter
  returns ``self._values.get(name)``, so the values are read from that dict. A key
  that is not set is left out of the message, where jsii sends it as ``null``: the kernel
  reads both alike (its struct deserializer drops a key whose value deserializes to
  ``undefined``, which an optional ``null`` does), but for each ``null`` it looks up the
  property's type, and formats it (``computeSerializationType``), the first time: an
  ``EcsServiceConfig`` has ~40 properties, most of them unset. A required property left
  unset fails in the kernel either way ("Missing required properties" instead of "not
  optional");
* ``create``, ``get``, ``invoke``, their static forms, and the completion of a callback
  that returned a string, number, boolean or nothing (an address, infra.addresses) are
  built as the dicts cattrs would build, key for key (tests/test_speedups.py compares them);
  their answers are unpacked directly. Anything else (load, set, other completions,
  callbacks, errors) takes jsii's own path;
* overrides are computed once per (declared class, instance class);
* a callback the kernel makes (CDKTF asking a stack of ours for an element's address, about
  fifty times a service stack) is read without cattrs, and the keyword arguments of the
  method it calls are found once per method, not by `inspect.signature` on every call;
* the path of each construct Python creates is known from its create request (its
  scope, created before it, and its id), so ``construct_path()`` answers it without a
  request; infra.addresses asks it for every resource and data source of every stack,
  where it would otherwise ask the kernel (``toString``);
* the kernel is started without jsii's relay process. jsii runs `node jsii-runtime.js`,
  which starts the kernel (`lib/program.js`) as a second node process, speaking to it on
  its fd 3 and passing every message on between that and Python's pipes: two extra
  process wake-ups per message (~90 us of the ~250 us a trivial call costs here) and
  ~45 MB. Here Python starts `program.js` itself, its fd 3 one end of a socket pair of
  which Python holds the other (`sh -c 'exec node ... 3<&0'` puts it there); the
  kernel's stdout and stderr are this process's, where the relay forwarded them too.
  Not done (and said in one line) when JSII_RUNTIME names a runtime of the user's, off
  POSIX, or when node is not found (jsii's own start then reports that).

tests/test_speedups.py proves the synthesized files are byte-identical with and without
it; ``make bench`` measures what it saves.

It patches private jsii functions, so ``infra.speedups`` installs it only with the jsii
version of versions.py, which it was written against and checked with; and install()
checks that each private name it replaces is still there, in the shape it expects. Any
other case changes nothing and prints one line (``speedups: fast_kernel off: ...``).
"""

from __future__ import annotations

import atexit
import datetime
import enum
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from types import BuiltinFunctionType, FunctionType, LambdaType, MethodType
from typing import Any

from infra.speedups import report

NAME = "fast_kernel"
_status: dict[str, Any] = {"installed": False, "reason": "not installed", "relay": True}
# Each construct Python created, by its kernel reference: (its scope, its id); the root
# (cdktf.App) as (None, "").
_created: dict[str, tuple[Any, str]] = {}
# The message the fast path sends for a request, or None where jsii's own path sends it (set
# by _patch; tests compare it with jsii's).
_request_message: Any = None
_callback_message: Any = None  # the Callback the fast path reads from a kernel's message, or None
_PATH_SEPARATOR = "/"
_ROOT_FQN = "cdktf.App"


def status() -> dict[str, Any]:
    return dict(_status)


def construct_path(construct: Any) -> str | None:
    """`construct.node.path` as the kernel has it, for a construct Python created under a
    root Python created (`cdktf.App`); None for any other object, and whenever this
    speed-up is off.

    The path is the ids from below the root down, joined by '/', each id with a '/' in it
    written '--' (constructs 10, lib/construct.js: `Node.path`, `sanitizeId`).
    tests/test_speedups.py checks it against the kernel's.
    """
    chain = _chain(construct)
    if chain is None:
        return None
    return _PATH_SEPARATOR.join(id_.replace(_PATH_SEPARATOR, "--") for _, id_ in reversed(chain[:-1]))


def construct_scopes(construct: Any) -> list[Any] | None:
    """The construct and the scopes above it, nearest first, up to the root (the Python
    objects, as `construct_path`); None where it does not know them all."""
    chain = _chain(construct)
    return None if chain is None else [known for known, _ in chain]


def _chain(construct: Any) -> list[tuple[Any, str]] | None:
    """(construct, its id) for the construct and each scope above it, nearest first, the root
    last; None where a create request of one of them was not seen."""
    chain = []
    while construct is not None:
        ref = getattr(construct, "__jsii_ref__", None)
        entry = _created.get(ref.ref) if ref is not None else None
        if entry is None:
            return None
        chain.append((construct, entry[1]))
        construct = entry[0]
    return chain


def install() -> str | None:
    """Patch the jsii runtime (idempotent). None when the fast paths are active, else why not."""
    if not _status["installed"]:
        why = _unexpected_shape()
        if why:
            _status.update(reason=why)
            return why
        _patch()
        _status.update(installed=True, reason=None)
    return None


def _unexpected_shape() -> str | None:
    """Why the jsii runtime is not what _patch() replaces parts of, or None."""
    try:
        import jsii._kernel as kernel_module
        from jsii import _reference_map
        from jsii._kernel import types
        from jsii._kernel.providers import process
    except ImportError as exc:
        return f"cannot import a jsii module it patches ({exc})"
    needed = [
        (kernel_module, ("_make_reference_for_native", "_get_overides", "_handle_callback", "_recursize_dereference",
                         "_reference_map")),
        (_reference_map, ("register_reference",)),
        (types, ("GetRequest", "InvokeRequest", "CreateRequest", "StaticGetRequest", "StaticInvokeRequest",
                 "CompleteRequest", "Callback", "GetResponse", "InvokeResponse", "CreateResponse", "ObjRef")),
        (process, ("_unstructure_ref", "_NodeProcess", "_stack_traces_enabled", "jdefault", "_CompleteRequest",
                   "_ProcessResponse", "_CallbackResponse", "ErrorType", "JavaScriptError")),
    ]
    for owner, names in needed:
        for name in names:
            if not hasattr(owner, name):
                return f"jsii has no {owner.__name__}.{name}"
    for name in ("send", "start", "stop", "handshake", "_next_message", "_jsii_runtime"):
        if not callable(getattr(process._NodeProcess, name, None)):
            return f"jsii has no _NodeProcess.{name}"
    return None


def _patch() -> None:
    import jsii._kernel as kernel_module
    from jsii import _reference_map
    from jsii._kernel import types
    from jsii._kernel.providers import process
    from jsii.errors import JSIIError

    unstructure_ref = process._unstructure_ref
    functions = (FunctionType, MethodType, BuiltinFunctionType, LambdaType)
    scalars = (int, type(None), str, float, bool, datetime.datetime)
    plain_results = {str, int, float, bool, type(None)}  # cattrs passes these on as they are

    def make_reference_for_native(kernel: Any, d: Any) -> Any:
        # Same cases, in the same order, as jsii._kernel._make_reference_for_native.
        kind = type(d)
        if kind is str or d is None or kind is bool or kind is int or kind is float:
            return d
        if isinstance(d, dict):
            return {"$jsii.map": {k: make_reference_for_native(kernel, v) for k, v in d.items()}}
        if isinstance(d, list):
            return [make_reference_for_native(kernel, item) for item in d]
        fqn = getattr(d, "__jsii_type__", None)
        if fqn is not None:
            if isinstance(d, enum.Enum):
                return {"$jsii.enum": f"{fqn}/{d.value}"}
            mapping = getattr(d, "__jsii_name_mapping__", None)
            if mapping is None:
                return d
            values = getattr(d, "__dict__", {}).get("_values")
            read = values.get if type(values) is dict else lambda name: getattr(d, name)
            data = {}
            for name, jsii_name in mapping.items():
                value = read(name)
                if value is not None:  # an unset key is left out (module doc)
                    data[jsii_name] = make_reference_for_native(kernel, value)
            return {"$jsii.struct": {"fqn": fqn, "data": data}}
        if isinstance(d, scalars):
            return d
        if isinstance(d, functions):
            raise JSIIError(f"Cannot pass function as argument here (did you mean to call this function?): {d!r}")
        kernel.create(d.__class__, d)
        _reference_map.register_reference(d)
        return d

    find_overrides = kernel_module._get_overides
    overrides_by_class: dict[tuple[type, type], list[Any]] = {}

    def get_overrides(klass: type, obj: Any) -> list[Any]:
        key = (klass, type(obj))
        found = overrides_by_class.get(key)
        if found is None:
            found = overrides_by_class[key] = find_overrides(klass, obj)
        return list(found)

    def request_dict(request: Any) -> dict[str, Any] | None:
        # The dicts cattrs makes of these attrs classes (fields in order, then "api").
        kind = type(request)
        if kind is types.GetRequest:
            return {"objref": unstructure_ref(request.objref), "property": request.property, "api": "get"}
        if kind is types.InvokeRequest:
            return {"objref": unstructure_ref(request.objref), "method": request.method, "args": request.args, "api": "invoke"}
        if kind is types.CreateRequest:
            return {
                "fqn": request.fqn,
                "args": request.args,
                "overrides": [{"method": o.method, "property": o.property, "cookie": o.cookie} for o in request.overrides],
                "interfaces": request.interfaces,
                "api": "create",
            }
        if kind is types.StaticGetRequest:
            return {"fqn": request.fqn, "property": request.property, "api": "sget"}
        if kind is types.StaticInvokeRequest:
            return {"fqn": request.fqn, "method": request.method, "args": request.args, "api": "sinvoke"}
        if kind is process._CompleteRequest:
            complete = request.complete
            if type(complete) is types.CompleteRequest and type(complete.result) in plain_results:
                return {"complete": {"cbid": complete.cbid, "err": complete.err, "result": complete.result, "api": "complete"}}
        return None

    global _request_message
    _request_message = request_dict

    def callback_of(answer: dict[str, Any]) -> Any:
        # The Callback cattrs makes of an `invoke` callback's message (ohook has made its
        # objref an ObjRef already); None for any other shape, which jsii reads itself.
        callback = answer.get("callback")
        if type(callback) is not dict or not callback.keys() <= {"cbid", "cookie", "invoke"}:
            return None
        invoke = callback.get("invoke")
        if (type(invoke) is not dict or not invoke.keys() <= {"objref", "method", "args"}
                or type(invoke.get("objref")) is not types.ObjRef or type(invoke.get("args", [])) is not list):
            return None
        return types.Callback(
            cbid=callback["cbid"], cookie=callback["cookie"],
            invoke=types.InvokeRequest(objref=invoke["objref"], method=invoke["method"], args=list(invoke.get("args", []))),
        )

    global _callback_message
    _callback_message = callback_of

    value_field = {types.GetResponse: "value", types.InvokeResponse: "result"}
    send = process._NodeProcess.send

    def fast_send(self: Any, request: Any, response_type: Any) -> Any:
        message = request_dict(request)
        if message is None or process._stack_traces_enabled():
            return send(self, request, response_type)
        self._process.stdin.write(b"%b\n" % (json.dumps(message, default=process.jdefault).encode("utf8"),))
        self._process.stdin.flush()
        answer = self._next_message()
        if len(answer) == 1 and "ok" in answer:
            ok = answer["ok"]
            if response_type is types.CreateResponse and type(ok) is types.ObjRef:
                if type(request) is types.CreateRequest:  # not the completion of a callback
                    args = request.args
                    if len(args) >= 2 and type(args[1]) is str and hasattr(args[0], "__jsii_ref__"):
                        _created[ok.ref] = (args[0], args[1])  # (scope, id) for construct_path
                    elif request.fqn == _ROOT_FQN:
                        _created[ok.ref] = (None, "")
                return types.CreateResponse(ref=ok.ref)
            field = value_field.get(response_type)
            if field is not None and type(ok) is dict and ok.keys() <= {field}:
                return response_type(ok.get(field))
            return self._serializer.structure(ok, response_type)
        if len(answer) == 1:
            callback = callback_of(answer)
            if callback is not None:
                return callback
        # Other callbacks and errors: jsii's own handling.
        parsed = self._serializer.structure(answer, process._ProcessResponse)
        if isinstance(parsed, process._CallbackResponse):
            return parsed.callback
        if parsed.name == process.ErrorType.JSII_FAULT.value:
            raise JSIIError(parsed.error) from process.JavaScriptError(parsed.stack)
        raise RuntimeError(parsed.error) from process.JavaScriptError(parsed.stack)

    import inspect  # jsii imports it too; not at this module's import (stdlib only, and light)

    handle_callback = kernel_module._handle_callback
    dereference = kernel_module._recursize_dereference
    keywords: dict[Any, tuple[list[str], int]] = {}

    def fast_handle_callback(kernel: Any, callback: Any) -> Any:
        # jsii._kernel._handle_callback for an `invoke`, with the method's keyword-only
        # parameters (and how many positional ones it has) looked up once per function.
        if not callback.invoke:
            return handle_callback(kernel, callback)
        obj = kernel_module._reference_map.resolve_id(callback.invoke.objref.ref)
        method = getattr(obj, callback.cookie)
        args = [dereference(kernel, a) for a in callback.invoke.args or []]
        function = getattr(method, "__func__", method)
        found = keywords.get(function)
        if found is None:
            parameters = inspect.signature(method).parameters.values()
            found = keywords[function] = (
                [p.name for p in parameters if p.kind == inspect.Parameter.KEYWORD_ONLY],
                sum(p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY)
                    for p in parameters),
            )
        names, positional = found
        kwargs = {}
        if names and len(args) > positional:
            struct = args.pop()
            kwargs = {name: getattr(struct, name) for name in names if hasattr(struct, name)}
        return method(*args, **kwargs)

    kernel_module._handle_callback = fast_handle_callback
    kernel_module._make_reference_for_native = make_reference_for_native
    kernel_module._get_overides = get_overrides
    process._NodeProcess.send = fast_send
    if os.name != "posix" or not os.path.exists("/bin/sh"):
        report.off(NAME + " (kernel relay)", "not a POSIX system with /bin/sh; the kernel starts through jsii's relay")
    elif "JSII_RUNTIME" in os.environ:
        report.off(NAME + " (kernel relay)", "JSII_RUNTIME names a runtime; jsii starts it as usual")
    elif any(name.endswith("._jsii") for name in sys.modules):  # jsii starts node at the first assembly load
        report.off(NAME + " (kernel relay)", "the jsii kernel was already running, started through jsii's relay")
    else:
        start = process._NodeProcess.start

        def start_kernel(self: Any) -> None:
            node = shutil.which(os.environ.get("JSII_NODE", "node"))
            if node is None:
                report.off(NAME + " (kernel relay)", "node not found; jsii's own start reports it")
                return start(self)
            self.stop = _stop_kernel.__get__(self)
            _status["relay"] = False
            return _start_kernel_directly(self, node)

        process._NodeProcess.start = start_kernel


def _start_kernel_directly(self: Any, node: str) -> None:
    """jsii's _NodeProcess.start, minus the relay: node runs the kernel program itself."""
    environ = os.environ.copy()
    environ["JSII_AGENT"] = f"Python/{platform.python_version()}"
    runtime = self._jsii_runtime()  # unpacks jsii's embedded runtime; removed again by stop()
    program = os.path.join(os.path.dirname(os.path.dirname(runtime)), "lib", "program.js")
    ours, kernels = socket.socketpair()
    try:
        self._process = subprocess.Popen(
            ["/bin/sh", "-c", 'exec "$0" "$@" 3<&0 0</dev/null',
             node, "--max-old-space-size=4069", "--preserve-symlinks", program],
            stdin=kernels,
            env=environ,
        )
    finally:
        kernels.close()
    self._socket = ours
    self._process.stdin = ours.makefile("wb")
    self._process.stdout = ours.makefile("rb")
    atexit.register(self.stop)
    self.handshake()


def _stop_kernel(self: Any) -> None:
    atexit.unregister(self.stop)
    channel = self._process.stdin
    if not channel.closed:
        try:
            channel.write(b'{"exit":0}\n')
            channel.flush()
        except OSError:
            pass  # the kernel is gone already
        channel.close()
    try:
        self._process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        self._process.terminate()
    self._process.stdout.close()
    self._socket.close()
    self._ctx_stack.close()
