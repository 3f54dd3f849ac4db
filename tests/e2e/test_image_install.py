"""The container image, without Docker.

Docker may not run where the tests run, so the image is checked in two halves:

- its recipe: the Dockerfile, .dockerignore and docker-compose.yml are parsed and checked for
  what production needs (a multi-stage build on a slim Python, a non-root user, a health check
  on /healthz, the port, the data volume, PostgreSQL waited for);
- its install: scripts/image-install-check.sh runs the commands of the Dockerfile's stages (a
  wheel, a fresh virtual environment) and the start-up commands; then the installed bot is
  started with the Dockerfile's own CMD and probed with the Dockerfile's own HEALTHCHECK.

The install takes a while (it installs every dependency), so those tests are marked `slow`:
`pytest -m "not slow"` leaves them out; a plain `pytest` runs them.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = ROOT / "docker-compose.yml"
SCRIPT = ROOT / "scripts" / "image-install-check.sh"
EXAMPLE_CONFIG = ROOT / "liaison.example.toml"
PACKAGES = ("bot", "handlers", "schedules", "storage")
# The install (a fresh environment with every dependency) takes a while beside the rest of the
# suite: the first test, whose setup runs it, gets the time. Under xdist the module's tests
# share one worker and start first (tests/conftest.py, ONE_WORKER), so the install runs once.
pytestmark = pytest.mark.timeout(360)


# --- the recipe --------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    stage: int  # index of the FROM it belongs to; -1 before the first FROM

    def exec_form(self) -> list[str]:
        """The JSON (exec) form of CMD, ENTRYPOINT or HEALTHCHECK ... CMD, as a list."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text[text.index(" CMD ") + len(" CMD ") :]
        return json.loads(text)


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments left out (Dockerfile rules)."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue  # a comment, or a parser directive such as `# syntax=`
        if pending and line.startswith("#"):
            continue  # comments inside a continued instruction are dropped
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if not line:
            continue
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, " ".join(args.split()), stage))
    assert not pending, "the Dockerfile ends in a line continuation"
    return instructions


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def _build_args(instructions: list[Instruction]) -> dict[str, str]:
    args = {}
    for ins in instructions:
        if ins.keyword == "ARG" and ins.stage == -1 and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            args[name] = value.strip("\"'")
    return args


def _expand(text: str, args: dict[str, str]) -> str:
    for name, value in args.items():
        text = text.replace("${" + name + "}", value).replace("$" + name, value)
    return text


def _stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    count = max(i.stage for i in instructions) + 1
    return [[i for i in instructions if i.stage == n] for n in range(count)]


def _env(instructions: list[Instruction]) -> dict[str, str]:
    """ENV key=value pairs of the given instructions (the key=value form only)."""
    env = {}
    for ins in instructions:
        if ins.keyword == "ENV":
            for pair in shlex.split(ins.args):
                name, sep, value = pair.partition("=")
                assert sep, f"use ENV key=value, not {ins.args!r}"
                env[name] = value
    return env


def test_the_image_is_built_in_two_stages_on_slim_python_3_11(dockerfile):
    args = _build_args(dockerfile)
    froms = [_expand(i.args, args).split() for i in dockerfile if i.keyword == "FROM"]
    assert len(froms) >= 2, "a multi-stage build: one stage builds, the last one runs"
    first, last = froms[0], froms[-1]
    assert [w.upper() for w in first[1:]] == ["AS", "BUILD"], first
    for image in (first[0], last[0]):
        name, _, tag = image.partition(":")
        assert name in ("python", "docker.io/library/python"), image
        assert tag.startswith("3.11") and "slim" in tag, image


def test_the_build_stage_makes_a_wheel_and_the_last_stage_installs_it_in_a_venv(dockerfile):
    stages = _stages(dockerfile)
    build_runs = " ".join(i.args for i in stages[0] if i.keyword == "RUN")
    assert "pip wheel --no-deps" in build_runs
    final_runs = " ".join(i.args for i in stages[-1] if i.keyword == "RUN")
    assert "-m venv" in final_runs and ".whl" in final_runs
    assert "from=build" in final_runs or any(
        i.keyword == "COPY" and "--from=build" in i.args for i in stages[-1]
    ), "the last stage takes the wheel from the build stage"


def test_the_build_stage_copies_exactly_what_the_install_check_copies(dockerfile):
    copied = set()
    for ins in _stages(dockerfile)[0]:
        if ins.keyword == "COPY":
            sources = [w for w in ins.args.split() if not w.startswith("--")][:-1]
            copied.update(s.rstrip("/") for s in sources)
    assert copied == {"pyproject.toml", "README.md", *PACKAGES}
    script = SCRIPT.read_text(encoding="utf-8")
    assert 'cp "$root/pyproject.toml" "$root/README.md"' in script
    assert f"for package in {' '.join(PACKAGES)}; do" in script
    assert "pip wheel --no-deps" in script and "-m venv" in script


def test_the_container_runs_as_a_non_root_user(dockerfile):
    final = _stages(dockerfile)[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the last stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0", ""), users[-1]
    last_user = max(n for n, i in enumerate(final) if i.keyword == "USER")
    assert not any(i.keyword == "RUN" for i in final[last_user:]), "nothing runs as root after USER"


def test_the_health_check_asks_healthz_with_python_on_the_configured_port(dockerfile):
    checks = [i for i in _stages(dockerfile)[-1] if i.keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    command = checks[0].exec_form()
    assert command[0] == "python", "slim images have no curl; Python's urllib does the asking"
    code = " ".join(command)
    assert "urllib.request" in code and "/healthz" in code and "127.0.0.1" in code
    assert "PORT" in code, "the check follows the PORT variable"


def test_port_volume_defaults_and_command(dockerfile):
    final = _stages(dockerfile)[-1]
    exposed = " ".join(i.args for i in final if i.keyword == "EXPOSE").split()
    assert "3000" in exposed or "3000/tcp" in exposed
    env = _env(final)
    assert env["PORT"] == "3000"
    assert env["DATABASE_URL"] == "sqlite:////data/liaison.db"
    # The organisation file is ./liaison.toml of the working directory: mount /config/liaison.toml.
    assert "LIAISON_CONFIG" not in env
    assert [i.args for i in final if i.keyword == "WORKDIR"][-1] == "/config"
    volumes = [i.args for i in final if i.keyword == "VOLUME"]
    assert volumes, "a volume for the SQLite file"
    paths = json.loads(volumes[-1]) if volumes[-1].startswith("[") else volumes[-1].split()
    assert "/data" in paths
    secrets = {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"}
    secrets |= {"MICROSOFT_APP_PASSWORD"}
    assert not secrets & set(_env(dockerfile)), "secrets come from the environment at run time"
    command = [i for i in final if i.keyword in ("CMD", "ENTRYPOINT")][-1].exec_form()
    assert command[0] == "liaison-bot" and "serve" in command


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        parts = path.split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        if any(fnmatch.fnmatch(p, c) for p in prefixes for c in candidates) or (
            pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        ):
            ignored = not negate
    return ignored


def test_the_build_context_holds_the_sources_and_no_secrets():
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for needed in ("pyproject.toml", "README.md", "bot/__main__.py", *PACKAGES):
        assert not _ignored(needed, patterns), needed
    for playbook in (ROOT / "handlers" / "playbooks").glob("*.toml"):
        assert not _ignored(f"handlers/playbooks/{playbook.name}", patterns)
    for migration in (ROOT / "storage" / "migrations" / "versions").glob("*.py"):
        assert not _ignored(f"storage/migrations/versions/{migration.name}", patterns)
    for kept_out in (
        ".env",
        ".venv/bin/python",
        ".git/config",
        "liaison.db",
        "liaison.toml",
        "tests/conftest.py",
        "bot/__pycache__/config.cpython-311.pyc",
        "storage/local.db",
    ):
        assert _ignored(kept_out, patterns), kept_out


def test_compose_runs_the_bot_against_a_healthy_postgresql_16():
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = compose["services"]
    db, bot = services["db"], services["bot"]
    assert str(db["image"]).startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    env = db["environment"]
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["POSTGRES_DB"]) == ("liaison",) * 3

    assert bot["build"] in (".", {"context": "."})
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    environment = bot["environment"]
    assert environment["DATABASE_URL"] == "postgresql+psycopg://liaison:liaison@db:5432/liaison"
    assert {"path": ".env", "required": False} in bot["env_file"]
    mounts = [v for v in bot["volumes"] if isinstance(v, dict)]
    config = [m for m in mounts if m["target"] == environment["LIAISON_CONFIG"]]
    assert config and config[0]["read_only"] is True, "the organisation file, mounted read-only"
    assert Path(config[0]["source"]).suffix == ".toml"
    assert any(str(p).endswith(":3000") for p in bot["ports"])
    assert str(environment.get("PORT", "3000")) == "3000"


# --- the install -------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    work: Path
    output: str

    @property
    def bin(self) -> Path:
        return self.work / "venv" / "bin"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment the image gives the bot, and nothing from this test run."""
        return {
            "HOME": str(self.work / "data"),
            "PATH": f"{self.bin}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "LOG_LEVEL": "WARNING",
            **extra,
        }

    def run(self, *argv: str, input: str | None = None, **env: str):
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.work / "data",
            env=self.env(**env),
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture(scope="module")
def installed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installed]:
    """Run the image's install script once for this module, in a temporary folder."""
    work = tmp_path_factory.mktemp("image")
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(SCRIPT), str(work)],
        env={**os.environ, "PYTHON": sys.executable},
        cwd=work,
        capture_output=True,
        text=True,
        timeout=330,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"the install check failed:\n{output[-4000:]}"
    assert time.monotonic() - started < 330
    failed = request.session.testsfailed
    yield Installed(work, output)
    if request.session.testsfailed == failed:  # kept for a look when a test failed
        # Thousands of files: deleted now, beside the other tests, rather than by pytest's
        # clean-up of old temporary folders at the end of a later run.
        shutil.rmtree(work / "venv", ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_install_check_installs_the_console_script(installed):
    script = installed.bin / "liaison-bot"
    assert script.is_file() and os.access(script, os.X_OK)
    assert "== the image's install works" in installed.output
    shown = installed.run("liaison-bot", "--help")
    assert shown.returncode == 0
    for command in ("serve", "detect", "db"):
        assert command in shown.stdout


@pytest.mark.slow
def test_the_wheel_carries_the_migrations_and_the_shipped_playbooks(installed):
    (wheel,) = (installed.work / "wheels").glob("it_liaison_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = [
        path.relative_to(ROOT).as_posix()
        for pattern in (
            "storage/migrations/env.py",
            "storage/migrations/script.py.mako",
            "storage/migrations/versions/*.py",
            "handlers/playbooks/*.toml",
            "handlers/*.toml",
        )
        for path in ROOT.glob(pattern)
    ]
    assert len([p for p in expected if "/versions/" in p]) >= 1
    assert len([p for p in expected if "/playbooks/" in p]) >= 6
    missing = sorted(set(expected) - names)
    assert not missing, f"not in the wheel: {missing}"
    assert not any(name.startswith("tests/") for name in names)

    # And the installed bot reads them from the package, not from a source tree.
    probe = installed.run(
        "python",
        "-c",
        "import handlers, storage.db as db; from handlers.playbooks import load_catalogue; "
        "print(handlers.__file__); print(db.MIGRATIONS); print(len(load_catalogue()))",
    )
    assert probe.returncode == 0, probe.stderr
    module, migrations, playbooks = probe.stdout.split()
    assert Path(module).is_relative_to(installed.work / "venv")
    assert Path(migrations).is_relative_to(installed.work / "venv")
    assert int(playbooks) >= 6


@pytest.mark.slow
def test_db_upgrade_migrates_a_new_database_and_again_is_harmless(installed):
    assert "Database is at revision" in installed.output
    url = f"sqlite:///{installed.work / 'data' / 'again.db'}"
    for _ in range(2):
        upgraded = installed.run("liaison-bot", "db", "upgrade", DATABASE_URL=url)
        assert upgraded.returncode == 0, upgraded.stderr
        assert upgraded.stdout.startswith("Database is at revision ")
    versions = sorted(p.stem for p in (ROOT / "storage/migrations/versions").glob("*.py"))
    assert versions[-1].split("_")[0] in upgraded.stdout


@pytest.mark.slow
def test_detect_answers_one_json_line_per_line(installed):
    lines = [
        {"text": "We are hiring 15 new reps in March"},
        {"text": "Anyone up for lunch?"},
    ]
    detected = installed.run(
        "liaison-bot",
        "detect",
        input="".join(json.dumps(line) + "\n" for line in lines),
        DATABASE_URL=f"sqlite:///{installed.work / 'data' / 'detect.db'}",
    )
    assert detected.returncode == 0, detected.stderr
    verdicts = [json.loads(line) for line in detected.stdout.splitlines()]
    assert len(verdicts) == 2
    assert verdicts[0]["kind"] == "staffing_change"
    assert verdicts[1].get("kind") is None


@pytest.mark.slow
def test_the_images_command_serves_healthz_and_its_health_check_passes(installed, dockerfile):
    final = _stages(dockerfile)[-1]
    command = [i for i in final if i.keyword in ("CMD", "ENTRYPOINT")][-1].exec_form()
    health = next(i for i in final if i.keyword == "HEALTHCHECK").exec_form()
    port = _free_port()
    image_env = {k: v for k, v in _env(final).items() if k not in ("PATH", "VIRTUAL_ENV")}
    image_env.update(
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{installed.work / 'data' / 'serve.db'}",
        LIAISON_CONFIG=str(EXAMPLE_CONFIG),
    )
    env = installed.env(**image_env)

    def health_check() -> int:
        probe = [str(installed.bin / health[0]), *health[1:]]
        return subprocess.run(probe, env=env, capture_output=True, timeout=10).returncode

    log = installed.work / "data" / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [str(installed.bin / command[0]), *command[1:]],
            cwd=installed.work / "data",
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        body = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, f"no answer on /healthz:\n{_stop(server, log)}"
        assert body["status"] == "ok"
        assert health_check() == 0, "the Dockerfile's HEALTHCHECK fails on a healthy server"
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0, _stop(server, log)
        assert health_check() != 0, "the HEALTHCHECK passes with the server gone"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


def _stop(process: subprocess.Popen, log: Path) -> str:
    """Stop the server if it still runs; the end of its log, for a failure message."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]
