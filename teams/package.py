"""Build the Teams app package to upload (sideload or publish) into Teams: the manifest with
your bot's app id, version, names and developer links filled in, and the two icons, in one zip.

    python teams/package.py --app-id 00000000-0000-0000-0000-000000000000
    python teams/package.py                    # the app id from MICROSOFT_APP_ID
    python teams/package.py --publish          # fail while example.org links remain

The version, names and links come from the arguments, else from the `[teams_app]` table of the
organisation file (--config, else $LIAISON_CONFIG, else liaison.toml), else from the defaults
in teams/manifest.json (the version: pyproject.toml's). The example.org placeholders give a
warning, and with --publish an error: an app published to everyone needs your own privacy and
terms pages. Writes build/teams-app.zip (or --out PATH).

Standard library only (Python 3.11+), so it runs without installing the bot; it reads no .env.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tomllib
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLACEHOLDER = "{{MICROSOFT_APP_ID}}"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^\d{1,5}\.\d{1,5}\.\d{1,5}$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same input gives the same zip
EXAMPLE = re.compile(r"\bexample\.(org|com|net)\b", re.IGNORECASE)

# The settings a package takes: argument / [teams_app] key -> where it goes in the manifest,
# and the longest value Teams accepts there.
FIELDS = {
    "version": (("version",), 256),
    "developer_name": (("developer", "name"), 32),
    "website_url": (("developer", "websiteUrl"), 2048),
    "privacy_url": (("developer", "privacyUrl"), 2048),
    "terms_url": (("developer", "termsOfUseUrl"), 2048),
    "short_name": (("name", "short"), 30),
    "full_name": (("name", "full"), 100),
}


class PackageError(Exception):
    pass


def project_version() -> str | None:
    """The bot's version, from pyproject.toml."""
    try:
        with (ROOT / "pyproject.toml").open("rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None


def config_settings(path: Path | None) -> dict[str, str]:
    """The [teams_app] table of the organisation file, if there is one."""
    if path is None or not path.is_file():
        return {}
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("teams_app") or {}
    except tomllib.TOMLDecodeError as exc:
        raise PackageError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(table) - set(FIELDS))
    if unknown:
        raise PackageError(
            f"{path}: [teams_app] has unknown keys {unknown}; it takes {sorted(FIELDS)}"
        )
    return {k: str(v) for k, v in table.items()}


def fill(manifest: dict, settings: dict[str, str]) -> dict:
    """The manifest with each given setting in its place, checked."""
    for key, value in settings.items():
        (*parents, leaf), longest = FIELDS[key]
        value = value.strip()
        if not value:
            continue
        if len(value) > longest:
            raise PackageError(f"{key} may be at most {longest} characters, not {len(value)}.")
        if key.endswith("_url") and not value.startswith("https://"):
            raise PackageError(f"{key} must be an https:// address, not '{value}'.")
        if key == "version" and not SEMVER.match(value):
            raise PackageError(f"version must look like 1.2.3 (major.minor.patch), not '{value}'.")
        node = manifest
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return manifest


def placeholders(manifest: dict) -> list[str]:
    """The manifest's fields that still point at example.org."""
    found = []
    for section in ("developer",):
        for key, value in (manifest.get(section) or {}).items():
            if isinstance(value, str) and EXAMPLE.search(value):
                found.append(f"{section}.{key} = {value}")
    return found


def build(
    app_id: str,
    out: Path,
    settings: dict[str, str] | None = None,
    *,
    publish: bool = False,
    warn=lambda message: print(message, file=sys.stderr),
) -> Path:
    if not GUID.match(app_id or ""):
        raise PackageError(
            f"The app id must be the Azure Bot's Microsoft App ID, a GUID like "
            f"00000000-0000-0000-0000-000000000000, not '{app_id}'."
        )
    text = (HERE / "manifest.json").read_text(encoding="utf-8").replace(PLACEHOLDER, app_id)
    if "{{" in text:
        raise PackageError("manifest.json still has a {{placeholder}} this script doesn't fill.")
    manifest = fill(json.loads(text), settings or {})
    left = placeholders(manifest)
    if left:
        what = "; ".join(left)
        if publish:
            raise PackageError(
                f"example.org placeholders remain ({what}). Give your own with --privacy-url, "
                "--terms-url and --website-url, or in the [teams_app] table of the config."
            )
        warn(
            f"teams/package.py: warning: example.org placeholders remain ({what}). Fine to try "
            "the app; set your own before publishing it to everyone (--publish checks)."
        )
    for name in ICONS:
        if not (HERE / name).is_file():
            raise PackageError(f"teams/{name} is missing; run: python teams/make_icons.py")
    if manifest["icons"] != {"color": ICONS[0], "outline": ICONS[1]}:
        raise PackageError("manifest.json must name color.png and outline.png as its icons.")
    out.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        entries = [("manifest.json", data)]
        entries += [(name, (HERE / name).read_bytes()) for name in ICONS]
        for name, payload in entries:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, payload)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Teams app package (a zip).")
    parser.add_argument(
        "--app-id",
        default=os.environ.get("MICROSOFT_APP_ID", ""),
        help="the Azure Bot's Microsoft App ID (default: $MICROSOFT_APP_ID)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the organisation file with a [teams_app] table (default: $LIAISON_CONFIG, "
        "else liaison.toml if it exists)",
    )
    for key in FIELDS:
        parser.add_argument(f"--{key.replace('_', '-')}", dest=key, default=None)
    parser.add_argument(
        "--publish",
        action="store_true",
        help="fail (instead of warning) while example.org placeholders remain",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "build" / "teams-app.zip",
        help="where to write the zip (default: build/teams-app.zip)",
    )
    args = parser.parse_args(argv)
    if not args.app_id:
        print(
            "teams/package.py: no app id. Pass --app-id <Microsoft App ID> or set "
            "MICROSOFT_APP_ID.",
            file=sys.stderr,
        )
        return 2
    config = args.config
    if config is None and os.environ.get("LIAISON_CONFIG"):
        config = Path(os.environ["LIAISON_CONFIG"])
    if config is None and Path("liaison.toml").is_file():
        config = Path("liaison.toml")
    try:
        if args.config is not None and not args.config.is_file():
            raise PackageError(f"the config file {args.config} does not exist")
        settings = {"version": project_version() or ""}
        settings.update(config_settings(config))
        settings.update({k: getattr(args, k) for k in FIELDS if getattr(args, k) is not None})
        out = build(args.app_id.strip(), args.out, settings, publish=args.publish)
    except PackageError as exc:
        print(f"teams/package.py: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
