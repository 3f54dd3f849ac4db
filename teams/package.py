"""Build the Teams app package to upload (sideload) into Teams: the manifest with your bot's
app id filled in, and the two icons, in one zip.

    python teams/package.py --app-id 00000000-0000-0000-0000-000000000000
    python teams/package.py                    # the app id from MICROSOFT_APP_ID

Writes build/teams-app.zip (or --out PATH). Standard library only; it reads no .env file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PLACEHOLDER = "{{MICROSOFT_APP_ID}}"
ICONS = ("color.png", "outline.png")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same input gives the same zip


class PackageError(Exception):
    pass


def build(app_id: str, out: Path) -> Path:
    if not GUID.match(app_id or ""):
        raise PackageError(
            f"The app id must be the Azure Bot's Microsoft App ID, a GUID like "
            f"00000000-0000-0000-0000-000000000000, not '{app_id}'."
        )
    text = (HERE / "manifest.json").read_text(encoding="utf-8").replace(PLACEHOLDER, app_id)
    if "{{" in text:
        raise PackageError("manifest.json still has a {{placeholder}} this script doesn't fill.")
    manifest = json.loads(text)
    for name in ICONS:
        if not (HERE / name).is_file():
            raise PackageError(f"teams/{name} is missing; run: python teams/make_icons.py")
    if manifest["icons"] != {"color": ICONS[0], "outline": ICONS[1]}:
        raise PackageError("manifest.json must name color.png and outline.png as its icons.")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        entries = [("manifest.json", text.encode("utf-8"))]
        entries += [(name, (HERE / name).read_bytes()) for name in ICONS]
        for name, data in entries:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            package.writestr(info, data)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Teams app package (a zip).")
    parser.add_argument(
        "--app-id",
        default=os.environ.get("MICROSOFT_APP_ID", ""),
        help="the Azure Bot's Microsoft App ID (default: $MICROSOFT_APP_ID)",
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
    try:
        out = build(args.app_id.strip(), args.out)
    except PackageError as exc:
        print(f"teams/package.py: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
