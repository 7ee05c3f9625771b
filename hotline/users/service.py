"""Creating many users at once from a CSV file: a hotline taking on hundreds of agents or
volunteers in a week cannot type them in one by one.

The file has a header row; `username`, `name` and `roles` are required columns, `skills`
("medical:3;psychology:2"), `department`, `language` (ru or en), and for field workers `kind`,
`districts` ("centre;north") and `capacity` are optional. Lists inside a cell are separated by
`;` (or `,` in a quoted cell); the file's own separator is read from the header (`,`, `;` or a
tab, as spreadsheets save it).

All or nothing: every row is checked first and every problem is reported with its row number
(the header is row 1, as a spreadsheet shows it), its column and what is wrong; only a file with
no problem creates anyone. Each user gets a generated first-login password (and, if they answer
contacts, a SIP password for a phone), returned once and never stored, and must choose a new
password at first sign-in."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.audit import service as audit
from hotline.audit.service import Actor
from hotline.dispatch.models import District, FieldWorker, FieldWorkerDistrict, FieldWorkerKind
from hotline.lines.models import Line
from hotline.routing.models import MAX_LEVEL, MIN_LEVEL, Skill
from hotline.users.models import LANGUAGES, AgentSkill, Role, RoleRecord, User
from hotline.users.passwords import Argon2Cost, PasswordCost, generate_password, hash_password
from hotline.users.sip import create_sip_accounts

COLUMNS = (
    "username",
    "name",
    "roles",
    "skills",
    "department",
    "language",
    "kind",
    "districts",
    "capacity",
)
REQUIRED = ("username", "name", "roles")
MAX_ROWS = 5000
ANSWERING = frozenset({Role.AGENT.value, Role.DEPARTMENT_SPECIALIST.value})

FIRST_LOGIN_COST = Argon2Cost(time_cost=1, memory_kib=8192, parallelism=1)
"""How first-login passwords are hashed. They are 12 random characters (about 70 bits): no
dictionary holds them and no hash cost is needed against guessing, so a light one lets hundreds
be made in one request; sign-in re-hashes at today's cost, and the user replaces it at once."""

_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_LIST = re.compile(r"[;,]")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong with one cell (or, with `field` "", a whole row) of the file."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "loc": ["csv", self.row, self.field] if self.field else ["csv", self.row],
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }


@dataclass
class NewUser:
    """A checked row: who to create."""

    row: int
    username: str
    name: str
    roles: list[str]
    skills: list[tuple[str, int]] = field(default_factory=list)
    department: str | None = None
    language: str = "ru"
    kind: str | None = None
    districts: list[str] = field(default_factory=list)
    capacity: int = 3


@dataclass(frozen=True, slots=True)
class Credentials:
    """A created user's first sign-in, shown once."""

    username: str
    name: str
    roles: list[str]
    password: str
    sip_password: str | None


async def check_csv(*, session: AsyncSession, text: str) -> tuple[list[NewUser], list[RowProblem]]:
    """Read and check every row of the file against the database: the users it would create,
    and every problem found (an empty list: the file can be imported)."""
    rows, problems = parse_csv(text)
    problems += await _check_against_database(session, rows)
    return rows, sorted(problems, key=_problem_order)


async def create_users(
    *,
    session: AsyncSession,
    rows: Sequence[NewUser],
    actor: Actor,
    ip: str | None,
    sip_realm: str | None,
    cost: PasswordCost = FIRST_LOGIN_COST,
) -> list[Credentials]:
    """Create checked users, all in one transaction (the caller's, committed by it), each with a
    generated password they must change at first sign-in; those who answer contacts also get a
    SIP account when `sip_realm` is given. Hashing runs before any write, with no transaction
    open (on SQLite none holds the write lock meanwhile); a username taken by someone else in
    that time refuses the whole file."""
    if session.in_transaction():
        await session.commit()
    passwords = {row.username: generate_password() for row in rows}
    hashes = await asyncio.gather(
        *(asyncio.to_thread(hash_password, passwords[r.username], cost=cost) for r in rows)
    )
    taken = await _taken(session, [r.username for r in rows])
    if taken:
        raise ImportRefusedError(
            [RowProblem(r.row, "username", "already taken") for r in rows if r.username in taken]
        )
    roles = {r.id: r for r in (await session.scalars(select(RoleRecord))).all()}
    created: list[User] = []
    for row, password_hash in zip(rows, hashes, strict=True):
        user = User(
            username=row.username,
            name=row.name,
            password_hash=password_hash,
            department=row.department,
            language=row.language,
            must_change_password=True,
            roles=[roles[r] for r in row.roles],
            skills=[AgentSkill(skill_id=s, level=level, preference=0) for s, level in row.skills],
        )
        session.add(user)
        created.append(user)
    await session.flush()
    for row, user in zip(rows, created, strict=True):
        if row.kind is not None:
            session.add(
                FieldWorker(
                    user_id=user.id,
                    kind_id=row.kind,
                    capacity=row.capacity,
                    districts=[
                        FieldWorkerDistrict(district_id=d, position=n)
                        for n, d in enumerate(row.districts)
                    ],
                )
            )
    sip: dict[str, str] = {}
    if sip_realm is not None:
        answering = [
            u for u, r in zip(created, rows, strict=True) if ANSWERING.intersection(r.roles)
        ]
        sip = await create_sip_accounts(session=session, users=answering, realm=sip_realm)
    await audit.record(
        session=session,
        actor=actor,
        action="users.bulk_create",
        object_type="user",
        object_id=None,
        ip=ip,
        details={"count": len(rows), "usernames": [r.username for r in rows]},
    )
    await session.flush()
    return [
        Credentials(r.username, r.name, r.roles, passwords[r.username], sip.get(r.username))
        for r in rows
    ]


class ImportRefusedError(Exception):
    """A file with problems: nothing was created. `problems` say where."""

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = list(problems)


def parse_csv(text: str) -> tuple[list[NewUser], list[RowProblem]]:
    """The rows of the file as users to create, and the problems that need no database."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        return [], [RowProblem(1, "", "the file is empty: a header row and a row per user")]
    delimiter = next((d for d in (",", ";", "\t") if d in header_line), ",")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    problems: list[RowProblem] = []
    try:
        records = list(reader)
    except csv.Error as exc:
        return [], [RowProblem(reader.line_num, "", f"not readable as CSV: {exc}")]
    while records and not any(cell.strip() for cell in records[0]):
        records.pop(0)
    header = [cell.strip().lower() for cell in records[0]]
    for name in header:
        if name not in COLUMNS:
            problems.append(RowProblem(1, name, f"unknown column; columns: {', '.join(COLUMNS)}"))
    for name in REQUIRED:
        if name not in header:
            problems.append(RowProblem(1, name, "column required"))
    if len(set(header)) != len(header):
        problems.append(RowProblem(1, "", "a column is named twice"))
    if problems:
        return [], problems
    data = records[1:]
    if len(data) > MAX_ROWS:
        return [], [RowProblem(1, "", f"at most {MAX_ROWS} users in one file; split it")]
    rows: list[NewUser] = []
    first_row: dict[str, int] = {}
    for index, record in enumerate(data):
        number = index + 2
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            problems.append(
                RowProblem(number, "", f"{len(record)} cells, but the header has {len(header)}")
            )
            continue
        cells = {
            name: (record[i].strip() if i < len(record) else "") for i, name in enumerate(header)
        }
        row = _row(number, cells, problems)
        if not row.username:
            continue
        if row.username in first_row:
            problems.append(
                RowProblem(number, "username", f"also in row {first_row[row.username]}")
            )
            continue
        first_row[row.username] = number
        rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(2, "", "no users in the file"))
    return rows, problems


def _row(number: int, cells: dict[str, str], problems: list[RowProblem]) -> NewUser:
    """The row as a user to create, its problems added to `problems`. A row with problems is
    returned too, so that the database's checks (skills, departments...) report on it as well:
    any problem refuses the whole file anyway."""
    found: list[RowProblem] = []

    def bad(column: str, message: str) -> None:
        found.append(RowProblem(number, column, message))

    username = cells.get("username", "")
    if not username:
        bad("username", "required")
    elif not _KEY.match(username):
        bad(
            "username",
            "lowercase letters, digits, '_', '.' and '-', starting with a letter or digit, "
            "at most 64",
        )
    name = cells.get("name", "")
    if not name:
        bad("name", "required")
    elif len(name) > 200:
        bad("name", "at most 200 characters")
    roles = _items(cells.get("roles", ""))
    known_roles = [r.value for r in Role]
    if not roles:
        bad("roles", f"required: one or more of {', '.join(known_roles)}")
    for role in roles:
        if role not in known_roles:
            bad("roles", f"unknown role {role!r}; roles: {', '.join(known_roles)}")
    if len(set(roles)) != len(roles):
        bad("roles", "a role is listed twice")
    skills: list[tuple[str, int]] = []
    for item in _items(cells.get("skills", "")):
        skill, _, level_text = item.partition(":")
        skill = skill.strip()
        level = MIN_LEVEL
        if level_text.strip():
            if not level_text.strip().isdigit() or not (MIN_LEVEL <= int(level_text) <= MAX_LEVEL):
                bad("skills", f"{item!r}: the level is a whole number {MIN_LEVEL}..{MAX_LEVEL}")
                continue
            level = int(level_text)
        if any(s == skill for s, _ in skills):
            bad("skills", f"skill {skill!r} is listed twice")
            continue
        skills.append((skill, level))
    department = cells.get("department") or None
    if department is not None and not _KEY.match(department):
        bad("department", "not a department id")
    if Role.DEPARTMENT_SPECIALIST.value in roles and department is None:
        bad("department", "required for a department_specialist")
    language = cells.get("language") or "ru"
    if language not in LANGUAGES:
        bad("language", f"one of {', '.join(LANGUAGES)}")
    kind = cells.get("kind") or None
    districts = _items(cells.get("districts", ""))
    capacity = 3
    capacity_text = cells.get("capacity", "")
    if capacity_text:
        if capacity_text.isdigit() and 1 <= int(capacity_text) <= 1000:
            capacity = int(capacity_text)
        else:
            bad("capacity", "a whole number 1..1000")
    if Role.FIELD_WORKER.value in roles:
        if kind is None:
            bad("kind", "required for a field_worker (volunteer, courier...)")
        if not districts:
            bad("districts", "required for a field_worker: the districts they serve")
    else:
        for column, value in (("kind", kind), ("districts", districts)):
            if value:
                bad(column, "only for a user with the role field_worker")
    problems.extend(found)
    return NewUser(
        row=number,
        username=username,
        name=name,
        roles=roles,
        skills=skills,
        department=department,
        language=language,
        kind=kind,
        districts=districts,
        capacity=capacity,
    )


def _problem_order(problem: RowProblem) -> tuple[int, int]:
    return problem.row, COLUMNS.index(problem.field) if problem.field in COLUMNS else -1


def _items(cell: str) -> list[str]:
    return [item.strip() for item in _LIST.split(cell) if item.strip()]


async def _taken(session: AsyncSession, usernames: Iterable[str]) -> set[str]:
    names = list(usernames)
    found: set[str] = set()
    for start in range(0, len(names), 500):  # bounded IN lists
        chunk = names[start : start + 500]
        found |= set(
            (await session.scalars(select(User.username).where(User.username.in_(chunk)))).all()
        )
    return found


async def _check_against_database(
    session: AsyncSession, rows: Sequence[NewUser]
) -> list[RowProblem]:
    problems: list[RowProblem] = []
    taken = await _taken(session, [r.username for r in rows])
    skills = set((await session.scalars(select(Skill.id))).all())
    kinds = set((await session.scalars(select(FieldWorkerKind.id))).all())
    districts = set((await session.scalars(select(District.id))).all())
    departments = set(
        (
            await session.scalars(
                select(Line.department).where(
                    Line.kind == "department", Line.department.is_not(None)
                )
            )
        ).all()
    )
    for row in rows:
        if row.username in taken:
            problems.append(RowProblem(row.row, "username", "already taken"))
        for skill, _ in row.skills:
            if skill not in skills:
                problems.append(RowProblem(row.row, "skills", f"no skill {skill!r}"))
        if row.department is not None and row.department not in departments:
            problems.append(
                RowProblem(
                    row.row,
                    "department",
                    f"no department {row.department!r} (no department line names it)",
                )
            )
        if row.kind is not None and row.kind not in kinds:
            problems.append(RowProblem(row.row, "kind", f"no field worker kind {row.kind!r}"))
        for district in row.districts:
            if district not in districts:
                problems.append(RowProblem(row.row, "districts", f"no district {district!r}"))
    return problems


# ---- the credentials sheet ----


def credentials_csv(created: Sequence[Credentials]) -> str:
    """The first-login credentials as CSV, to hand over or print."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "roles", "password", "sip_password"])
    for c in created:
        writer.writerow([c.username, c.name, ";".join(c.roles), c.password, c.sip_password or ""])
    return out.getvalue()


SHEET_TEXT = {
    "en": {
        "title": "First sign-in",
        "intro": "Sign in with this password; you will be asked to choose your own at once. "
        "The SIP password is for a desk or soft phone, if you use one.",
        "username": "Username",
        "name": "Name",
        "roles": "Roles",
        "password": "Password",
        "sip_password": "SIP password",
    },
    "ru": {
        "title": "Первый вход",
        "intro": "Войдите с этим паролем; система сразу попросит выбрать свой. SIP-пароль нужен "
        "для настольного или программного телефона, если вы им пользуетесь.",
        "username": "Имя пользователя",
        "name": "Имя",
        "roles": "Роли",
        "password": "Пароль",
        "sip_password": "SIP-пароль",
    },
}


def credentials_html(created: Sequence[Credentials], *, language: str = "ru") -> str:
    """A printable page: one card per user, to cut apart and hand over (every value escaped)."""
    words = SHEET_TEXT.get(language, SHEET_TEXT["ru"])
    cards = []
    for c in created:
        rows = [
            (words["username"], c.username),
            (words["name"], c.name),
            (words["roles"], ", ".join(c.roles)),
            (words["password"], c.password),
        ]
        if c.sip_password:
            rows.append((words["sip_password"], c.sip_password))
        cells = "".join(
            f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        cards.append(f'<section class="card"><table>{cells}</table></section>')
    return (
        f'<!DOCTYPE html><html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        f"<title>{html.escape(words['title'])}</title><style>"
        "body{font-family:sans-serif;margin:1cm}"
        ".card{border:1px dashed #555;padding:.5cm;margin:0 0 .5cm;break-inside:avoid}"
        "th{text-align:left;padding-right:1em;font-weight:normal;color:#444}"
        "code{font-size:1.2em}</style></head><body>"
        f"<h1>{html.escape(words['title'])}</h1><p>{html.escape(words['intro'])}</p>"
        + "".join(cards)
        + "</body></html>"
    )
