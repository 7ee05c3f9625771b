"""hotline.web serves the built browser app beside the API: assets, client routes, never /api."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hotline.web import IMMUTABLE, mount_web_app

INDEX = "<!doctype html><html><body><div id=root></div></body></html>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text(INDEX)
    (static / "assets" / "index-abc123.js").write_text("console.log('app')")
    (static / "robots.txt").write_text("User-agent: *\nDisallow: /\n")
    (static / ".built").write_text("")
    return static


def _app(static: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/v1/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    mount_web_app(app, static_dir=static)

    @app.post("/api/v1/auth/login")  # added after: the page must not shadow it
    async def login() -> dict[str, str]:
        return {"user": "anna"}

    return TestClient(app)


def test_client_routes_answer_the_page_with_its_security_headers(built: Path) -> None:
    client = _app(built)
    for path in ("/", "/login", "/agent", "/wallboard"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.text == INDEX
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-cache"


def test_assets_are_served_and_cached_for_good(built: Path) -> None:
    response = _app(built).get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.text == "console.log('app')"
    assert response.headers["cache-control"] == IMMUTABLE


def test_top_level_build_files_are_served(built: Path) -> None:
    response = _app(built).get("/robots.txt")
    assert response.status_code == 200
    assert response.text.startswith("User-agent")


def test_api_routes_answer_whenever_they_were_added(built: Path) -> None:
    client = _app(built)
    assert client.get("/api/v1/health").json() == {"status": "ok"}
    assert client.post("/api/v1/auth/login").json() == {"user": "anna"}
    assert client.get("/api/v1/auth/login").status_code == 405


def test_unknown_api_paths_are_404_and_never_the_page(built: Path) -> None:
    client = _app(built)
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/api/v1/nothing-here")
        assert response.status_code == 404, method
        assert INDEX not in response.text


def test_only_reads_get_the_page(built: Path) -> None:
    client = _app(built)
    assert client.post("/agent").status_code == 404
    assert client.head("/agent").status_code == 200


def test_missing_files_and_dotfiles_are_404_not_the_page(built: Path) -> None:
    client = _app(built)
    assert client.get("/missing.png").status_code == 404
    assert client.get("/.built").status_code == 404
    assert client.get("/assets/missing.js").status_code == 404


def test_paths_cannot_climb_out_of_the_build(built: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the contents of a file outside the build")
    response = _app(built).get("/..%2Fsecret.txt")
    assert response.status_code == 404
    assert "contents of a file" not in response.text


def test_an_unbuilt_app_says_how_to_build_it(tmp_path: Path) -> None:
    response = _app(tmp_path / "nothing").get("/agent")
    assert response.status_code == 503
    assert response.json()["code"] == "web_app_not_built"
