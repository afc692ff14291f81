"""The main window: one tab per explorer in the registry, the model, exports and settings.

Wiring: the window builds an :class:`AppContext` around the loaded model and one controller per
:data:`app.explorers.EXPLORERS` entry. Menus act on the context (open a model, model card) or on
the Attention controller (open text, exports, clipboard). Errors go to non-blocking message boxes
(``last_error`` keeps the text for tests). Geometry and the current tab persist through QSettings.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from PySide6.QtCore import QByteArray, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPaintEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QToolButton,
)

from app.context import LOADING, AppContext, about_sections, model_card, model_title
from app.explorers import EXPLORERS, Explorer
from app.widgets import AboutDialog, KeyboardDialog, ModelCardDialog
from app.widgets._dataset_picker import DATASET_FILTER

if TYPE_CHECKING:
    from app.attention_controller import AttentionController

__all__ = ["Building", "MainWindow", "default_geometry", "fits_a_screen", "freeze_heap"]

Building = Literal["all", "later", "shown"]
MIN_SIZE = QSize(640, 480)  # below this the views stop making sense; 1024 x 700 is fully usable


def default_geometry(available: QRect) -> QRect:
    """The first window on a screen whose free area is ``available``: most of it, centred.

    Small screens (under 1280 px wide) get all of it: the views are laid out for 1024 x 700 and would
    scroll sideways in less. Laptops up to 1600 px wide get nearly all of it, larger ones 80%, never more
    than 1800 x 1100 (a lecture hall projector shows the same proportions as a laptop).
    """
    share = 1.0 if available.width() < 1280 else 0.94 if available.width() < 1600 else 0.8
    w = min(available.width(), max(MIN_SIZE.width(), min(1800, round(available.width() * share))))
    h = min(available.height(), max(MIN_SIZE.height(), min(1100, round(available.height() * share))))
    return QRect(available.center() - QPoint(w // 2, h // 2) + QPoint(1, 1), QSize(w, h))


def fits_a_screen(frame: QRect, screens: list[QRect]) -> bool:
    """Whether a window frame can be used where it is: its top strip (the title bar, where a window is
    grabbed to move it) lies on one of ``screens`` and the window is no larger than that screen."""
    title = QRect(frame.left(), frame.top(), frame.width(), min(frame.height(), 30))
    for s in screens:
        shared = title.intersected(s)
        if (
            shared.width() >= min(200, frame.width() // 2)
            and frame.width() <= s.width()
            and frame.height() <= s.height()
        ):
            return True
    return False


def freeze_heap() -> None:
    """Exempt what exists now (torch, Qt, the model's 30,000-word vocabulary) from garbage collection.

    A full collection of that heap takes ~150 ms with the GIL held: in a worker thread it froze the
    GUI thread just as long (measured while a long review was scored). Frozen objects are never
    scanned again, so later collections only walk what the app allocates afterwards.
    """
    gc.freeze()


class MainWindow(QMainWindow):
    """Signals
    -------
    explorer_built(str)
        The controller and view of explorer ``name`` exist now (built after the window).
    first_frame()
        The window's first frame has been painted (emitted once, after that paint).
    """

    explorer_built = Signal(str)
    first_frame = Signal()

    def __init__(self, context: AppContext, asynchronous: bool = True, explorers: Building = "all") -> None:
        """``explorers``: "all" are built now; "later" (launch: the window appears before the work
        a user does not see yet): none before the window's first frame, which shows the tabs and
        "Loading the model…" (the explorers' modules import numpy, pyqtgraph and superqt: ~0.3 s);
        Attention and the current tab right after it; the others once the model has loaded, one
        per event-loop turn, or at once when shown. :attr:`attention` builds Attention whenever it
        is asked for; :meth:`when_built` waits for it. "shown": only Attention now, any other when
        it is first shown (``--screenshot``)."""
        super().__init__()
        self.context = context
        self.asynchronous = asynchronous
        self.controllers: dict[str, Explorer] = {}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pages: dict[str, QScrollArea] = {}
        for spec in EXPLORERS:
            # A view larger than the window scrolls instead of forcing the window's size up.
            page = QScrollArea()
            page.setWidgetResizable(True)
            page.setFrameShape(QScrollArea.Shape.NoFrame)
            self._pages[spec.name] = page
            self.tabs.addTab(page, spec.title)
            if explorers == "all" or (explorers == "shown" and spec.name == "attention"):
                self._make(spec.name)
            elif explorers == "later":
                page.setWidget(_placeholder(context.model_status))
        later = explorers == "later"
        self._unbuilt = [spec.name for spec in EXPLORERS if later and spec.name not in self.controllers]
        self._painted = False
        self._deferred = later  # until the first frame, _build only switches tabs
        self.tabs.currentChanged.connect(lambda _: self._build(self.current_view))
        self.setCentralWidget(self.tabs)
        self.setAcceptDrops(True)
        self.last_error = ""
        self._dialogs: list[Any] = []
        self._menus()
        context.model_failed.connect(self._on_model_failed)
        context.model_changed.connect(lambda _: self._show_model())
        context.model_status_changed.connect(lambda _: self._show_model())
        context.view_requested.connect(self.show_view)
        self._back_focus: Any = None
        self._back_to = ""  # the explorer a review was opened from (the Dataset table): Back returns there
        self._back_button()
        for c in self.controllers.values():
            self._connect(c)
        self.setMinimumSize(MIN_SIZE)
        self._show_model()
        self._restore()
        freeze_heap()

    # -- explorers ----------------------------------------------------------------------------------
    def _build(self, name: str) -> None:
        if not self._deferred:
            self._make(name)

    def _make(self, name: str) -> None:
        if name in self.controllers or name not in self._pages:
            return
        spec = next(s for s in EXPLORERS if s.name == name)
        controller = spec.load()(self.context, asynchronous=self.asynchronous)
        self.controllers[name] = controller
        self._pages[name].setWidget(controller.widget)
        if name == "attention" and any(spec.name == "gru" for spec in EXPLORERS):
            controller.widget.set_gru_available(True)  # the Attention view's "step through" button
        if hasattr(self, "_back_to"):  # built after __init__ (deferred): wire it now
            self._connect(controller)
        self.explorer_built.emit(name)

    def when_built(self, name: str, then: Any) -> None:
        """``then(controller)`` once explorer ``name`` is built: now if it is, else when it is."""
        if name in self.controllers:
            then(self.controllers[name])
            return

        def built(n: str) -> None:
            if n == name:
                self.explorer_built.disconnect(built)
                then(self.controllers[name])

        self.explorer_built.connect(built)

    def _connect(self, controller: Any) -> None:
        opened = getattr(controller, "review_opened", None)
        if opened is not None:
            opened.connect(self.open_review)

    def paintEvent(self, e: QPaintEvent) -> None:
        super().paintEvent(e)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.first_frame.emit)  # after this paint pass is flushed
            if self._unbuilt:
                QTimer.singleShot(0, self._build_shown)

    def _build_shown(self) -> None:
        """After the first frame: Attention and the tab on screen at once, the others when idle."""
        self._deferred = False
        for name in ("attention", self.current_view):
            self._make(name)
        freeze_heap()  # the explorers' modules, as MainWindow.__init__ froze what existed then
        self._build_next()

    def _build_next(self) -> None:
        """Build the next deferred explorer when the app is idle (the model loaded, the review
        scored): building takes the GIL the model's worker needs."""
        self._unbuilt = [n for n in self._unbuilt if n not in self.controllers]
        if not self._unbuilt:
            return
        if self.context.model_status == LOADING or self.attention.busy:
            QTimer.singleShot(50, self._build_next)
            return
        self._build(self._unbuilt.pop(0))
        QTimer.singleShot(0, self._build_next)

    @property
    def attention(self) -> AttentionController:
        """The Attention explorer's controller (built now if it is not yet: see ``explorers``)."""
        from app.attention_controller import AttentionController

        self._make("attention")
        controller = self.controllers["attention"]
        assert isinstance(controller, AttentionController)
        return controller

    # -- menus --------------------------------------------------------------------------------------
    def _menus(self) -> None:
        file = self.menuBar().addMenu("&File")
        self._action(file, "&Open text…", self.open_text_dialog, QKeySequence.StandardKey.Open)
        self._action(file, "Open &model…", self.open_model_dialog, "Ctrl+Shift+O")
        self._action(file, "Open &dataset…", self.open_dataset_dialog, "Ctrl+Shift+D")
        file.addSeparator()
        self._action(file, "&Export view…", self.export_dialog, "Ctrl+E")
        self._action(file, "Copy as &HTML", lambda: self._guard(self.attention.copy_html), "Ctrl+Shift+C")
        self._action(file, "Copy as &image", lambda: self._guard(self.attention.copy_image), "Ctrl+Shift+I")
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        model = self.menuBar().addMenu("&Model")
        self._card_action = self._action(model, "Model &card…", self.show_model_card)
        self._action(model, "Use the &shipped model", self.use_shipped_model)
        view = self.menuBar().addMenu("&View")
        for i, spec in enumerate(EXPLORERS):
            self._action(view, spec.title, lambda _=False, n=spec.name: self.show_view(n), f"Ctrl+{i + 1}")
        help_ = self.menuBar().addMenu("&Help")
        self._action(help_, "&Keyboard", self.show_keyboard, QKeySequence.StandardKey.HelpContents)
        self._action(help_, "&About HAN Explorer", self.show_about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(lambda *_: slot())
        menu.addAction(a)
        return a

    # -- actions ------------------------------------------------------------------------------------
    def show_view(self, name: str) -> None:
        if name in self._pages:
            self._build(name)
            self.tabs.setCurrentWidget(self._pages[name])

    @property
    def current_view(self) -> str:
        return next((n for n, page in self._pages.items() if page is self.tabs.currentWidget()), "")

    def open_text_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a review", "", "Text files (*.txt);;All files (*)")
        if path:
            self.show_view("attention")
            self.attention.open_file(path)

    def open_dataset_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a dataset", "", DATASET_FILTER)
        if path:
            self.open_dataset(path)

    def open_dataset(self, path: str | Path) -> None:
        """Score ``path`` with the current model in the Dataset tab."""
        self._build("dataset")  # deferred at launch: build it now
        dataset = self.controllers.get("dataset")
        if dataset is not None:
            self.show_view("dataset")
            dataset.open_dataset(path)  # type: ignore[attr-defined]

    # -- a review opened from another explorer, and the way back ----------------------------------
    def _back_button(self) -> None:
        self.back = QAction("Back", self)
        self.back.setShortcut(QKeySequence("Alt+Left"))
        # only on the Attention page: the GRU stepper's own Alt+Left works on its page
        self.back.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.back.triggered.connect(self.go_back)
        self._pages["attention"].addAction(self.back)
        self.back_button = QToolButton()
        self.back_button.setDefaultAction(self.back)
        self.back_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.tabs.setCornerWidget(self.back_button, Qt.Corner.TopRightCorner)
        self.tabs.currentChanged.connect(lambda _: self._show_back())
        self._show_back()

    def _show_back(self) -> None:
        able = bool(self._back_to) and self.current_view == "attention"
        self.back.setEnabled(able)
        self.back_button.setVisible(able)
        if self._back_to in self.controllers:
            title = self.controllers[self._back_to].title
            self.back.setText(f"← Back to {title}")
            self.back.setToolTip(f"Return to the {title} tab as you left it (Alt+Left)")

    def open_review(self, source: str, text: str) -> None:
        """Show ``text`` in the Attention view; Back (Alt+Left) returns to explorer ``source``."""
        self._back_to = source
        self._back_focus = QApplication.focusWidget()  # the table row the user opened, focused again
        self.attention.set_text(text)
        self.show_view("attention")
        self.attention.view.editor.setFocus()
        self._show_back()

    def go_back(self) -> None:
        if self._back_to:
            source, self._back_to = self._back_to, ""
            self.show_view(source)
            self._show_back()
            focus, self._back_focus = self._back_focus, None
            if focus is not None and focus.isVisible():
                focus.setFocus()

    def open_model_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a model folder (model.safetensors + model.json)")
        if path:
            self.context.load_model(path)

    def use_shipped_model(self) -> None:
        from resources import model_dir

        self.context.load_model(model_dir())

    def export_dialog(self) -> None:
        """Export the current tab, in the formats that tab offers (:class:`app.explorers.Exportable`)."""
        from app.explorers import Exportable, export_filter

        name = self.current_view
        controller = self.controllers.get(name)
        if not isinstance(controller, Exportable):
            self.show_error("Cannot do that", f"The {name} tab has nothing to export.")
            return
        formats = controller.export_formats()
        path, chosen = QFileDialog.getSaveFileName(
            self, f"Export the {controller.title} view", f"{name}{formats[0][0]}", export_filter(formats)
        )
        if path:
            self._guard(lambda: controller.save(self._with_suffix(path, chosen, formats)))

    @staticmethod
    def _with_suffix(path: str, chosen: str, formats: list[tuple[str, str]]) -> str:
        """A name typed without a suffix gets the chosen filter's (as napari's save dialog does)."""
        if Path(path).suffix:
            return path
        for suffix, text in formats:
            if chosen.startswith(text):
                return path + suffix
        return path

    def show_model_card(self) -> ModelCardDialog | None:
        if self.context.bundle is None:  # the action is disabled meanwhile; a shortcut may still call
            return None
        return self._open_dialog(ModelCardDialog(model_card(self.context.bundle), self))

    def show_keyboard(self) -> KeyboardDialog:
        return self._open_dialog(KeyboardDialog(self))

    def show_about(self) -> AboutDialog:
        return self._open_dialog(AboutDialog(about_sections(self.context.bundle), self))

    def _open_dialog(self, dialog: Any) -> Any:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()  # window-modal, not exec(): the window keeps running
        return dialog

    def _guard(self, action: Any) -> None:
        try:
            action()
        except (ValueError, OSError) as e:
            self.show_error("Cannot do that", str(e))

    def show_error(self, title: str, message: str) -> None:
        self.last_error = message
        box = QMessageBox(QMessageBox.Icon.Critical, title, message, QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # messages quote file names and file contents
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): the window keeps running

    def _on_model_failed(self, path: str, message: str) -> None:
        if self.context.bundle is None:
            where = "No model is in use: open one with Model → Open model…, or use the shipped one."
        else:
            where = f"Still using the model in {self.context.model_path or 'memory'}."
        self.show_error("This model cannot be used", f"{message}\n\n{where}")

    def _show_model(self) -> None:
        self._card_action.setEnabled(self.context.bundle is not None)
        bundle = self.context.shown_model
        if bundle is None:  # loading, or the first model failed: the status says which
            status = self.context.model_status
            self.setWindowTitle(f"HAN Explorer — {status[0].lower()}{status[1:]}")
            self.statusBar().showMessage(status)
            return
        title, status = model_title(bundle)
        self.setWindowTitle(f"HAN Explorer — {title}")
        self.statusBar().showMessage(status)

    # -- drops --------------------------------------------------------------------------------------
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            self.open_path(files[0])
            e.acceptProposedAction()

    def open_path(self, path: str) -> None:
        """A dropped path: a model folder is opened as a model, a dataset (a .jsonl/.csv/.gz file, an
        aclImdb folder) in the Dataset tab, anything else as a review."""
        p = Path(path)
        if p.is_dir() and not (p / "model.json").exists() and ((p / "pos").is_dir() or (p / "neg").is_dir()):
            self.open_dataset(p)
        elif p.is_dir():
            self.context.load_model(p)
        elif p.suffix.lower() in (".jsonl", ".csv", ".gz"):
            self.open_dataset(p)
        else:
            self.show_view("attention")
            self.attention.open_file(p)

    # -- settings -----------------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.context.settings
        geometry = s.value("window/geometry") if s is not None else None
        if not (
            isinstance(geometry, QByteArray)
            and self.restoreGeometry(geometry)
            and fits_a_screen(self.frameGeometry(), _screens())
        ):
            self.place_default()
        if s is not None:
            self.show_view(str(s.value("window/view", "attention")))

    def place_default(self) -> None:
        """Most of the screen's free area, centred (first launch, or a saved place on no screen)."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if self.isMaximized() or self.isFullScreen():
            self.showNormal()
        self.setGeometry(default_geometry(screen.availableGeometry()))

    def closeEvent(self, e: QCloseEvent) -> None:
        s = self.context.settings
        if s is not None:
            s.setValue("window/geometry", self.saveGeometry())
            s.setValue("window/view", self.current_view or "attention")
            s.sync()
        self._unbuilt = []  # nothing more is built for a closed window
        for c in self.controllers.values():
            c.shutdown()
        self.context.jobs.shutdown()  # a model still loading must not reach the closed window
        super().closeEvent(e)


def _placeholder(status: str) -> QLabel:
    """What a tab shows until its explorer is built (launch: the first frame)."""
    label = QLabel(status)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setEnabled(False)  # greyed: a state, not content
    return label


def _screens() -> list[QRect]:
    return [s.availableGeometry() for s in QGuiApplication.screens()]
