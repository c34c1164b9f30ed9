"""Objects being segmented: id, name, DAVIS colour, visibility, lock (propagation never writes a locked object)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.observer import Event
from app.palette import object_color

MAX_OBJECTS = 255


@dataclass
class ObjectInfo:
    """One object; `obj_id` is the value it takes in index masks (1..255)."""

    obj_id: int
    name: str
    visible: bool = True
    locked: bool = False  # propagation never writes this object's pixels

    @property
    def color(self) -> tuple[int, int, int]:
        return object_color(self.obj_id)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["color"] = list(self.color)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ObjectInfo":
        return cls(obj_id=int(d["obj_id"]), name=str(d.get("name", f"Object {d['obj_id']}")),
                   visible=bool(d.get("visible", True)), locked=bool(d.get("locked", False)))


class ObjectList:
    """Ordered objects plus the selected one. `changed` fires on any edit, `selected_changed(obj_id)` on selection."""

    def __init__(self) -> None:
        self._objects: dict[int, ObjectInfo] = {}
        self.selected: int | None = None
        self.changed = Event()
        self.selected_changed = Event()

    def __iter__(self):  # noqa: ANN204 - iterator of ObjectInfo
        return iter(sorted(self._objects.values(), key=lambda o: o.obj_id))

    def __len__(self) -> int:
        return len(self._objects)

    def __contains__(self, obj_id: object) -> bool:
        return obj_id in self._objects

    def get(self, obj_id: int) -> ObjectInfo | None:
        return self._objects.get(obj_id)

    def ids(self) -> list[int]:
        return sorted(self._objects)

    def add(self, name: str | None = None, obj_id: int | None = None) -> ObjectInfo:
        """Add an object with the lowest free id (or `obj_id`) and select it."""
        if obj_id is None:
            obj_id = next((i for i in range(1, MAX_OBJECTS + 1) if i not in self._objects), None)
            if obj_id is None:
                raise ValueError(f"at most {MAX_OBJECTS} objects")
        if obj_id in self._objects:
            raise ValueError(f"object {obj_id} exists")
        obj = ObjectInfo(obj_id, name or f"Object {obj_id}")
        self._objects[obj_id] = obj
        self.changed.emit()
        self.select(obj_id)
        return obj

    def rename(self, obj_id: int, name: str) -> None:
        self._objects[obj_id].name = name.strip() or self._objects[obj_id].name
        self.changed.emit()

    def set_visible(self, obj_id: int, visible: bool) -> None:
        self._objects[obj_id].visible = visible
        self.changed.emit()

    def set_locked(self, obj_id: int, locked: bool) -> None:
        self._objects[obj_id].locked = locked
        self.changed.emit()

    def locked_ids(self) -> list[int]:
        return [o.obj_id for o in self if o.locked]

    def remove(self, obj_id: int) -> None:
        del self._objects[obj_id]
        if self.selected == obj_id:
            self.selected = None
            ids = self.ids()
            self.select(ids[0] if ids else None)
        self.changed.emit()

    def select(self, obj_id: int | None) -> None:
        if obj_id is not None and obj_id not in self._objects:
            return
        if obj_id != self.selected:
            self.selected = obj_id
            self.selected_changed.emit(obj_id)

    def visible_ids(self) -> list[int]:
        return [o.obj_id for o in self if o.visible]

    def to_list(self) -> list[dict[str, Any]]:
        return [o.to_dict() for o in self]

    def load(self, items: list[dict[str, Any]]) -> None:
        """Replace the objects (from a project file)."""
        self._objects = {o.obj_id: o for o in (ObjectInfo.from_dict(d) for d in items)}
        self.selected = None
        self.changed.emit()
        ids = self.ids()
        self.select(ids[0] if ids else None)
