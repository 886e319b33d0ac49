"""Background work that must not freeze Blender: each task's `work` runs in its own worker thread, which
never touches bpy (DESIGN.md §5); its result or exception is handed to `on_done` / `on_error` on the main
thread by a `bpy.app.timers` pump that only checks finished flags, so no main-thread step ever waits.

An `on_done` that is a generator function spreads its main-thread work over several pump ticks: each
tick advances it one step (one bounded piece of work, e.g. part of a large mesh), and the task counts as
busy until it is exhausted.

Under `--background` timers never fire: scripts and tests call `pump()` themselves, or `wait()`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

PUMP_INTERVAL = 0.05  # seconds between main-thread checks while a task runs


@dataclass
class Task:
    """One piece of background work; `label` is what the panel shows while it runs."""

    name: str
    label: str
    work: Callable[[], Any]
    on_done: Callable[[Any], Any] | None = None  # may be a generator function: stepwise (see above)
    on_error: Callable[[BaseException], None] | None = None
    result: Any = None
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    finished: threading.Event = field(default_factory=threading.Event)
    handled: bool = False  # its callback has run on the main thread
    steps: Iterator[Any] | None = None  # the rest of a stepwise `on_done`, one step per pump tick
    calls: MainThreadCalls | None = None  # bpy calls the worker asks of the main thread, served per tick

    def _run(self) -> None:
        try:
            self.result = self.work()
        except BaseException as exc:  # handed to the main thread, which reports it
            self.error = exc
        finally:
            self.finished.set()


class MainThreadCalls:
    """Lets a worker thread use functions that need bpy (reading an image through Blender): `wrap(fn)`
    gives a function that queues the call and waits; the task pump runs queued calls on the main thread
    for at most STEP_BUDGET per tick (at least one), so the worker does the numpy work and the main thread
    only the bpy calls, a few at a time. `close()` makes waiting calls fail (task abandoned)."""

    STEP_BUDGET = 0.02  # seconds of queued calls per pump tick

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = threading.Event()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kw: Any) -> Any:
            box: dict[str, Any] = {}
            done = threading.Event()
            self._queue.put((fn, args, kw, box, done))
            while not done.wait(0.1):
                if self.closed.is_set():
                    raise RuntimeError("abandoned")
            if "error" in box:
                raise box["error"]
            return box["value"]

        return call

    def serve(self) -> None:
        """Main thread: run queued calls until the queue is empty or the tick's budget is spent."""
        end = time.perf_counter() + self.STEP_BUDGET
        while True:
            try:
                fn, args, kw, box, done = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                box["value"] = fn(*args, **kw)
            except BaseException as exc:  # handed to the worker, which raises it
                box["error"] = exc
            done.set()
            if time.perf_counter() >= end:
                return

    def close(self) -> None:
        self.closed.set()


_tasks: list[Task] = []


def run(name: str, label: str, work: Callable[[], Any], on_done: Callable[[Any], Any] | None = None,
        on_error: Callable[[BaseException], None] | None = None, calls: MainThreadCalls | None = None
        ) -> Task:
    """Start `work()` in a worker thread now; the callbacks run later on the main thread. `calls`: the
    bridge through which `work` asks the main thread for bpy calls (served by the pump)."""
    task = Task(name, label, work, on_done, on_error, calls=calls)
    _tasks.append(task)
    threading.Thread(target=task._run, name=f"softfit-{name}", daemon=True).start()
    _start_timer()
    return task


def busy(name: str | None = None) -> Task | None:
    """The oldest unhandled task (of that `name`), if any."""
    for t in _tasks:
        if not t.handled and (name is None or t.name == name):
            return t
    return None


def pump() -> float | None:
    """Run the callbacks of finished tasks (main thread); the timer's next interval, None when idle."""
    for task in list(_tasks):
        if not task.finished.is_set():
            if task.calls is not None:
                task.calls.serve()
            continue
        if task.steps is not None:
            _step(task)
            continue
        _tasks.remove(task)
        task.handled = True
        try:
            if task.error is None:
                if task.on_done is not None:
                    out = task.on_done(task.result)
                    if isinstance(out, Iterator):  # stepwise: busy again until its last step
                        task.steps, task.handled = out, False
                        _tasks.append(task)
            elif task.on_error is not None:
                task.on_error(task.error)
            else:
                print(f"SoftFit: {task.label} failed: {task.error!r}")
        except Exception as exc:  # a callback bug must not kill the pump for the other tasks
            print(f"SoftFit: internal error after {task.label}: {exc!r}")
    return PUMP_INTERVAL if _tasks else None


def _step(task: Task) -> None:
    """One step of a stepwise `on_done`; the task is handled once it is exhausted or failed."""
    assert task.steps is not None
    try:
        next(task.steps)
        return
    except StopIteration:
        pass
    except Exception as exc:
        print(f"SoftFit: internal error after {task.label}: {exc!r}")
    if task in _tasks:
        _tasks.remove(task)
    task.handled = True


def wait(task: Task | None = None, timeout: float = 600.0) -> bool:
    """Block until `task` (default: every task) is finished and handled; for scripts and tests in
    background mode, never called from the UI. False on timeout."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pump()
        if (task.handled if task is not None else not _tasks):
            return True
        time.sleep(0.02)
    return False


def _start_timer() -> None:
    try:
        import bpy
    except ImportError:  # pure tests
        return
    if not bpy.app.timers.is_registered(pump):
        bpy.app.timers.register(pump, first_interval=PUMP_INTERVAL, persistent=True)


def shutdown() -> None:
    """Forget pending tasks (add-on disabled); their threads end on their own and nobody listens."""
    for task in _tasks:
        if task.calls is not None:
            task.calls.close()
    _tasks.clear()
    try:
        import bpy
    except ImportError:
        return
    if bpy.app.timers.is_registered(pump):
        bpy.app.timers.unregister(pump)
