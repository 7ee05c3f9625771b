"""Events the IVR domain emits."""

from __future__ import annotations

from typing import ClassVar

from hotline.core.events import Event, register


@register
class IvrFlowPublished(Event):
    """A version of a line's IVR flow went live: by a publish, or by a rollback (`based_on` names
    the older version it copies). New calls on the line run it from now on; calls in progress
    finish on the version they began with. This is the audit record's announcement; the record
    itself is the version row (who, when, what)."""

    type: ClassVar[str] = "ivr.flow_published"

    line_id: str
    version: int
    flow_name: str
    published_by: str
    based_on: int | None = None
    note: str | None = None
    warnings: list[str] = []
