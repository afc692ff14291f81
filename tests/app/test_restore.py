"""The app comes back as it was left: the review of last time and the changed training settings."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

from app import gui
from engine.limits import MAX_TEXT_CHARS

REVIEW = "A patient, lovely film. The score is the best thing in it."


def _window(qtbot: Any, text: str | None = None) -> Any:
    gui.application()  # the organization and application names, before QSettings() reads them
    w = gui.build_window(None, QSettings(), asynchronous=False, text=text, explorers="shown")
    qtbot.addWidget(w)
    w.show()
    return w


def test_the_review_of_last_time_comes_back(qapp: Any, qtbot: Any) -> None:
    w = _window(qtbot)
    w.attention.set_text(REVIEW)
    w.close()
    again = _window(qtbot)
    assert again.attention.view.text() == REVIEW
    assert again.attention.analysis is not None and again.attention.analysis.text == REVIEW  # scored
    again.close()
    given = _window(qtbot, text="Given on the command line.")
    assert given.attention.view.text() == "Given on the command line."  # never overwritten
    given.close()


def test_a_review_too_long_to_score_is_not_kept(qapp: Any, qtbot: Any) -> None:
    w = _window(qtbot)
    w.attention.set_text("x " * (MAX_TEXT_CHARS // 2 + 1))
    w.close()
    again = _window(qtbot)
    assert again.attention.view.text() != w.attention.view.text()  # the start sample instead
    assert again.attention.analysis is not None
    again.close()


def test_changed_training_settings_come_back(qapp: Any, qtbot: Any) -> None:
    from app.context import AppContext
    from app.training_controller import TrainingController

    first = TrainingController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(first.view)
    form = first.view.form
    form.inputs["epochs"].setValue(7)  # as the user types: the form emits, the controller saves
    form.inputs["lr_schedule"].setCurrentText("constant")
    first.shutdown()
    second = TrainingController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(second.view)
    assert second.view.form.value("epochs") == 7
    assert second.view.form.value("lr_schedule") == "constant"
    second.shutdown()


def test_a_hand_edited_setting_that_does_not_fit_is_left_at_its_default(qapp: Any, qtbot: Any) -> None:
    from app.context import AppContext
    from app.training_controller import TrainingController

    QSettings().setValue("training/settings", '{"epochs": "many", "batch_size": -4, "lr_schedule": "zigzag"}')
    c = TrainingController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(c.view)
    assert c.view.form.values()["epochs"] == c.defaults["epochs"]
    assert c.view.form.values()["batch_size"] == c.defaults["batch_size"]
    assert c.view.form.values()["lr_schedule"] == c.defaults["lr_schedule"]
    QSettings().setValue("training/settings", "{not json")
    c2 = TrainingController(AppContext(None, QSettings()), asynchronous=False)
    qtbot.addWidget(c2.view)
    assert c2.view.form.values()["epochs"] == c2.defaults["epochs"]
    c.shutdown()
    c2.shutdown()
