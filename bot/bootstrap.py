"""Builds the object graph once: settings -> engine -> organisation -> playbooks -> core."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.config import Settings
from handlers.core import Liaison
from handlers.org import Organisation, load_organisation
from handlers.playbooks import Catalogue, load_catalogue
from storage.db import make_engine, upgrade
from storage.models import utcnow


@dataclass
class App:
    settings: Settings
    engine: Engine
    org: Organisation
    catalogue: Catalogue
    liaison: Liaison


def bootstrap(
    settings: Settings, *, migrate: bool = True, clock: Callable[[], dt.datetime] = utcnow
) -> App:
    """Load the config and playbooks (failing early on mistakes), migrate, sync the units."""
    org = load_organisation(settings.config_path)
    catalogue = load_catalogue(org)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    liaison = Liaison(engine=engine, org=org, catalogue=catalogue, clock=clock)
    if migrate:
        liaison.sync()
    return App(settings, engine, org, catalogue, liaison)
