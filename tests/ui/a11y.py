"""Walks Qt's accessibility tree (what AT-SPI, UI Automation and NSAccessibility read) and
lists every interactive element a screen reader could not name in words."""
from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QHeaderView, QScrollBar, QWidget
from shiboken6 import getCppPointer

Role = QAccessible.Role
INTERACTIVE = {Role.Button, Role.PushButton, Role.CheckBox, Role.RadioButton, Role.ComboBox,
               Role.SpinBox, Role.Slider, Role.Dial, Role.EditableText, Role.List, Role.ListItem,
               Role.Table, Role.Cell, Role.ColumnHeader, Role.RowHeader, Role.Tree, Role.TreeItem,
               Role.PageTab, Role.PageTabList, Role.MenuItem, Role.Link, Role.ButtonMenu,
               Role.ButtonDropDown, Role.ProgressBar, Role.HotkeyField}
# Parts a screen reader announces by role alone, and structure nobody moves to.
STRUCTURAL = {Role.ScrollBar, Role.Grip, Role.Separator, Role.StatusBar, Role.MenuBar,
              Role.PopupMenu, Role.Window, Role.Dialog, Role.StaticText, Role.Graphic}


def speakable(name: str) -> bool:
    """A name said in words: at least two letters ("+" or "◀" is not a name)."""
    return sum(ch.isalpha() for ch in name) >= 2


def _describe(iface, obj) -> str:  # type: ignore[no-untyped-def]
    kind = type(obj).__name__ if obj is not None else "(item)"
    parent = iface.parent()
    where = ""
    while parent is not None and parent.isValid() and not where:
        where = parent.text(QAccessible.Text.Name)
        parent = parent.parent()
    label = iface.text(QAccessible.Text.Name)
    return f"{iface.role().name} {kind} {label!r} in {where!r}"


def interactive(iface) -> bool:  # type: ignore[no-untyped-def]
    role = iface.role()
    if role in STRUCTURAL:
        return False
    return role in INTERACTIVE or bool(iface.state().focusable)


def unnamed(root: QWidget, max_items: int = 200) -> list[str]:
    """Every interactive element under root (hidden pages included) without a speakable name.
    Item views are read up to max_items children each."""
    out: list[str] = []
    seen: set[int] = set()

    def walk(iface, depth: int) -> None:  # type: ignore[no-untyped-def]
        if iface is None or not iface.isValid() or depth > 40:
            return
        obj = iface.object()
        if obj is not None:
            key = getCppPointer(obj)[0]  # Python wrappers come and go; the C++ object stays
            if key in seen and not isinstance(obj, QAbstractItemView):
                return
            seen.add(key)
        if interactive(iface) and not speakable(iface.text(QAccessible.Text.Name)):
            out.append(_describe(iface, obj))
        for i in range(min(iface.childCount(), max_items)):
            walk(iface.child(i), depth + 1)

    walk(QAccessible.queryAccessibleInterface(root), 0)
    # Widgets the tree reaches only through their view (a table's header), or not at all.
    for w in root.findChildren(QWidget):
        key = getCppPointer(w)[0]
        if key in seen or isinstance(w, QScrollBar) or w.focusProxy() is not None:
            continue  # a spin box's line edit: its focus, and its name, are the spin box's
        clickable = isinstance(w, (QAbstractButton, QAbstractItemView, QHeaderView))
        if w.focusPolicy() == w.focusPolicy().NoFocus and not clickable:
            continue
        iface = QAccessible.queryAccessibleInterface(w)
        if iface is not None and interactive(iface) or clickable:
            seen.add(key)
            if not speakable(iface.text(QAccessible.Text.Name) if iface else ""):
                out.append(_describe(iface, w))
    return out
