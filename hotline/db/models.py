"""Every table, imported in one place so that `Base.metadata` is complete for Alembic and for
tests. Only migrations and tests import this module; services import their own domain's models."""

from __future__ import annotations

from hotline.audit.models import AuditEntry
from hotline.auth.models import WebSession
from hotline.calendars.models import Calendar, CalendarHoliday, CalendarHours
from hotline.config.models import ConfigVersion
from hotline.contacts.models import Contact, ContactEvent, WrapUpCode
from hotline.db.base import Base
from hotline.dispatch.models import (
    District,
    FieldWorker,
    FieldWorkerCategory,
    FieldWorkerDistrict,
    FieldWorkerKind,
)
from hotline.ivr.models import IvrFlowVersion
from hotline.lines.models import Line
from hotline.notifications.models import OutboxMessage
from hotline.prompts.models import Prompt
from hotline.requests.models import Request, RequestCategory, RequestCategoryKind, RequestEvent
from hotline.routing.models import Queue, QueueOverflowRule, QueueSkill, Skill
from hotline.scripts.models import ContactForm, ContactScript, FormVersion, ScriptVersion
from hotline.users.models import (
    AgentSkill,
    AgentStateRecord,
    RoleRecord,
    SipCredential,
    User,
    user_roles,
)

metadata = Base.metadata

__all__ = [
    "AgentSkill",
    "AgentStateRecord",
    "AuditEntry",
    "Base",
    "Calendar",
    "CalendarHoliday",
    "CalendarHours",
    "ConfigVersion",
    "Contact",
    "ContactEvent",
    "ContactForm",
    "ContactScript",
    "District",
    "FieldWorker",
    "FieldWorkerCategory",
    "FieldWorkerDistrict",
    "FieldWorkerKind",
    "FormVersion",
    "IvrFlowVersion",
    "Line",
    "Prompt",
    "OutboxMessage",
    "Queue",
    "QueueOverflowRule",
    "QueueSkill",
    "Request",
    "RequestCategory",
    "RequestCategoryKind",
    "RequestEvent",
    "RoleRecord",
    "ScriptVersion",
    "SipCredential",
    "Skill",
    "User",
    "WebSession",
    "WrapUpCode",
    "metadata",
    "user_roles",
]
