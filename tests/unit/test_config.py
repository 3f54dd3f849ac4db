"""Settings, the organisation TOML and the playbooks: good defaults, and located errors."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, load_settings
from handlers.org import ConfigError, load_organisation
from handlers.playbooks import BUILT_IN_KINDS, load_catalogue


def test_the_example_organisation_loads(org):
    assert set(org.units) == {"finance", "parks"}
    assert org.units["finance"].liaison == "sam"
    assert org.unit_for_channel("#finance") == "finance"
    assert org.unit_for_channel("C0FINANCE1") == "finance"
    assert org.unit_for_channel("#random") is None
    assert org.unit_timezone("parks") == "America/Denver"
    assert org.unit_timezone("finance") == "America/Chicago"
    assert org.business_days == (0, 1, 2, 3, 4)


def test_a_missing_file_means_the_defaults(tmp_path):
    org = load_organisation(tmp_path / "absent.toml")
    assert org.units == {} and org.thresholds.stale_days == 7


def _write(tmp_path, text):
    path = tmp_path / "liaison.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[organisation]\nname = 'X'\ntimezone = 'Mars/Olympus'\n", 3, "not a time zone"),
        ("[units.finance]\nname = 'Finance'\nliaison = 'ghost'\n", 3, "'ghost' is not in [people]"),
        ("[units.finance]\nname = 'Finance'\ncycle_months = [3, 13]\n", 3, "between 1 and 12"),
        ("[thresholds]\nstale_days = 'a week'\n", 2, "valid integer"),
        ("[thresholds]\nstale_dayz = 7\n", 2, "unknown setting 'stale_dayz'"),
        ("[units.finance]\nlead = 'pat'\n\n[people.pat]\n", 1, "'name' is required"),
        ("[organisation\nname = 'X'\n", 1, "not valid TOML"),
        ("[organisation]\nbusiness_days = ['mon', 'funday']\n", 2, "business days"),
    ],
)
def test_a_bad_config_names_the_file_the_line_and_the_problem(tmp_path, text, line, words):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_organisation(path)
    assert error.value.source == str(path)
    assert error.value.line == line
    assert words in str(error.value)
    assert str(error.value).startswith(f"{path}, line {line}: ")


def test_all_six_kinds_ship_with_roles_questions_and_cues():
    catalogue = load_catalogue()
    assert list(catalogue)[:6] == list(BUILT_IN_KINDS)
    move = catalogue["office_move"]
    titles = " ".join(r.title.lower() for r in move.roles)
    assert "network" in titles and "phones" in titles and "internet circuit" in titles
    assert all(pb.roles and pb.questions and pb.cues for pb in catalogue.values())
    software = " ".join(r.title.lower() for r in catalogue["software_purchase"].roles)
    for role in ("security", "single sign-on", "contract", "helpdesk"):
        assert role in software


def test_an_organisation_can_override_a_field_and_add_a_kind(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "grant.toml").write_text(
        'kind = "grant_application"\ntitle = "Grant application"\n'
        '[[roles]]\nkey = "budget_it"\ntitle = "IT budget lines"\n'
    )
    path = _write(
        tmp_path,
        '[organisation]\nplaybook_dir = "playbooks"\n'
        '[playbooks.office_move]\noffer = "Network, phones and badges, mostly."\n',
    )
    catalogue = load_catalogue(load_organisation(path))
    assert catalogue["office_move"].offer == "Network, phones and badges, mostly."
    assert catalogue["office_move"].roles  # untouched fields are kept
    assert catalogue["grant_application"].roles[0].title == "IT budget lines"
    assert list(catalogue)[-1] == "grant_application"


def test_a_bad_playbook_fails_with_its_file_and_line(tmp_path):
    folder = tmp_path / "playbooks"
    folder.mkdir()
    bad = folder / "broken.toml"
    bad.write_text(
        'kind = "broken"\ntitle = "Broken"\n\n[[roles]]\nkey = "x"\ntitle = "X"\n'
        'responsible = "accounts"\n'
    )
    path = _write(tmp_path, '[organisation]\nplaybook_dir = "playbooks"\n')
    with pytest.raises(ConfigError) as error:
        load_catalogue(load_organisation(path))
    assert error.value.source == str(bad)
    assert error.value.line == 7
    assert "'accounts' is not a party" in str(error.value)


def test_settings_defaults_and_dotenv(tmp_path):
    settings = load_settings({}, dotenv_path=None)
    assert settings.database_url == "sqlite:///./liaison.db"
    assert settings.port == 3000 and settings.channels() == []
    env = tmp_path / ".env"
    env.write_text("PORT=4000\nDATABASE_URL=sqlite:///from-dotenv.db\n")
    settings = load_settings({"PORT": "5000"}, dotenv_path=env)
    assert settings.port == 5000  # the real environment wins
    assert settings.database_url == "sqlite:///from-dotenv.db"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "nope"}, "SLACK_APP_TOKEN"),
        ({"MICROSOFT_APP_ID": "id"}, "MICROSOFT_APP_PASSWORD"),
        ({"PORT": "eighty"}, "PORT"),
        ({"ADMIN_PORT": "99999"}, "ADMIN_PORT"),
        ({"ADMIN_PORT": "3000"}, "ADMIN_PORT"),
        # SingleTenant is the default, as Azure creates no new multi-tenant bots.
        ({"MICROSOFT_APP_ID": "id", "MICROSOFT_APP_PASSWORD": "pw"}, "MICROSOFT_APP_TENANT_ID"),
    ],
)
def test_half_filled_settings_name_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env, dotenv_path=None)


def test_a_tenant_id_that_the_app_type_would_ignore_refuses_to_start():
    env = {"MICROSOFT_APP_ID": "id", "MICROSOFT_APP_PASSWORD": "pw"}
    env |= {"MICROSOFT_APP_TENANT_ID": "t1", "MICROSOFT_APP_TYPE": "MultiTenant"}
    with pytest.raises(SettingsError, match="would accept every tenant"):
        load_settings(env, dotenv_path=None)
    env["MICROSOFT_APP_TYPE"] = "SingleTenant"
    assert load_settings(env, dotenv_path=None).microsoft_app_tenant_id == "t1"


def test_the_teams_endpoint_is_off_unless_teams_or_the_emulator_is_configured():
    assert not load_settings({}, dotenv_path=None).serves_teams
    assert not load_settings({"TEAMS_EMULATOR": "no"}, dotenv_path=None).serves_teams
    assert load_settings({"TEAMS_EMULATOR": "1"}, dotenv_path=None).serves_teams
    env = {"MICROSOFT_APP_ID": "id", "MICROSOFT_APP_PASSWORD": "pw", "MICROSOFT_APP_TENANT_ID": "t"}
    assert load_settings(env, dotenv_path=None).serves_teams


def test_the_admin_token_is_a_secret_kept_out_of_logs():
    settings = load_settings(
        {"ADMIN_TOKEN": "s3cret-admin", "ADMIN_PORT": "9100"}, dotenv_path=None
    )
    assert "s3cret-admin" in settings.secrets() and settings.admin_port == 9100


def test_a_config_file_named_on_purpose_must_exist(tmp_path):
    missing = tmp_path / "liaison.tmol"
    with pytest.raises(SettingsError, match=f"LIAISON_CONFIG names {missing}, which does not"):
        load_settings({"LIAISON_CONFIG": str(missing)}, dotenv_path=None)
    assert load_settings({}, dotenv_path=None).config_path == "./liaison.toml"  # may be absent


def test_client_state_is_signed_with_its_own_secret_or_one_each_replica_shares():
    env = {"SLACK_BOT_TOKEN": "xoxb-fake", "SLACK_SIGNING_SECRET": "signing"}
    assert load_settings(env, dotenv_path=None).state_signing_secret() == "signing"
    own = load_settings({**env, "LIAISON_STATE_SECRET": "own"}, dotenv_path=None)
    assert own.state_signing_secret() == "own" and "own" in own.secrets()
    teams = {
        "MICROSOFT_APP_ID": "app",
        "MICROSOFT_APP_PASSWORD": "pw",
        "MICROSOFT_APP_TENANT_ID": "t",
    }
    assert load_settings(teams, dotenv_path=None).state_signing_secret() == "pw"
    assert load_settings({}, dotenv_path=None).state_signing_secret() is None


OAUTH = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "oauth-secret"}


def test_slack_client_credentials_turn_on_multi_workspace_mode():
    settings = load_settings({**OAUTH, "SLACK_SIGNING_SECRET": "s"}, dotenv_path=None)
    assert settings.slack_multi_workspace and settings.channels() == ["slack"]
    assert "oauth-secret" in settings.secrets()
    single = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, dotenv_path=None
    )
    assert single.has_slack and not single.slack_multi_workspace


@pytest.mark.parametrize(
    ("env", "words"),
    [
        (
            {"SLACK_CLIENT_ID": "1111.2222", "SLACK_SIGNING_SECRET": "s"},
            "SLACK_CLIENT_SECRET is missing",
        ),
        ({"SLACK_CLIENT_SECRET": "x", "SLACK_SIGNING_SECRET": "s"}, "SLACK_CLIENT_ID is missing"),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "Choose one mode"),
        (OAUTH, "SLACK_SIGNING_SECRET is missing"),
    ],
)
def test_half_filled_oauth_settings_say_what_to_do(env, words):
    with pytest.raises(SettingsError, match=words):
        load_settings(env, dotenv_path=None)


def test_multi_workspace_in_socket_mode_needs_no_signing_secret():
    settings = load_settings({**OAUTH, "SLACK_APP_TOKEN": "xapp-1-A0-1-x"}, dotenv_path=None)
    assert settings.slack_multi_workspace and settings.slack_signing_secret is None
