"""Request categories, districts, field worker kinds and field workers in the configuration file:
bad input is reported as `file:line: field: problem` like the rest of the file, and the COVID
template's categories are the ones the reference deployment ran."""

from __future__ import annotations

from pathlib import Path

from hotline.config.loader import load_config, parse_config, template_path
from tests.config.factories import WITH_DISPATCH
from tests.config.test_loader import line, problems_in


def edit(old: str, new: str) -> str:
    assert old in WITH_DISPATCH
    return WITH_DISPATCH.replace(old, new)


def test_the_dispatch_factory_config_is_valid() -> None:
    config = parse_config(WITH_DISPATCH)
    assert [c.id for c in config.request_categories] == ["medicine", "payments"]
    assert config.request_categories[1].information_only
    assert config.users[-1].field_worker is not None


def test_the_covid_template_has_the_reference_categories_and_field_workers() -> None:
    config = load_config(template_path("covid"))
    categories = {c.id: c for c in config.request_categories}
    assert set(categories) == {
        "medicine",
        "groceries",
        "essential_goods",
        "sick_leave_papers",
        "rehabilitation_equipment",
        "firewood_coal",
        "social_payments_question",
    }
    assert [c.id for c in config.request_categories if c.information_only] == [
        "social_payments_question"
    ]
    assert all(c.name.ru and c.name.en for c in config.request_categories)
    assert {k.id for k in config.field_worker_kinds} == {
        "volunteer",
        "courier",
        "social_worker",
        "polyclinic_staff",
    }
    workers = {u.username: u.field_worker for u in config.users if u.field_worker is not None}
    assert {w.kind for w in workers.values()} == {k.id for k in config.field_worker_kinds}
    assert all("field_worker" in u.roles for u in config.users if u.username in workers)
    # Every category someone must fulfil has a field worker of a kind that may, somewhere.
    for category in config.request_categories:
        if not category.information_only:
            assert any(w.kind in category.fulfilled_by for w in workers.values()), category.id


def test_an_unknown_field_worker_kind_in_a_category_is_named(tmp_path: Path) -> None:
    text = edit("fulfilled_by: [volunteer, courier]", "fulfilled_by: [volunter, courier]")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'volunter')}: request_categories[0].fulfilled_by[0]: "
        "unknown field worker kind 'volunter'; did you mean 'volunteer'?"
    ]


def test_a_category_fulfilled_by_nobody_is_refused_unless_information_only(
    tmp_path: Path,
) -> None:
    text = edit("    fulfilled_by: [volunteer, courier]\n", "")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: medicine')}: request_categories[0].fulfilled_by: field required: "
        "the kinds of field worker who fulfil this category (or set information_only: true)"
    ]


def test_an_information_only_category_has_no_field_workers(tmp_path: Path) -> None:
    text = edit(
        "    information_only: true\n", "    information_only: true\n    fulfilled_by: [courier]\n"
    )
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'fulfilled_by: [courier]')}: request_categories[1].fulfilled_by: "
        "an information-only category is fulfilled by nobody in the field"
    ]


def test_a_form_that_is_not_a_json_schema_names_the_line_of_the_bad_keyword(
    tmp_path: Path,
) -> None:
    text = edit("budget: {type: integer, minimum: 0}", "budget: {type: integr, minimum: zero}")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'integr')}: request_categories[0].form.properties.budget.minimum: "
        "expected a number",
        f"{line(text, 'integr')}: request_categories[0].form.properties.budget.type: "
        "unknown type 'integr'; did you mean 'integer'? "
        "(types: array, boolean, integer, null, number, object, string)",
    ]


def test_a_form_must_be_an_object(tmp_path: Path) -> None:
    text = edit("      type: object\n      required: [medicines]", "      type: array\n")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'type: array')}: request_categories[0].form.type: "
        "a form is an object: write `type: object`"
    ]


def test_a_postcode_prefix_in_two_districts_is_refused(tmp_path: Path) -> None:
    text = edit('postcodes: ["127"]', 'postcodes: ["127", "125"]')
    at = line(text, '"127", "125"')
    assert problems_in(text, tmp_path) == [
        f"{at}: districts[1].postcodes[1]: '125' is already in district 'centre'"
    ]


def test_a_street_written_differently_in_two_districts_is_still_one_street(
    tmp_path: Path,
) -> None:
    text = edit('postcodes: ["127"]', 'postcodes: ["127"]\n    streets: [ул. тверская]')
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'ул. тверская')}: districts[1].streets[0]: "
        "'ул. тверская' is already in district 'centre'"
    ]


def test_a_longer_postcode_prefix_inside_another_district_is_allowed() -> None:
    config = parse_config(edit('postcodes: ["127"]', 'postcodes: ["127", "125009"]'))
    assert config.districts[1].postcodes == ["127", "125009"]


def test_an_unquoted_postcode_is_refused_with_advice(tmp_path: Path) -> None:
    text = edit('postcodes: ["127"]', "postcodes: [127]")
    (problem,) = problems_in(text, tmp_path)
    assert problem.startswith(
        f"{line(text, 'postcodes: [127]')}: districts[1].postcodes[0]: "
        'write the number in quotes, e.g. "127"'
    )


def test_a_field_worker_needs_a_profile(tmp_path: Path) -> None:
    text = edit("    field_worker: {kind: volunteer, districts: [centre], capacity: 2}\n", "")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'username: vol01')}: users[2].field_worker: "
        "field required for a field_worker (their kind and districts)"
    ]


def test_a_profile_is_only_for_field_workers(tmp_path: Path) -> None:
    text = edit("roles: [field_worker]", "roles: [agent]")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'field_worker: {kind')}: users[2].field_worker: "
        "only for a user with the role field_worker"
    ]


def test_a_field_workers_references_are_checked(tmp_path: Path) -> None:
    text = edit(
        "{kind: volunteer, districts: [centre], capacity: 2}",
        "{kind: courier, districts: [centre, south, centre], categories: [payments], capacity: 0}",
    )
    at = line(text, "kind: courier")
    assert problems_in(text, tmp_path) == [
        f"{at}: users[2].field_worker.capacity: input should be greater than or equal to 1",
        f"{at}: users[2].field_worker.categories[0]: "
        "category 'payments' is not fulfilled by kind 'courier' (see its fulfilled_by)",
        f"{at}: users[2].field_worker.districts[1]: unknown district 'south'",
        f"{at}: users[2].field_worker.districts[2]: district 'centre' listed twice",
    ]


def test_a_misspelt_category_field_suggests_the_right_one(tmp_path: Path) -> None:
    text = edit("    sla_hours: 24\n", "    sla_hour: 24\n")
    assert problems_in(text, tmp_path) == [
        f"{line(text, 'id: medicine')}: request_categories[0].sla_hours: field required",
        f"{line(text, 'sla_hour:')}: request_categories[0].sla_hour: "
        "unknown field; did you mean 'sla_hours'?",
    ]
