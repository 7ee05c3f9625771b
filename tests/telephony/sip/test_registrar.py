"""Registrar rules (RFC 3261 §10.3) on REGISTER requests built in memory, with a test clock."""

from __future__ import annotations

from hotline.telephony.sip.message import Headers, SipRequest, SipUri
from hotline.telephony.sip.registrar import Binding, Registrar, RegistrarConfig
from hotline.telephony.sip.transport import Source

SOURCE = Source("UDP", "127.0.0.1", 5070)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock, **config: object) -> Registrar:
    return Registrar(
        RegistrarConfig(require_auth=False, **config),  # type: ignore[arg-type]
        authenticator=None,
        clock=clock,
    )


def register(
    *contacts: str, user: str = "alice", expires: int | None = None, call_id: str = "c1",
    cseq: int = 1,
) -> SipRequest:  # fmt: skip
    headers = Headers(
        [
            ("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr"),
            ("From", f"<sip:{user}@hotline.test>;tag=t"),
            ("To", f"<sip:{user}@hotline.test>"),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} REGISTER"),
            ("Max-Forwards", "70"),
        ]
    )
    for contact in contacts:
        headers.add("Contact", contact)
    if expires is not None:
        headers.add("Expires", str(expires))
    return SipRequest("REGISTER", SipUri(host="hotline.test"), headers)


def uris(bindings: list[Binding]) -> list[str]:
    return [str(b.uri) for b in bindings]


async def test_several_phones_per_user_best_q_first() -> None:
    registrar = make(Clock())
    response = await registrar.handle(
        register("<sip:alice@10.0.0.1>;q=0.5", "<sip:alice@10.0.0.2>;q=0.9"), SOURCE
    )
    assert response.status == 200
    assert uris(registrar.lookup("alice")) == ["sip:alice@10.0.0.2", "sip:alice@10.0.0.1"]
    assert len(response.headers.get_all("contact")) == 2
    assert response.headers.get("date")


async def test_contact_expires_param_beats_the_header_and_is_capped() -> None:
    clock = Clock()
    registrar = make(clock, max_expires=600)
    response = await registrar.handle(
        register("<sip:alice@10.0.0.1>;expires=90", "<sip:alice@10.0.0.2>", expires=7200), SOURCE
    )
    assert sorted(response.headers.get_all("contact")) == [
        "<sip:alice@10.0.0.1>;expires=90",
        "<sip:alice@10.0.0.2>;expires=600",
    ]


async def test_too_brief_expiry_is_423_with_min_expires() -> None:
    registrar = make(Clock(), min_expires=60)
    response = await registrar.handle(register("<sip:alice@10.0.0.1>", expires=30), SOURCE)
    assert response.status == 423
    assert response.headers.get("min-expires") == "60"
    assert registrar.lookup("alice") == []


async def test_bindings_expire_and_the_call_path_is_told() -> None:
    clock = Clock()
    registrar = make(clock)
    changes: list[tuple[str, int]] = []
    registrar.on_change = lambda user, bindings: changes.append((user, len(bindings)))
    await registrar.handle(register("<sip:alice@10.0.0.1>", expires=120), SOURCE)
    clock.now += 119
    assert len(registrar.lookup("alice")) == 1
    clock.now += 2
    assert registrar.expire() == 1
    assert registrar.lookup("alice") == []
    assert changes == [("alice", 1), ("alice", 0)]


async def test_refresh_from_the_same_call_id_needs_a_higher_cseq() -> None:
    registrar = make(Clock())
    assert (await registrar.handle(register("<sip:alice@10.0.0.1>", cseq=5), SOURCE)).status == 200
    stale = await registrar.handle(register("<sip:alice@10.0.0.1>", cseq=5), SOURCE)
    assert stale.status == 500
    other_call = await registrar.handle(
        register("<sip:alice@10.0.0.1>", call_id="c2", cseq=1), SOURCE
    )
    assert other_call.status == 200
    assert [b.call_id for b in registrar.lookup("alice")] == ["c2"]


async def test_expires_zero_removes_one_and_star_removes_all() -> None:
    registrar = make(Clock())
    await registrar.handle(register("<sip:alice@10.0.0.1>", "<sip:alice@10.0.0.2>"), SOURCE)
    await registrar.handle(register("<sip:alice@10.0.0.1>;expires=0", cseq=2), SOURCE)
    assert uris(registrar.lookup("alice")) == ["sip:alice@10.0.0.2"]
    bad = await registrar.handle(register("*", expires=60, cseq=3), SOURCE)
    assert bad.status == 400
    ok = await registrar.handle(register("*", expires=0, cseq=4), SOURCE)
    assert ok.status == 200
    assert registrar.lookup("alice") == []


async def test_register_without_contact_lists_the_bindings() -> None:
    registrar = make(Clock())
    await registrar.handle(register("<sip:alice@10.0.0.1>"), SOURCE)
    query = await registrar.handle(register(cseq=2), SOURCE)
    assert query.status == 200
    assert [c.split(";")[0] for c in query.headers.get_all("contact")] == ["<sip:alice@10.0.0.1>"]


async def test_past_the_contact_limit_the_oldest_goes() -> None:
    clock = Clock()
    registrar = make(clock, max_contacts_per_user=2)
    for n in range(3):
        clock.now += 1
        await registrar.handle(register(f"<sip:alice@10.0.0.{n}>", call_id=f"c{n}"), SOURCE)
    assert sorted(uris(registrar.lookup("alice"))) == ["sip:alice@10.0.0.1", "sip:alice@10.0.0.2"]


async def test_the_binding_keeps_where_the_register_came_from() -> None:
    registrar = make(Clock())
    await registrar.handle(register("<sip:alice@192.168.1.20:5060>"), SOURCE)
    (binding,) = registrar.lookup("alice")
    assert (binding.destination.host, binding.destination.port) == ("127.0.0.1", 5070)
