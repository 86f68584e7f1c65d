"""The workbench while llama.cpp builds in the background (Pilot, a stand-in build): the
embedded provider's state shows the build's progress, the prompt says when answers start,
the finished build enables the provider without a restart, and a failed one is a visible
error with its log's last lines and how to retry."""

from __future__ import annotations

from loco_tui.app import LocoApp
from loco_tui.engine_build import BuildPhase, EngineBuild
from loco_tui.registry import LoadedRegistry, default_registry
from loco_tui.widgets.sidebar import ModelSidebar
from tests.common import SIZE, booted, quiet_settings, until


def _app() -> LocoApp:
    """The workbench on the built-in registry: every role on the embedded model."""
    return LocoApp(LoadedRegistry(default_registry(), None),
                   settings=quiet_settings())  # type: ignore[arg-type]


def _sidebar(app: LocoApp) -> str:
    return str(app.query_one(ModelSidebar).render())


def _provider_line(app: LocoApp, name: str) -> str:
    return next(line for line in _sidebar(app).splitlines() if line.split()[1:2] == [name])


async def test_the_sidebar_shows_the_build_and_the_engine_is_used_once_built_without_restart(
    hidden_engine, standin, builds, tmp_path
):
    go = tmp_path / "go"
    # What `make run` does before opening the workbench.
    build = EngineBuild(command=standin("--steps", "20", "--hold-at", "45", "--until", str(go),
                                        *hidden_engine.install_args()))
    builds.append(build)
    assert build.start().phase is BuildPhase.RUNNING
    app = _app()
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: "45%" in _sidebar(app))
        shown = _sidebar(app)
        assert "◐ builtin embedded building" in _provider_line(app, "builtin")
        assert "45% compiling · " in shown
        assert "build.log" in shown and "answers once it is built" in shown
        # Models of the embedded provider are coming, not down.
        assert "◐ smol XS" in shown and "●" not in _provider_line(app, "builtin")
        assert not app.controller.pool.health["builtin"].up
        # No server answers: the prompt and a notice say when answers start.
        assert app.prompt.placeholder.startswith("Answers start when the embedded engine")
        assert any("Answers start when it is ready" in n for n in notes)

        go.touch()  # the build goes on and installs the engine
        await until(pilot, lambda: app.controller.pool.health["builtin"].up, timeout=15)
        await pilot.pause(0.1)
        shown = _sidebar(app)
        assert "building" not in shown and "llama.cpp" not in shown
        assert "down" not in _provider_line(app, "builtin")
        assert "● builtin embedded" in shown
        assert app.controller.pool.health["builtin-judge"].up
        assert not app.prompt.placeholder.startswith("Answers start")
        assert any("the embedded model answers now" in n for n in notes)


async def test_a_failed_build_is_a_provider_error_with_its_log_and_how_to_retry(
    hidden_engine, standin, builds
):
    build = EngineBuild(command=standin("--steps", "3", "--exit", "1"))
    builds.append(build)
    build.start()
    app = _app()
    notes: list[tuple[str, str]] = []
    app.notify = (lambda message, severity="information", **kw:  # type: ignore[method-assign]
                  notes.append((str(message), severity)))
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        await until(pilot, lambda: "build failed" in _sidebar(app), timeout=15)
        shown = _sidebar(app)
        assert "build failed" in _provider_line(app, "builtin")
        assert "exit code 1" in shown
        assert "Failed building wheel for llama-cpp-python" in shown
        assert "retry: make run" in shown
        assert "build.log" in shown
        errors = [m for m, severity in notes if severity == "error"]
        assert errors and "Failed building wheel" in errors[0] and "retry" in errors[0]
        # Nothing else breaks: the workbench still takes keys (the target picker opens).
        await pilot.press("ctrl+t")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "TargetPicker"


async def test_the_workbench_attaches_to_a_build_started_by_an_earlier_make_run(
    hidden_engine, standin, builds, tmp_path
):
    go = tmp_path / "go"
    first = EngineBuild(command=standin("--hold-at", "30", "--until", str(go),
                                        *hidden_engine.install_args()))
    builds.append(first)
    pid = first.start().pid
    # A second `make run` starts nothing: it attaches to the running build...
    assert EngineBuild().start().pid == pid
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await booted(app, pilot)
        # ...and its workbench shows that build's progress.
        await until(pilot, lambda: "30%" in _sidebar(app))
        assert app.query_one(ModelSidebar).engine_build.pid == pid
        go.touch()
        await until(pilot, lambda: app.controller.pool.health["builtin"].up, timeout=15)
