"""Opening another model in the running viewer (File > Open, File > Open recent, a drop on the window): the
checks and the new session; the app swaps it in with ``ViewerApp.adopt``."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..session import ViewerSession
from .ui_prefs import recent_models, remember_model


def open_in(app, path: str | Path) -> bool:
    """Show the model at ``path`` in ``app`` (a ViewerApp) instead of the current one. The view frames it and the
    render settings start from its defaults; the backend (and its compiled state) stays. If it does not open,
    the current model stays and the status bar says why; False then."""
    path = Path(path).expanduser()
    current = app.session
    export = current.path_editor.export
    if export is not None and export.running:
        current.notify(f"not opened: {path.name}: a video export is running (the Path panel cancels it)", "error")
        return False
    try:
        model = app.options.open_model(path)
    except InputError as exc:
        current.notify(f"not opened: {exc}", "error")
        return False
    width, height = app.render_size()
    try:
        session = ViewerSession(model, backend=current.backend, gl_context=app.ctx,
                                host_cache=app.options.host_cache, gpu_cache=app.options.gpu_cache,
                                aspect=width / max(height, 1), backends_from=current)
    except InputError as exc:
        model.close()
        current.notify(f"not opened: {exc}", "error")
        return False
    app.adopt(model, session)
    remember_model(path)
    app.ui.open_dialog.recent = recent_models()
    session.notify(f"opened {path}")
    return True


def open_dropped(app) -> None:
    """Paths dropped on ``app``'s window since the last frame: the first opens (one model at a time)."""
    dropped, app.window.dropped = app.window.dropped, []
    if dropped and open_in(app, dropped[0]) and len(dropped) > 1:
        app.session.notify(f"{len(dropped)} paths dropped: opened the first; drop their folder to open a PLY "
                           "sequence", "warning")
