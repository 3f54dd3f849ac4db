"""The OAuth tables the migrations create are the ones slack_sdk's SQLAlchemy stores use."""

from __future__ import annotations

import pytest
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table

from storage.slack_installations import SlackBots, SlackInstallations, SlackOAuthStates


def shape(table: Table) -> dict:
    columns = {
        c.name: (type(c.type).__name__, getattr(c.type, "length", None), c.nullable)
        for c in table.columns
    }
    indexes = {i.name: [c.name for c in i.columns] for i in table.indexes}
    return {"name": table.name, "columns": columns, "indexes": indexes}


@pytest.mark.parametrize(
    ("ours", "build"),
    [
        (SlackInstallations, SQLAlchemyInstallationStore.build_installations_table),
        (SlackBots, SQLAlchemyInstallationStore.build_bots_table),
    ],
)
def test_the_installation_tables_are_slack_sdks(ours, build) -> None:
    assert shape(ours) == shape(build(MetaData(), ours.name))


def test_the_state_table_is_slack_sdks() -> None:
    theirs = SQLAlchemyOAuthStateStore.build_oauth_states_table(MetaData(), SlackOAuthStates.name)
    assert shape(SlackOAuthStates) == shape(theirs)
