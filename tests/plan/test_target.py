"""Target files: every check of load() is one line naming the file and the key; the demo's file."""

from __future__ import annotations

import re
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from loadlab.errors import ConfigError
from loadlab.plan import target_file
from loadlab.plan.target import DEMO_FILE, RESERVED_NAMES, TargetEndpoint
from loadlab.plan.target_file import demo, load
from loadlab.shared.endpoints import ENDPOINTS
from tests.service.conftest import start_server, stop_server

HEAD = {"image": 'image = "app:1"', "app": 'app = "app.main:app"', "health": 'health = "/health"'}


def ep(name: str | None = '"read"', path: str | None = '"/items"', **more: str) -> str:
    """One [[endpoints]] table; each value is TOML as written, None leaves the key out."""
    given = {"name": name, "path": path, **more}
    return "\n".join(["[[endpoints]]", *(f"{k} = {v}" for k, v in given.items() if v is not None)])


def doc(top: str = "", endpoints: str | None = None, tail: str = "", **head: str | None) -> str:
    """A target file: HEAD's keys (replaced or, with None, left out), ``top`` keys, the endpoint
    tables (one good one by default), then ``tail`` tables."""
    lines = [v for v in {**HEAD, **head}.values() if v is not None]
    return "\n".join([*lines, top, ep() if endpoints is None else endpoints, tail]) + "\n"


def folder(tmp_path: Path, text: str, name: str = "app") -> Path:
    """A directory holding ``text`` as its target.toml, a build context with a Dockerfile
    (ctx/), one without (bare/) and a Compose file."""
    where = tmp_path / name
    (where / "ctx").mkdir(parents=True)
    (where / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    (where / "bare").mkdir()
    (where / "compose.yaml").write_text("services: {}\n")
    (where / "target.toml").write_text(text)
    return where


def refused(path: Path | str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("TARGET "), message
    return message


ENV_SERVER = "env.SERVER is refused: the lab sets SERVER itself: it is a sweep axis (VARIANTS)"
BAD = [
    # (id, file text, the key the message names, a fragment of what it says)
    ("unknown-key", doc('imgae = "x"'), "imgae", "did you mean 'image'?"),
    ("unknown-key-far", doc("zzz = 1"), "zzz", "known: name, image, build"),
    ("unknown-endpoint-key", doc(endpoints=ep(wieght="2")), "endpoints[0].wieght", "'weight'"),
    (
        "image-and-build",
        doc('build = "ctx"'),
        "image",
        "or build: exactly one is required, got image and build",
    ),
    ("neither", doc(image=None), "image", "or build: exactly one is required, got neither"),
    ("image-space", doc(image='image = "my app:1"'), "image", "without spaces"),
    ("image-empty-tag", doc(image='image = "app:"'), "image", "'name:tag' or 'name'"),
    ("image-type", doc(image="image = 3"), "image", "must be a string, got 3"),
    ("build-missing", doc(image='build = "nowhere"'), "build", "must be a directory"),
    ("build-a-file", doc(image='build = "compose.yaml"'), "build", "must be a directory"),
    ("build-no-dockerfile", doc(image='build = "bare"'), "build", "must hold a Dockerfile"),
    ("app-missing", doc(app=None), "app", "is required"),
    ("app-no-colon", doc(app='app = "app.main"'), "app", "'module.path:attribute'"),
    ("app-dash", doc(app='app = "app-main:app"'), "app", "Python identifiers"),
    ("app-empty-part", doc(app='app = "app..main:app"'), "app", "Python identifiers"),
    ("app-attribute", doc(app='app = "app.main:"'), "app", "Python identifiers"),
    ("health-missing", doc(health=None), "health", "is required"),
    ("health-relative", doc(health='health = "health"'), "health", "must start with '/'"),
    ("health-type", doc(health="health = true"), "health", "must be a string"),
    ("endpoints-missing", doc(endpoints=""), "endpoints", "at least one [[endpoints]]"),
    ("endpoints-empty", doc("endpoints = []", endpoints=""), "endpoints", "at least one"),
    ("endpoints-table", doc(endpoints='[endpoints]\nname = "a"'), "endpoints", "[[endpoints]]"),
    ("endpoints-list", doc("endpoints = [1]", endpoints=""), "endpoints", "[[endpoints]] tables"),
    ("name-missing", doc(endpoints=ep(name=None)), "endpoints[0].name", "is required"),
    ("name-pattern", doc(endpoints=ep(name='"-read"')), "endpoints[0].name", "must match"),
    ("name-space", doc(endpoints=ep(name='"read it"')), "endpoints[0].name", "must match"),
    ("name-mix", doc(endpoints=ep(name='"mix"')), "endpoints[0].name", "ENDPOINTS=mix"),
    (
        "name-repeated",
        doc(endpoints=ep() + "\n" + ep(path='"/other"')),
        "endpoints[1].name",
        "'read' is already endpoints[0]'s name",
    ),
    ("path-missing", doc(endpoints=ep(path=None)), "endpoints[0].path", "is required"),
    ("path-relative", doc(endpoints=ep(path='"items"')), "endpoints[0].path", "start with '/'"),
    ("path-space", doc(endpoints=ep(path='"/a b"')), "endpoints[0].path", "whitespace"),
    ("path-tab", doc(endpoints=ep(path='"/a\\tb"')), "endpoints[0].path", "whitespace"),
    ("path-reserved", doc(endpoints=ep(path='"/_lab/x"')), "endpoints[0].path", "'/_lab/'"),
    (
        "method",
        doc(endpoints=ep(method='"FETCH"')),
        "endpoints[0].method",
        "must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, got 'FETCH'",
    ),
    ("method-type", doc(endpoints=ep(method="1")), "endpoints[0].method", "must be a string"),
    ("body-get", doc(endpoints=ep(body='"{}"')), "endpoints[0].body", "not GET or HEAD"),
    (
        "body-head",
        doc(endpoints=ep(method='"HEAD"', body='""')),
        "endpoints[0].body",
        "got HEAD",
    ),
    (
        "body-type",
        doc(endpoints=ep(method='"POST"', body="1")),
        "endpoints[0].body",
        "must be a string",
    ),
    ("headers-type", doc(endpoints=ep(headers='"x"')), "endpoints[0].headers", "a table"),
    (
        "header-value",
        doc(endpoints=ep(headers="{X-Token = 5}")),
        "endpoints[0].headers.X-Token",
        "must be a string, got 5",
    ),
    (
        "header-name",
        doc(endpoints=ep(headers='{"a b" = "x"}')),
        "endpoints[0].headers.'a b'",
        "not a valid HTTP header name",
    ),
    (
        "header-two-lines",
        doc(endpoints=ep(headers='{X-A = "a\\r\\nX-B: b"}')),
        "endpoints[0].headers.X-A",
        "must be one line",
    ),
    ("status-low", doc(endpoints=ep(expect_status="42")), "endpoints[0].expect_status", "100"),
    (
        "status-high",
        doc(endpoints=ep(expect_status="600")),
        "endpoints[0].expect_status",
        "must be between 100 and 599, got 600",
    ),
    (
        "status-string",
        doc(endpoints=ep(expect_status='"200"')),
        "endpoints[0].expect_status",
        "must be an integer",
    ),
    (
        "status-bool",
        doc(endpoints=ep(expect_status="true")),
        "endpoints[0].expect_status",
        "must be an integer, got True",
    ),
    ("body-empty", doc(endpoints=ep(expect_body='""')), "endpoints[0].expect_body", "empty"),
    ("body-int", doc(endpoints=ep(expect_body="1")), "endpoints[0].expect_body", "a string"),
    ("weight-zero", doc(endpoints=ep(weight="0")), "endpoints[0].weight", "between 1 and 1000"),
    ("weight-high", doc(endpoints=ep(weight="1001")), "endpoints[0].weight", "got 1001"),
    ("weight-float", doc(endpoints=ep(weight="1.5")), "endpoints[0].weight", "an integer"),
    ("env-type", doc("env = 1"), "env", "must be a table, got 1"),
    ("env-name", doc(tail="[env]\nmy_var = 1"), "env.my_var", "[A-Z_][A-Z0-9_]*"),
    ("env-name-digit", doc(tail="[env]\n9X = 1"), "env.9X", "a variable name"),
    ("env-server", doc(tail='[env]\nSERVER = "x"'), "env.SERVER", ENV_SERVER),
    ("env-lab", doc(tail="[env]\nLAB_STEPS = 1"), "env.LAB_STEPS", "LAB_ names are its own"),
    ("env-list", doc(tail="[env]\nX = [1]"), "env.X", "string, number or boolean"),
    ("env-table", doc(tail="[env]\nX = {a = 1}"), "env.X", "string, number or boolean"),
    ("env-nan", doc(tail="[env]\nX = nan"), "env.X", "must be a finite number"),
    ("env-inf", doc(tail="[env]\nX = -inf"), "env.X", "must be a finite number"),
    ("env-digits", doc(tail="[env]\nX = 0.1234567"), "env.X", "write it as a string"),
    ("knobs-type", doc('knobs = "X"'), "knobs", "must be a table"),
    ("knob-scalar", doc(tail="[knobs]\nX = 1"), "knobs.X", "non-empty list"),
    ("knob-empty", doc(tail="[knobs]\nX = []"), "knobs.X", "non-empty list"),
    ("knob-repeat", doc(tail='[knobs]\nX = [1, "1"]'), "knobs.X[1]", "repeats the value '1'"),
    ("knob-repeat-float", doc(tail="[knobs]\nX = [2, 2.0]"), "knobs.X[1]", "repeats"),
    ("knob-nested", doc(tail="[knobs]\nX = [[1]]"), "knobs.X[0]", "string, number or boolean"),
    ("knob-name", doc(tail="[knobs]\nx = [1]"), "knobs.x", "a variable name"),
    ("knob-reserved", doc(tail="[knobs]\nWORKERS = [1, 2]"), "knobs.WORKERS", "lab sets WORKERS"),
    ("knob-lab", doc(tail="[knobs]\nLAB_X = [1, 2]"), "knobs.LAB_X", "is refused"),
    (
        "knob-in-env",
        doc(tail="[env]\nX = 1\n[knobs]\nX = [1, 2]"),
        "knobs.X",
        "is also in [env]",
    ),
    (
        "wheels-unknown",
        doc('wheels = "nope"'),
        "wheels",
        "must be a dependency group of pyproject.toml, got 'nope' (known: service, ",
    ),
    ("wheels-type", doc("wheels = true"), "wheels", "must be a string"),
    ("compose-missing", doc('compose = "nowhere.yaml"'), "compose", "must be a file"),
    ("compose-a-dir", doc('compose = "ctx"'), "compose", "must be a file"),
    ("services-no-compose", doc('services = ["db"]'), "services", "needs compose"),
    (
        "services-type",
        doc('compose = "compose.yaml"\nservices = "db"'),
        "services",
        "must be a list",
    ),
    (
        "services-repeat",
        doc('compose = "compose.yaml"\nservices = ["db", "db"]'),
        "services[1]",
        "repeats the service 'db'",
    ),
    (
        "services-name",
        doc('compose = "compose.yaml"\nservices = ["-db"]'),
        "services[0]",
        "a Compose service name",
    ),
    (
        "services-item-type",
        doc('compose = "compose.yaml"\nservices = [1]'),
        "services[0]",
        "must be a string",
    ),
    ("debian-type", doc('debian_images = ["x"]'), "debian_images", "must be a table"),
    ("debian-tag", doc(tail='[debian_images]\n"a b" = ["curl"]'), "debian_images.'a b'", "image"),
    ("debian-empty", doc(tail="[debian_images]\npy = []"), "debian_images.py", "non-empty list"),
    (
        "debian-package",
        doc(tail='[debian_images]\npy = ["Curl"]'),
        "debian_images.py[0]",
        "a Debian package name, got 'Curl'",
    ),
    ("debian-short", doc(tail='[debian_images]\npy = ["a"]'), "debian_images.py[0]", "'a'"),
    ("debian-item", doc(tail="[debian_images]\npy = [1]"), "debian_images.py[0]", "a string"),
    ("demo", doc('demo = "yes"'), "demo", "must be true or false, got 'yes'"),
    ("answer-type", doc('answer_seconds = "5"'), "answer_seconds", "a number of seconds, got '5'"),
    ("answer-bool", doc("answer_seconds = true"), "answer_seconds", "a number of seconds"),
    ("answer-low", doc("answer_seconds = 0.4"), "answer_seconds", "between 0.5 and 600"),
    ("answer-high", doc("answer_seconds = 601"), "answer_seconds", "between 0.5 and 600"),
    ("answer-nan", doc("answer_seconds = nan"), "answer_seconds", "got nan"),
    ("name-override", doc('name = "My App"'), "name", "got 'My App'; e.g. 'my-app'"),
    ("name-edge-dash", doc('name = "-app"'), "name", "must be a slug"),
    ("name-empty", doc('name = ""'), "name", "must be a slug"),
    ("name-type", doc("name = 1"), "name", "must be a string"),
]


@pytest.mark.parametrize(("text", "key", "what"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_each_problem_is_one_line_naming_the_file_and_the_key(tmp_path, text, key, what):
    """A bad file is refused with one line: TARGET, the file, the key, and what is wrong."""
    where = folder(tmp_path, text)
    message = refused(where / "target.toml")
    assert message.startswith(f"TARGET {where / 'target.toml'}: {key} "), message
    assert what in message, message


@pytest.mark.parametrize("name", [*RESERVED_NAMES, "LAB_PATH"])
def test_every_name_the_lab_sets_is_refused_with_its_reason(tmp_path, name):
    """Each variable the lab sets itself is refused in [env], with the reason it is the lab's."""
    message = refused(folder(tmp_path, doc(tail=f"[env]\n{name} = 1")))
    reason = RESERVED_NAMES.get(name, "LAB_ names are its own")
    assert f"env.{name} is refused: the lab sets {name} itself: {reason}" in message


def test_the_file_and_its_place_are_checked_first(tmp_path):
    """A missing path, a directory without the file, a file that is a directory, a TOML error
    (with the line tomllib reports) and bytes that are not UTF-8 each give one line."""
    assert refused(tmp_path / "nope.toml").endswith("nope.toml: no such file or directory")
    assert refused(tmp_path).endswith(f"{tmp_path}: is a directory without a target.toml")
    (tmp_path / "d" / "target.toml").mkdir(parents=True)
    assert refused(tmp_path / "d").endswith("d/target.toml: is not a file")
    (tmp_path / "bad.toml").write_text('image = "x"\napp =\n')
    assert refused(tmp_path / "bad.toml").endswith("bad.toml: is not valid TOML: " + toml_error())
    (tmp_path / "bytes.toml").write_bytes(b"image = '\xff'\n")
    assert "bytes.toml: is not UTF-8 text" in refused(tmp_path / "bytes.toml")


def toml_error() -> str:
    """What tomllib says of the broken file above (its wording is tomllib's, its line ours)."""
    with pytest.raises(tomllib.TOMLDecodeError) as caught:
        tomllib.loads('image = "x"\napp =\n')
    assert "line 2" in str(caught.value)
    return str(caught.value)


def test_a_directory_with_no_slug_needs_a_name(tmp_path):
    """The default name is the directory's slug; a directory whose name gives none is refused."""
    message = refused(folder(tmp_path, doc(), name="___"))
    assert "target.toml: name is required: the directory name '___' gives no slug" in message


def test_the_message_shows_the_path_as_given(tmp_path, monkeypatch):
    """A relative path given is the path the message shows; the file in Target is absolute."""
    folder(tmp_path, doc(app=None))
    monkeypatch.chdir(tmp_path)
    assert refused("app").startswith("TARGET app/target.toml: app is required")
    (tmp_path / "app" / "target.toml").write_text(doc())
    assert load("app").file == tmp_path / "app" / "target.toml"


def test_defaults(tmp_path):
    """Left out: GET, 200, weight 1, no body, headers, env, knobs or services; the name is the
    directory's slug; the file and directory arguments give the same target."""
    where = folder(tmp_path, doc(), name="My_App.v2")
    t = load(where)
    assert t == load(where / "target.toml")
    assert (t.file, t.name, t.app, t.health, t.image, t.build) == (
        where / "target.toml",
        "my-app-v2",
        "app.main:app",
        "/health",
        "app:1",
        None,
    )
    assert t.endpoints == (TargetEndpoint("read", "/items"),)
    assert t.endpoints[0] == TargetEndpoint("read", "/items", "GET", None, (), 200, None, 1)
    assert (t.env, t.knobs, t.wheels, t.compose, t.services, t.debian_images, t.demo) == (
        (),
        (),
        None,
        None,
        (),
        (),
        False,
    )
    assert t.answer_seconds == 30.0


def test_every_key_given(tmp_path):
    """Every key read as written: build and compose made absolute, the method upper-cased,
    headers sorted, env and knob values as the environment gets them."""
    text = doc(
        'name = "shop"\nwheels = "service"\ncompose = "compose.yaml"\nservices = ["db", "cache"]'
        "\ndemo = true\nanswer_seconds = 0.5",
        endpoints=ep(
            method='"post"',
            body='"{}"',
            headers='{b = "2", A = "1"}',
            expect_status="201",
            expect_body='"id"',
            weight="3",
        )
        + "\n"
        + ep(name='"x/y.z_1"', path='"/items?limit=5"', method='"OPTIONS"'),
        tail='[env]\nS = "x"\nI = 3\nF = 0.5\nB = true\n'
        '[knobs]\nK = [1, 2.5, "x", false, 1e-7, 100000.0]\n'
        '[debian_images]\n"py3.13" = ["python3.13", "libpq5", "g++"]\n'
        '"lab/pg:bookworm" = ["postgresql"]',
        image='build = "ctx"',
    )
    where = folder(tmp_path, text)
    t = load(where)
    assert (t.name, t.image, t.build, t.compose) == (
        "shop",
        None,
        where / "ctx",
        where / "compose.yaml",
    )
    assert t.build.is_absolute() and t.compose.is_absolute()
    assert (t.wheels, t.services, t.demo, t.answer_seconds) == ("service", ("db", "cache"), True,
                                                                0.5)  # fmt: skip
    assert t.endpoints[0] == TargetEndpoint(
        "read", "/items", "POST", "{}", (("A", "1"), ("b", "2")), 201, "id", 3
    )
    assert t.endpoint("x/y.z_1").method == "OPTIONS"
    assert t.env == (("S", "x"), ("I", "3"), ("F", "0.5"), ("B", "1"))
    assert t.knobs == (("K", ("1", "2.5", "x", "0", "1e-07", "100000")),)
    assert t.debian_images == (
        ("py3.13", ("python3.13", "libpq5", "g++")),
        ("lab/pg:bookworm", ("postgresql",)),
    )


def test_the_docs_example_is_a_good_file(tmp_path):
    """docs/target-file.md's example loads as it says: its build context, Compose file,
    endpoints, env and knobs."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "target-file.md").read_text()
    [example] = re.findall(r"^## An example\n.*?^```\n(.*?)^```", page, flags=re.M | re.S)
    where = folder(tmp_path, example, name="shop")
    (where / "Dockerfile").write_text("FROM scratch\n")
    (where / "db.yaml").write_text("services: {}\n")
    t = load(where)
    assert (t.name, t.build, t.compose, t.services) == ("shop", where, where / "db.yaml", ("db",))
    assert [(e.name, e.method, e.weight) for e in t.endpoints] == [
        ("list", "GET", 4),
        ("order", "POST", 1),
    ]
    assert dict(t.env)["DEBUG"] == "0" and t.knobs == (("POOL_SIZE", ("5", "20")),)


def test_an_image_may_name_a_registry():
    """A registry's host and port before the name is still one image."""
    assert target_file.IMAGE.fullmatch("localhost:5000/shop:1.2")
    assert not target_file.IMAGE.fullmatch("shop:1 2")


def test_the_demo_file_names_exactly_the_endpoint_table():
    """services/target/target.toml has one endpoint per ENDPOINTS entry, in order, each at its
    own path with an expected body, so the file and the driver's table cannot drift apart."""
    t = demo()
    assert t.file == DEMO_FILE
    assert (t.name, t.image, t.app, t.health, t.demo) == (
        "demo",
        "loadlab/target:latest",
        "target.main:app",
        "/health",
        True,
    )
    assert [e.name for e in t.endpoints] == list(ENDPOINTS)
    assert all(e.path == f"/{e.name}" and e.expect_body for e in t.endpoints)


@pytest.fixture(scope="module")
def demo_server():
    """The demo app on loopback, started as its image starts it, with short work."""
    server = start_server(work_seconds=0.01, cpu_iterations=1000)
    yield server
    stop_server(server)


@pytest.mark.parametrize("endpoint", demo().endpoints, ids=lambda e: e.name)
def test_the_demo_answers_as_its_file_expects(demo_server, endpoint):
    """Each endpoint of the demo's file answers with its expected status and body substring."""
    try:
        with urllib.request.urlopen(demo_server.url + endpoint.path, timeout=30) as answer:
            status, body = answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read().decode()
    assert status == endpoint.expect_status, body
    assert endpoint.expect_body in body, body
