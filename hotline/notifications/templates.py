"""What a status message says: a template per request state (accepted, done, failed) and language
(ru, en), built in, overridden per request category (or for every category with `*`) in the
setting `status_messages`, or turned off there with null. Pure.

Templates take `{ref}` (a short reference the caller can quote) and `{category}` (the category's
name in the message's language); nothing else, so no personal data can be put into a message by a
template."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hotline.core.errors import InvalidConfiguration

TOPICS = ("accepted", "done", "failed")
"""The request states a caller hears about."""
LANGUAGES = ("ru", "en")
ALL_CATEGORIES = "*"
PLACEHOLDERS = ("{ref}", "{category}")

DEFAULTS: Mapping[str, Mapping[str, str]] = {
    "accepted": {
        "ru": "Ваша заявка № {ref} «{category}» принята исполнителем. Горячая линия.",
        "en": "Your request #{ref} ({category}) was accepted by a field worker. The hotline.",
    },
    "done": {
        "ru": "Ваша заявка № {ref} «{category}» выполнена. Спасибо за обращение на горячую линию.",
        "en": "Your request #{ref} ({category}) is fulfilled. Thank you for calling the hotline.",
    },
    "failed": {
        "ru": "Ваша заявка № {ref} «{category}» не выполнена. Мы вам перезвоним. Горячая линия.",
        "en": "Your request #{ref} ({category}) could not be fulfilled. We will call you back.",
    },
}

Overrides = Mapping[str, Mapping[str, Mapping[str, str] | None]]


@dataclass(frozen=True)
class StatusMessages:
    """The templates in force: the built-in ones with the setting's overrides."""

    overrides: Overrides = field(default_factory=dict)
    default_language: str = "ru"

    def __post_init__(self) -> None:
        problems = list(override_problems(self.overrides))
        if self.default_language not in LANGUAGES:
            problems.append(f"status_message_language: one of {', '.join(LANGUAGES)}")
        if problems:
            raise InvalidConfiguration("status_messages: " + "; ".join(problems), problems=problems)

    def template(self, category: str, topic: str, language: str | None) -> str | None:
        """The template for a request of `category` that reached `topic` (None: no message)."""
        if topic not in TOPICS:
            return None
        texts: Mapping[str, str] | None = DEFAULTS[topic]
        for key in (category, ALL_CATEGORIES):
            chosen = self.overrides.get(key)
            if chosen is not None and topic in chosen:
                texts = chosen[topic]
                break
        if not texts:
            return None
        language = language if language in LANGUAGES else self.default_language
        return texts.get(language) or texts.get(self.default_language) or next(iter(texts.values()))


def override_problems(overrides: Overrides) -> list[str]:
    """What is wrong with the setting `status_messages`, one message per problem."""
    problems: list[str] = []
    for category, topics in overrides.items():
        if not isinstance(topics, Mapping):
            problems.append(f"{category}: expected accepted/done/failed")
            continue
        for topic, texts in topics.items():
            where = f"{category}.{topic}"
            if topic not in TOPICS:
                problems.append(f"{where}: no such status (one of {', '.join(TOPICS)})")
            elif texts is not None:
                for language, text in texts.items():
                    if language not in LANGUAGES:
                        problems.append(f"{where}.{language}: no such language")
                    elif not text.strip():
                        problems.append(f"{where}.{language}: empty (use null for no message)")
    return problems


def render(template: str, *, ref: str, category: str) -> str:
    """The message: placeholders replaced (plain replacement: braces elsewhere are kept)."""
    return template.replace("{ref}", ref).replace("{category}", category)


def reference(request_id: str) -> str:
    """A short reference a caller can read out: the id's last six characters, upper-cased."""
    return request_id[-6:].upper()
