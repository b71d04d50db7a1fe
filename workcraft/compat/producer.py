"""``send_task_sync`` / ``get_task_sync``: the README's methods, and 0.5.27's static methods
of the same names, on one attribute.

0.5.27 declared them ``@staticmethod`` with the connection first::

    Workcraft.send_task_sync(db_config, payload: TaskPayload, task_name, queue="DEFAULT",
                             retry_on_failure=False, retry_limit=3) -> str
    Workcraft.get_task_sync(db_config, task_id) -> Task | None     # result: JSON text

and its users call them on the class or on an instance. The README's methods take the task
name (or id) first. Which one a call means is decided from the call alone:

* on the class (``Workcraft.send_task_sync(...)``): 0.5.27's — unless the first argument is
  an app (the unbound README call ``Workcraft.send_task_sync(app, "name", ...)``). A
  short-lived app makes the connection and closes it;
* on an app: 0.5.27's when the first positional argument is a ``DBConfig``, or (send only)
  when ``payload=`` is given; the README's otherwise. So ``app.get_task_sync(task_id=...,
  db_config=...)`` with keywords only is the README's call (a ``workcraft.Task`` with the
  decoded result): the two forms cannot be told apart there, and the documented one wins.

Every 0.5.27 form works unchanged and warns once (``DeprecationWarning``) with the README's
spelling: its argument order is the README's reversed, and its ``Task.result`` is JSON text.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from workcraft.compat.deprecation import warn_once
from workcraft.compat.payload import TaskPayload
from workcraft.compat.task import OriginalTask
from workcraft.config.database import DBConfig

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="Closable")


class Closable(Protocol):
    def close(self) -> None: ...


@dataclasses.dataclass(frozen=True)
class OriginalForm:
    """How 0.5.27 called one method, and how to turn such a call into the README's."""

    name: str
    # 0.5.27's method, as (README method, app, /, *its own parameters) -> what it returned.
    translate: Callable[..., Any]
    # True when an instance call (args, kwargs) is 0.5.27's form.
    recognise: Callable[[tuple[Any, ...], dict[str, Any]], bool]
    readme_form: str

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        """0.5.27's own parameters: ``translate``'s after the README method and the app."""
        full = inspect.signature(self.translate)
        return full.replace(parameters=list(full.parameters.values())[2:])

    def call(self, method: Callable[..., Any], app: Any, args: Any, kwargs: Any) -> Any:
        signature = self.signature
        try:
            signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.name}{signature} (workcraft 0.5.27's form): {exc}") from None
        return self.translate(method, app, *args, **kwargs)


class ProducerMethod(Generic[S, P, R]):
    """A method of the app that also answers 0.5.27's static-method calls (module doc)."""

    def __init__(self, method: Callable[Concatenate[S, P], R], form: OriginalForm) -> None:
        self._method = method
        self._form = form

        @functools.wraps(method)
        def on_instance(app: Any, *args: Any, **kwargs: Any) -> Any:
            if form.recognise(args, kwargs):
                self._warn()
                return form.call(method, app, args, kwargs)
            return method(app, *args, **kwargs)

        self._on_instance = on_instance

    def _warn(self) -> None:
        # stacklevel: _warn <- on_instance / on_class <- the user's call
        warn_once(
            self._form.name,
            f"{self._form.name}(db_config, ...) is workcraft 0.5.27's form; it still works. "
            f"The documented form is {self._form.readme_form}",
            stacklevel=3,
        )

    @overload
    def __get__(self, obj: None, owner: type[S]) -> Callable[..., R]: ...

    @overload
    def __get__(self, obj: S, owner: type[S] | None = None) -> Callable[P, R]: ...

    def __get__(self, obj: S | None, owner: type[S] | None = None) -> Callable[..., R]:
        if obj is not None:
            return cast(Callable[P, R], types.MethodType(self._on_instance, obj))
        assert owner is not None
        return functools.partial(self._on_class, owner)

    def _on_class(self, owner: type[S], *args: Any, **kwargs: Any) -> R:
        if args and isinstance(args[0], owner):  # Workcraft.send_task_sync(app, "name", ...)
            result: R = self._on_instance(*args, **kwargs)
            return result
        self._warn()
        app = owner()
        try:
            value: R = self._form.call(self._method, app, args, kwargs)
            return value
        finally:
            app.close()


def producer_method(
    form: OriginalForm,
) -> Callable[[Callable[Concatenate[S, P], R]], ProducerMethod[S, P, R]]:
    """Decorate the README's method with the 0.5.27 form it also answers."""

    def decorate(method: Callable[Concatenate[S, P], R]) -> ProducerMethod[S, P, R]:
        return ProducerMethod(method, form)

    return decorate


# -- the two forms ------------------------------------------------------------------------
def _check_config(value: Any) -> DBConfig:
    if not isinstance(value, DBConfig):
        raise TypeError(f"db_config must be a DBConfig, got {type(value).__name__}")
    return value


def _as_payload(value: Any) -> TaskPayload:
    if isinstance(value, TaskPayload):
        return value
    if isinstance(value, Mapping):
        return TaskPayload.model_validate(value)
    raise TypeError(f"payload must be a TaskPayload, got {type(value).__name__}")


def _send_0527(
    send_task_sync: Callable[..., str],
    app: Any,
    /,
    db_config: DBConfig,
    payload: TaskPayload,
    task_name: str,
    queue: str = "DEFAULT",
    retry_on_failure: bool = False,
    retry_limit: int = 3,
) -> str:
    task_payload = _as_payload(payload)
    return send_task_sync(
        app,
        task_name,
        task_payload.task_args,
        task_payload.task_kwargs,
        task_payload.prerun_handler_args,
        task_payload.prerun_handler_kwargs,
        task_payload.postrun_handler_args,
        task_payload.postrun_handler_kwargs,
        retry_on_failure=retry_on_failure,
        db_config=_check_config(db_config),
        queue=queue,
        retry_limit=retry_limit,
    )


def _get_0527(
    get_task_sync: Callable[..., Any], app: Any, /, db_config: DBConfig, task_id: str
) -> OriginalTask | None:
    task = get_task_sync(app, task_id, _check_config(db_config))
    return None if task is None else OriginalTask.from_task(task)


def _starts_with_config(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return bool(args) and isinstance(args[0], DBConfig)


SEND_0527 = OriginalForm(
    name="send_task_sync",
    translate=_send_0527,
    recognise=lambda args, kwargs: "payload" in kwargs or _starts_with_config(args, kwargs),
    readme_form=(
        'app.send_task_sync("task_name", [args], task_kwargs={...}, db_config=..., queue=...)'
    ),
)

GET_0527 = OriginalForm(
    name="get_task_sync",
    translate=_get_0527,
    recognise=_starts_with_config,
    readme_form=(
        "app.get_task_sync(task_id, db_config), which returns workcraft.Task with the "
        "decoded result (0.5.27's form returns the result as JSON text)"
    ),
)
