"""Signal detection by the learned model: its contract, who is speaking, the CLI body, its
quality on sets it never trained on, its cost, and learning from an organisation.

The model must load with no network, never raise, keep its excerpt within the privacy
limit, report every kind a message holds with a calibrated score, stay quiet when IT talks
about its own work or a guest speaks, and, after ``train``, stop offering what an
organisation keeps dismissing. Training runs here only on a tiny corpus (seconds).
"""

from __future__ import annotations

import io
import json
import socket
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import signals
from handlers.org import ConfigError, load_organisation
from handlers.signals import (
    EXCERPT_CHARS,
    Signal,
    SignalCues,
    Speaker,
    default_cues,
    detect,
    feedback,
    run_jsonl,
    train,
)
from handlers.signals import model as signal_model
from storage.db import session_scope

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "triggers-dev.jsonl"
CASES = Path(__file__).with_name("signal_cases.jsonl")
KINDS = set(default_cues())
IT = Speaker(is_it=True)


@pytest.fixture(autouse=True)
def _shipped_model():
    """Every test starts and ends with the shipped model and the default threshold."""
    signals.configure(None)
    yield
    signals.configure(None)


def load_cases(path: Path) -> list[tuple[str, str | None]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return [(row["text"], row["kind"]) for row in rows]


def figures(cases: list[tuple[str, str | None]]) -> tuple[float, float, float, list[str]]:
    """Precision, recall, kind accuracy over detected positives, and the mistakes."""
    tp = fp = fn = right_kind = 0
    mistakes = []
    for text, gold in cases:
        signal = detect(text)
        got = signal.kind if signal else None
        tp += bool(gold and got)
        fp += bool(got and not gold)
        fn += bool(gold and not got)
        right_kind += bool(gold and got == gold)
        if got != gold:
            mistakes.append(f"{gold} -> {got}: {text}")
    return tp / (tp + fp), tp / (tp + fn), right_kind / tp, mistakes


# --- loading ------------------------------------------------------------------------------


def test_the_shipped_model_loads_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    signal_model.shipped.cache_clear()
    model = signal_model.shipped()
    assert set(model.kinds) == KINDS
    signal = detect("We're buying 40 new laptops for the call centre next month")
    assert signal is not None and signal.kind == "hardware_purchase"


def test_a_model_file_round_trips_without_pickle(tmp_path: Path) -> None:
    model = signal_model.shipped()
    model.save(tmp_path / "copy.npz")
    copy = signal_model.load(tmp_path / "copy.npz")
    assert copy.kinds == model.kinds and copy.index == model.index
    assert np.array_equal(copy.weights, model.weights)
    text = "Payroll is switching to Gusto in January"
    assert copy.probabilities(text) == model.probabilities(text)


def test_an_unreadable_organisation_model_falls_back_to_the_shipped_one(tmp_path: Path) -> None:
    broken = tmp_path / "signal-model.npz"
    broken.write_bytes(b"not a model")
    signals.configure(broken)
    signal = detect("We're moving to the Elm Street building in May")
    assert signal is not None and signal.kind == "office_move"


def test_the_fast_path_scores_as_training_did() -> None:
    model = signal_model.shipped()
    for text in ["We're buying 40 laptops", "<@U1> lunch? :tada:", "soft-launching the app"]:
        fast = model.raw_text(text)
        slow = model.raw(signal_model.features(text))
        assert np.allclose(fast, slow, atol=1e-4), text


# --- what it finds ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("We're buying 40 new laptops for the auditors", "hardware_purchase"),
        ("Payroll is switching to Gusto in January", "software_purchase"),
        ("We are moving to the Elm Street building in May", "office_move"),
        ("We're hiring 12 nurses for the new wing in March", "staffing_change"),
        ("The customer portal goes live on the 1st", "event_or_launch"),
        ("We need to migrate ten years of case files into the new system", "data_project"),
    ],
)
def test_plans_are_signals_of_the_right_kind(text: str, kind: str) -> None:
    signal = detect(text)
    assert signal is not None and signal.kind == kind, text
    assert signal.kinds[0] == kind and 0.5 <= signal.score <= 0.99


@pytest.mark.parametrize(
    "text",
    [
        "haha nice",
        "can someone buy milk for the fridge?",
        "let's move the 3pm to Thursday",
        "we were going to buy 30 Chromebooks but the grant fell through",
        "IT will be replacing the core switches this weekend",
        "thanks everyone, see you at standup",
    ],
)
def test_chatter_retractions_and_it_announcements_are_not_signals(text: str) -> None:
    assert detect(text) is None, text


def test_a_message_with_two_initiatives_reports_both_kinds() -> None:
    signal = detect("We're buying a CRM and hiring 12 reps for it")
    assert signal is not None
    assert {"software_purchase", "staffing_change"} <= set(signal.kinds)
    assert signal.kind == signal.kinds[0]


def test_a_signal_explains_itself_within_the_privacy_limit() -> None:
    text = "We're   buying\t 40 new laptops\x00 for the auditors.\n" + "Lunch is at noon.\n" * 30
    signal = detect(text)
    assert signal is not None and signal.kind == "hardware_purchase"
    assert "buying" in signal.cues and "laptops" in signal.cues
    assert len(signal.excerpt) <= EXCERPT_CHARS and signal.excerpt.endswith("\u2026")
    assert signal.confidence == signal.score


def test_a_higher_threshold_offers_less() -> None:
    text = "thinking about a new CRM"
    score = max(signals.probabilities(text).values())
    assert 0.5 < score < 0.95  # a borderline message
    signal = detect(text, threshold=score - 0.01)
    assert signal is not None and signal.kind == "software_purchase"
    assert detect(text, threshold=score + 0.01) is None


# --- who is speaking ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "IT here: we're buying 40 new laptops for the help desk",
        "IT here - we're moving the data centre to the new building in May",
        "Helpdesk: new starters get their laptops on Monday",
        "We're replacing every laptop in Finance next month",
        "Rolling out the new VPN to everyone in March",
    ],
)
def test_it_staff_talking_about_its_own_work_is_not_a_signal(text: str) -> None:
    assert detect(text, speaker=IT) is None


def test_it_staff_relaying_a_business_plan_still_is() -> None:
    text = "Finance is buying 40 laptops for the auditors next month"
    signal = detect(text, speaker=IT)
    assert signal is not None and signal.kind == "hardware_purchase"


def test_the_same_words_from_a_business_user_are_a_signal() -> None:
    text = "We're replacing every laptop in Finance next month"
    assert detect(text, speaker=Speaker()) is not None
    assert detect(text) is not None


def test_an_external_user_gets_no_offer() -> None:
    text = "We're buying 40 new laptops for the auditors"
    assert detect(text, speaker=Speaker(external=True)) is None


def test_the_organisation_says_who_speaks_for_it(tmp_path: Path) -> None:
    config = tmp_path / "liaison.toml"
    config.write_text(
        """
[organisation]
admins = ["dana"]
[detection]
it_staff = ["raj"]
it_channels = ["#it-ops", "C0IT"]
threshold = 0.7
model = "models/org.npz"
[people.dana]
name = "Dana"
[people.raj]
name = "Raj"
[people.lee]
name = "Lee"
[people.kim]
name = "Kim"
[units.finance]
name = "Finance"
liaison = "kim"
lead = "lee"
""",
        encoding="utf-8",
    )
    org = load_organisation(config)
    assert org.is_it("dana") and org.is_it("@Raj") and org.is_it("kim")
    assert not org.is_it("lee")
    assert org.is_it("lee", "#IT-ops") and org.is_it(None, "C0IT")
    assert org.detection.threshold == 0.7
    assert org.model_path() == tmp_path / "models" / "org.npz"


def test_an_unknown_it_staff_handle_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "liaison.toml"
    config.write_text('[detection]\nit_staff = ["ghost"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="it_staff"):
        load_organisation(config)


# --- the `liaison-bot detect` body --------------------------------------------------------


def test_run_jsonl_answers_every_line_in_order_with_kinds_and_score() -> None:
    lines = [
        '{"id": 7, "text": "We\'re buying a CRM and hiring 12 reps for it"}\n',
        "\n",
        "not json\n",
        '{"id": "b", "text": 5}\n',
        '{"id": "c"}\n',
        '["text"]\n',
        '{"text": "haha nice"}\n',
        '{"text": "IT here: we\'re buying 40 laptops", "it": true}\n',
    ]
    out = io.StringIO()
    assert run_jsonl(lines, out) == len(lines)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(results) == len(lines)
    first = results[0]
    assert first["id"] == 7 and first["kind"] == first["kinds"][0]
    assert {"software_purchase", "staffing_change"} <= set(first["kinds"])
    assert 0.5 <= first["score"] <= 0.99 and first["confidence"] == first["score"]
    assert first["cues"]
    for result in results[1:6]:
        assert result["kind"] is None and result["error"].endswith(".")
    assert "blank" in results[1]["error"] and "JSON" in results[2]["error"]
    assert results[3]["id"] == "b" and results[4]["id"] == "c"
    chatter = results[6]
    assert chatter["kind"] is None and chatter["kinds"] == [] and chatter["score"] < 0.5
    assert results[7]["kind"] is None


MESSAGES = st.one_of(
    st.text(),
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    *["<@U123ABC>", "<https://example.com/x|Elm Street>", ":tada:", "\x00"],
                    *["\n", "we're buying", "laptops", "moving", "not", "IT here:", "\u2014"],
                ]
            ),
            st.text(max_size=6),
        ),
        max_size=30,
    ).map(" ".join),
)


@settings(max_examples=150, deadline=None)
@given(MESSAGES, st.booleans())
def test_detect_never_raises_and_keeps_its_contract(text: str, it: bool) -> None:
    signal = detect(text, speaker=Speaker(is_it=it))
    assert signal == detect(text, speaker=Speaker(is_it=it))
    if signal is not None:
        assert set(signal.kinds) <= KINDS and signal.kind == signal.kinds[0]
        assert 0.0 < signal.score <= 0.99
        assert len(signal.excerpt) <= EXCERPT_CHARS
        assert not any(char in signal.excerpt for char in "\n\t\x00")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.text(), MESSAGES.map(lambda t: json.dumps({"text": t})))))
def test_run_jsonl_never_raises_and_answers_each_line(lines: list[str]) -> None:
    out = io.StringIO()
    assert run_jsonl(lines, out) == len(lines)
    answers = out.getvalue().splitlines()
    assert len(answers) == len(lines)
    assert all("kind" in json.loads(answer) for answer in answers)


@given(st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2003\u3000", max_size=40))
def test_blank_messages_are_never_signals(text: str) -> None:
    assert detect(text) is None


# --- quality on sets the model never saw --------------------------------------------------
# Regression guards at the figures measured (README, `make eval`), with a small margin.


def test_held_out_cases_bar() -> None:
    precision, recall, kind_accuracy, mistakes = figures(load_cases(CASES))
    assert precision >= 0.88, mistakes
    assert recall >= 0.72, mistakes
    assert kind_accuracy >= 0.95, mistakes


def test_dev_corpus_bar() -> None:
    if not CORPUS.exists():
        pytest.skip(f"dev corpus not found at {CORPUS} (it lives beside the repository)")
    precision, recall, kind_accuracy, mistakes = figures(load_cases(CORPUS))
    assert precision >= 0.92, mistakes
    assert recall >= 0.80, mistakes
    assert kind_accuracy >= 0.95, mistakes


# --- cost ---------------------------------------------------------------------------------


def test_detection_is_cheap_enough_for_every_message() -> None:
    texts = [text for text, _ in load_cases(CASES)]
    for text in texts[:50]:
        detect(text)
    start = time.perf_counter()
    for text in texts:
        detect(text)
    assert (time.perf_counter() - start) / len(texts) < 0.002
    long = ("We're buying 40 laptops for the new team. " * 1000)[:40_000]
    start = time.perf_counter()
    assert detect(long) is not None
    assert time.perf_counter() - start < 0.1


# --- learning from the organisation -------------------------------------------------------

TINY = 240  # corpus rows for the tests' training: seconds, not minutes
GRANT_EXAMPLES = [
    "We're applying for the state arts grant, deadline in March",
    "Submitting the NSF grant proposal next month",
    "we need to put in the foundation grant application by Friday",
    "Grant application for the library renovation goes in next week",
    "applying for a federal grant for the new playground",
    "we're writing a grant proposal to the Gates Foundation",
    "Our team is preparing a grant application for the food program",
    "the grant application to the county is due on the 15th",
    "we plan to apply for the heritage lottery grant this spring",
    "submitting two grant applications before the end of the quarter",
    "We're going after the EU research grant again this year",
    "the youth program will apply for a community grant in June",
    "drafting the grant proposal for the clinic expansion",
    "Applying to the Wellcome Trust for a research grant",
    "we are putting together a big grant bid for the arts council",
    "new grant application: digital skills fund, due next month",
    "We'll submit the grant application for the solar panels in May",
    "preparing our application for the city's small business grant",
    "the school is applying for a technology grant this fall",
    "Finance wants to apply for the energy efficiency grant",
]


def tiny_corpus() -> list[dict]:
    rows = train.shipped_corpus()
    return [row for row in rows if row["split"] == "train"][:TINY] + [
        row for row in rows if row["split"] == "valid"
    ][:80]


def test_training_is_deterministic() -> None:
    rows = tiny_corpus()
    first = train.fit(train.examples(rows, "train"), train.examples(rows, "valid"), epochs=20)
    second = train.fit(train.examples(rows, "train"), train.examples(rows, "valid"), epochs=20)
    assert first.index == second.index
    assert np.array_equal(first.weights, second.weights)
    assert np.array_equal(first.platt, second.platt)


def test_answers_to_offers_are_kept_as_excerpts(engine, clock) -> None:
    text = "We're moving the spare chairs to the back office " + "and more " * 60
    with session_scope(engine) as session:
        feedback.record_label(session, text, "office_move", feedback.NOT_IT, clock())
        feedback.record_label(
            session, "We're buying 40 laptops", "hardware_purchase", "plan", clock()
        )
    with session_scope(engine) as session:
        kept = feedback.labels(session)
        assert [label.answer for label in kept] == ["not_it", "plan"]
        assert all(len(label.excerpt) <= EXCERPT_CHARS for label in kept)
        examples = feedback.label_examples(kept)
    assert examples[0].kinds == () and examples[1].kinds == ("hardware_purchase",)
    with session_scope(engine) as session, pytest.raises(ValueError, match="answer"):
        feedback.record_label(session, text, "office_move", "maybe", clock())


def test_a_dismissed_message_stops_firing_for_that_organisation_after_train(
    tmp_path: Path,
) -> None:
    dismissed = "please move the spare chairs to the back office"
    before = detect(dismissed)
    assert before is not None and before.kind == "office_move"  # the shipped model's mistake
    own = [train.Example(dismissed, (), feedback.LABEL_WEIGHT)]
    out = tmp_path / "signal-model.npz"
    feedback.train_organisation(out, default_cues(), own, corpus=tiny_corpus(), epochs=150)
    signals.configure(out)
    assert detect(dismissed) is None
    signals.configure(None)  # other organisations keep the shipped model
    assert detect(dismissed) is not None


def test_an_organisation_teaches_a_new_kind_with_twenty_examples(tmp_path: Path) -> None:
    cues = default_cues()
    cues["grant_application"] = SignalCues(objects=("grant",), examples=tuple(GRANT_EXAMPLES))
    out = tmp_path / "signal-model.npz"
    model = feedback.train_organisation(out, cues, corpus=tiny_corpus(), epochs=150)
    assert "grant_application" in model.kinds
    signals.configure(out)
    signal = detect("we're applying for a state grant to fund the new playground", cues)
    assert signal is not None and signal.kind == "grant_application"


def test_playbook_examples_are_checked_like_other_cues() -> None:
    with pytest.raises(ValueError, match="examples"):
        SignalCues.from_table({"objects": ["grant"], "examples": "not a list"})
    cues = SignalCues.from_table({"objects": ["grant"], "examples": ["  a   b  ", ""]})
    assert cues.examples == ("a b",)


def test_signal_keeps_its_old_constructor() -> None:
    signal = Signal("office_move", ("moving",), 0.8, "We're moving")
    assert signal.kinds == ("office_move",) and signal.score == 0.8


# --- the shipped data ---------------------------------------------------------------------


def test_the_shipped_corpus_is_well_formed_and_mostly_hard_negatives() -> None:
    rows = train.shipped_corpus()
    assert len(rows) >= 5000
    assert {row["split"] for row in rows} == {"train", "valid", "test"}
    for row in rows:
        assert row["text"].strip() and set(row["kinds"]) <= KINDS
        assert row["form"] and row["group"] and row["domain"]
    negatives = [row for row in rows if not row["kinds"]]
    hard = [row for row in negatives if row["group"] != "chatter"]
    assert len(hard) >= len(negatives) / 2
    assert any(len(row["kinds"]) == 2 for row in rows)


def test_make_train_never_sees_the_frozen_test_split(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[str] = []

    def fake_fit(trained, calibrated, *args, **kwargs):
        seen.extend(example.text for example in [*trained, *calibrated])
        return signal_model.shipped()

    monkeypatch.setattr(train, "fit", fake_fit)
    train.train_shipped(tmp_path / "model.npz")
    frozen = {row["text"] for row in train.shipped_corpus() if row["split"] == "test"}
    assert seen and frozen
    assert frozen.isdisjoint(seen)
