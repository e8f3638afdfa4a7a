"""The attribution convention of docs/attribution.md: each carry-over, its recorded reason and span, and the
policy switches that turn each one off."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from audit.errors import ConfigError
from audit.extract import ExtractOptions, extract_seed
from audit.extract.number_fact import NumberFact
from audit.extract.number_policy import CARRY_KINDS, NumberPolicy
from audit.extract.numbers import default_policy_path, find_numbers, load_policy
from audit.extract.segments import Segment
from audit.ingest import decode_seed
from audit.records import Extraction, Seed

POLICY = load_policy(default_policy_path())


def _facts(text: str, policy: NumberPolicy = POLICY) -> dict[str, NumberFact]:
    """The facts of a story whose paragraphs are its lines, by text (each figure occurs once)."""
    segs, pos = [], 0
    for line in text.split("\n"):
        if line:
            segs.append(Segment(pos, pos + len(line), "body"))
        pos += len(line) + 1
    facts = find_numbers(text, segs, policy=policy)
    return {f.text: f for f in facts}


def _without(kind: str) -> NumberPolicy:
    return dataclasses.replace(POLICY, carry_over=CARRY_KINDS - {kind})


def _named(text: str, f: NumberFact) -> str:
    assert f.source_named_start is not None and f.source_named_end is not None
    return text[f.source_named_start : f.source_named_end]


def test_same_sentence_cue_carries_nothing() -> None:
    """A cue in the figure's own sentence credits it directly, with no carry-over reason."""
    f = _facts("Prices rose 4 percent, Autodata said.")["4 percent"]
    assert (f.attribution_kind, f.source, f.carried_by) == ("explicit", "Autodata", ())


@pytest.mark.parametrize(
    ("text", "needle", "source"),
    [
        # an aside between the subject and its verb, with nothing to read after the verb
        ("Rep. Chris Collins, R-NY, says Trump receives 1,265 delegates.", "1,265", "Rep. Chris Collins"),
        ("Cement makers, for instance, argue that imports grew to 40 percent.", "40 percent", "Cement makers"),
        ("A Twitter spokesman, Christopher Abboud, said there were one million tweets.", "one million", "A Twitter spokesman"),
        # an aside, then an auxiliary before the verb
        ("The Rhodium Group, a consulting firm, has calculated that emissions fall 23 percent.", "23 percent", "The Rhodium Group"),
        # a possessive determiner opens a noun phrase: 'her friend', not the pronoun 'her'
        ("Hamdy paid $300 for the ticket, her friend said.", "$300", "her friend"),
        # a document noun that is the whole subject is kept
        ("The aircraft was insured at a value of $35 million, records show.", "$35 million", "records"),
        # 'according to X' ends at a dash and drops 'at the time'
        ("The plan would raise $1.1 trillion, according to the Tax Policy Center - half a point of GDP.", "$1.1 trillion", "the Tax Policy Center"),
        ("Cruz had 23% support, according to polls at the time.", "23%", "polls"),
        # a relative pronoun stands for the name before its comma
        ("Clinton, who announced a $275 billion plan on Monday, will focus on jobs.", "$275 billion", "Clinton"),
        ('"We chase requests," said Borges, who predicted about one-third of the vote.', "one-third", "Borges"),
        # an aside and an auxiliary, then a clause the verb reports
        ("Rival Hillary Clinton, however, has indicated she would not go above a $12 wage.", "$12", "Rival Hillary Clinton"),
        # a document noun phrase that names no one else stays whole
        ("A company gave $5,000 to the PAC, campaign finance records show.", "$5,000", "campaign finance records"),
        # an ambiguous word followed by a clause is a reporting verb
        ("Trump claims he's worth $10 billion.", "$10 billion", "Trump"),
        # an ambiguous word that ends the sentence, or follows a name, reports
        ("''But this is just one example of $40 million wasted,'' she added.", "$40 million", "she"),
        ("Bloomberg estimates his fortune at about $42 billion.", "$42 billion", "Bloomberg"),
        ("For example, Schweizer notes the foundation hid four donations.", "four", "Schweizer"),
        ("“It was 50 percent more than her show,” Trump added to People.", "50 percent", "Trump"),
        # '..., saying ...' reports for the sentence's subject
        ("Podesta repeated that approach last week, saying Clinton backed a 40-state strategy.", "40", "Podesta"),
        ("He ended the call, adding that $2 million had been spent.", "$2 million", "He"),
        # a name, a colon and the quotation it opens
        ("Pollsters agree - Carl Bialik: “The success of two pollsters was no accident.”", "two", "Carl Bialik"),
    ],
)
def test_same_sentence_cue_behind_an_aside_or_a_tail(text: str, needle: str, source: str) -> None:
    """Same-sentence cues the subject finder used to miss (PolNeAR train misses)."""
    f = _facts(text)[needle]
    assert (f.attribution_kind, f.source, f.carried_by) == ("explicit", source, ())


@pytest.mark.parametrize(
    ("text", "needle", "source"),
    [
        # the document noun is the phrase's head: kept whole, not cut to 'the results of a'
        ("According to the results of a survey, 8 percent of voters feel down.", "8 percent", "the results of a survey"),
        ("According to the results of the survey, 6 percent of voters feel down.", "6 percent", "the results of the survey"),
        # whose work it is comes before the noun: the source is the party
        ("According to the agency's data, 9 percent of voters feel down.", "9 percent", "the agency"),
        ("According to Labor Department figures, 7 percent of workers quit.", "7 percent", "Labor Department"),
    ],
)
def test_a_document_noun_is_cut_off_only_after_its_owner(text: str, needle: str, source: str) -> None:
    """'X's data', 'X figures': X is the source; 'the results of a survey' is a source as it stands."""
    f = _facts(text)[needle]
    assert (f.attribution_kind, f.source) == ("explicit", source)


@pytest.mark.parametrize(
    "text",
    [
        "More than six in 10 said they were worried; 46 percent said they were unenthusiastic.",
        "Another eight states, with 83 votes, have split control.",
        "Anderson Cooper 360 was the only show that included close to 50% women, the study found.",
        "The estimates put the cost at $40 million.",
        "Nobody opposed him, and he was confirmed 92 to 0.",
        "The foundation did not want to pay $35 to the group.",
        "Mourners were offered two types of stamps.",
    ],
)
def test_a_count_or_a_clause_is_not_a_source(text: str) -> None:
    """'More than six', 'Another eight' are counts; 'Anderson Cooper 360 was the' is a clause; 'Nobody', a
    negated subject and a passive's subject are no party: none is named."""
    for f in _facts(text).values():
        assert f.source is None or not f.source.startswith(("More than", "Another", "Anderson", "Nobody", "The foundation", "Mourners")), f


def test_a_full_stop_after_a_figure_ends_the_sentence() -> None:
    """'... from March 1-8. Sanders received 69 percent': two sentences, so the party's cue stays in its own."""
    facts = _facts("The party says 34,570 citizens voted from March 1-8. Sanders received 69 percent.")
    assert facts["34,570"].source == "The party"
    assert facts["69 percent"].attribution_kind == "contextual"  # carried, not read as the same sentence


def test_text_before_a_subject_with_its_own_content_is_not_reported() -> None:
    """'In one moment, Sanders declared that ...': the intro is the reporter's; '..., the agency said.' is not."""
    assert _facts("In one moment after the vote, Sanders declared that he would stay.")["one"].source is None
    assert _facts("About 40 percent of voters were angry, the agency said.")["40 percent"].source == "the agency"


def test_closing_attribution_covers_the_paragraph() -> None:
    """'Prices rose 4 percent. Trucks averaged $41,200 and sedans $29,900, according to Autodata.': all three."""
    text = "Prices rose 4 percent. Trucks averaged $41,200 and sedans $29,900, according to Autodata."
    facts = _facts(text)
    assert {k: (f.source, f.carried_by) for k, f in facts.items()} == {
        "4 percent": ("Autodata", ("paragraph",)),
        "$41,200": ("Autodata", ()),
        "$29,900": ("Autodata", ()),
    }
    assert _named(text, facts["4 percent"]) == "Autodata"


def test_opening_attribution_covers_the_paragraph() -> None:
    """An attribution opening the paragraph covers its later figures."""
    f = _facts("Autodata said prices rose 4 percent last year. Trucks averaged $41,200.")["$41,200"]
    assert (f.source, f.carried_by, f.attribution_kind) == ("Autodata", ("paragraph",), "contextual")


def test_another_source_in_between_stops_the_paragraph_scope() -> None:
    """A second source named between the opening attribution and the figure ends the first one's scope."""
    text = "Autodata said prices rose 4 percent. Dealers said sales fell 3 percent. Trucks averaged $41,200."
    assert _facts(text)["$41,200"].attribution_kind == "none"


def test_multi_sentence_quote_belongs_to_its_speaker() -> None:
    """A figure in a quotation of several sentences belongs to the speaker named after it."""
    text = "“We lost 40 percent of them. It’s the worst year we’ve had,” said Ana Ruiz, the clinic’s director."
    f = _facts(text)["40 percent"]
    assert (f.source, f.carried_by) == ("Ana Ruiz", ("quote",))
    assert _named(text, f) == "Ana Ruiz"


def test_quote_running_over_paragraphs_belongs_to_its_speaker() -> None:
    """A paragraph that opens a quotation and names no one continues the previous speaker's quote."""
    text = "“Clinics are closing,” said Ana Ruiz, the clinic’s director.\n“We need 300 more nurses by June.”"
    f = _facts(text)["300"]
    assert (f.source, f.carried_by) == ("Ana Ruiz", ("quote",))


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("The debate opened on taxes.\nMATTHEWS: Rates rose 40 percent in a decade.", "MATTHEWS"),
        ("Cruz continued:\n“You look at the 12 candidates and ask who can win.”", "Cruz"),
        ("Transcript as follows:\nWe have lost 350,000 jobs in this state.", "Transcript as follows"),
    ],
)
def test_transcript_speaker_and_colon_introduction(text: str, speaker: str) -> None:
    """A transcript's speaker label, or a paragraph ending in a colon, credits the quoted paragraph."""
    (f,) = [f for f in _facts(text).values() if f.requires_attribution]
    assert (f.source, f.carried_by) == (speaker, ("quote",))


def test_doubled_apostrophe_quotes() -> None:
    """Quotations marked with doubled apostrophes (''...'') are read like curly ones, across sentences."""
    text = "''It costs $100,000 a month,'' said Paul Chipok, a lawyer. ''You might spend $20 million to build one.''"
    facts = _facts(text)
    assert (facts["$100,000"].source, facts["$100,000"].carried_by) == ("Paul Chipok", ())
    assert (facts["$20 million"].source, facts["$20 million"].carried_by) == ("Paul Chipok", ("quote",))


def test_list_entry_is_not_a_speaker_label() -> None:
    """'Elizabeth A. Burton: ... held in lieu of $70,000 bond' is a list entry, not a transcript."""
    text = "Elizabeth A. Burton: Possession of a controlled substance, held in lieu of $70,000 bond."
    assert _facts(text)["$70,000"].attribution_kind == "none"


def test_cue_inside_a_quotation_is_not_the_source() -> None:
    """'I said, ...' inside a quoted speech is the speaker's words; the figure belongs to the speaker."""
    text = "“I told them they would lose. We lost 40 percent of the vote,” Ruiz said."
    assert _facts(text)["40 percent"].source == "Ruiz"


def test_study_scope_runs_over_sentences_and_paragraphs() -> None:
    """Figures summarising a study named earlier belong to it, in later sentences and paragraphs."""
    text = (
        "Researchers analysed 12,000 patient records from 40 hospitals.\n"
        "Of those patients, 40 percent were over 65.\n"
        "Readmissions fell 7 percent after the change."
    )
    facts = _facts(text)
    assert facts["12,000"].carried_by == ("study",) and facts["12,000"].source == "Researchers"
    assert (facts["40 percent"].source, facts["40 percent"].carried_by) == ("Researchers", ("study",))
    assert (facts["7 percent"].source, facts["7 percent"].carried_by) == ("Researchers", ("study",))


def test_study_scope_ends_at_another_source() -> None:
    """A source named after the study ends the study's scope."""
    text = (
        "A Pew survey found 40 percent of adults read news daily.\n"
        "Dealers said sales fell sharply.\n"
        "Trucks averaged $41,200."
    )
    assert _facts(text)["$41,200"].attribution_kind == "none"


def test_sentence_framed_by_a_poll() -> None:
    """'In the new Post-ABC poll, ...' credits the sentence's figures to the poll."""
    f = _facts("In the new Post-ABC poll, Smith wins about 31 percent of voters.")["31 percent"]
    assert (f.source, f.carried_by) == ("the new Post-ABC poll", ("study",))


@pytest.mark.parametrize(
    ("text", "needle", "poll"),
    [
        ("Clinton held a 24-point lead among black voters in a CNN national poll.", "24", "a CNN national poll"),
        ("He fell to 10 percent in the latest CNN/ORC poll released Wednesday.", "10 percent", "the latest CNN/ORC poll"),
        ("Four candidates are near 12 percent in New Hampshire surveys.", "12 percent", "New Hampshire surveys"),
        ("Trump leads by 9 percentage points in the RealClearPolitics average of recent polls.", "9 percentage points", "the RealClearPolitics average of recent polls"),
        ("In an ABC News/Washington Post Poll released Sunday, three of four disapproved.", "three", "an ABC News/Washington Post Poll"),
    ],
)
def test_a_poll_named_in_the_sentence_credits_it(text: str, needle: str, poll: str) -> None:
    """'... in a CNN national poll': the poll the figure's own sentence names is its source."""
    f = _facts(text)[needle]
    assert (f.source, f.carried_by) == (poll, ("study",))


def test_a_poll_named_in_passing_does_not_carry() -> None:
    """A poll named in passing credits its own sentence; the next sentence's figure stays unsourced, and
    an unnamed 'in polls' credits nothing."""
    facts = _facts("Smith had 31 percent in a CNN poll. Jones spent $4 million on ads. Lee rose to 5 percent in polls.")
    assert facts["31 percent"].source == "a CNN poll"
    assert facts["$4 million"].source is None
    assert facts["5 percent"].source is None


def test_survey_named_after_a_comma_frames_the_sentence() -> None:
    """'..., in the survey, ...' credits the sentence's figures; 'X wrote in a report' does not make a study."""
    f = _facts("Smith leads among men by 8 points, in the survey, taken in July.")["8"]
    assert (f.source, f.carried_by) == ("the survey", ("study",))
    text = "Sales rose 3%, Fadem wrote in a research report.\nThe stock fell 2% on Monday."
    assert _facts(text)["2%"].attribution_kind == "none"


def test_pronoun_reference_records_named_entity_and_reference_span() -> None:
    """'She said ...': the source is the person named earlier; source span is 'She', named span the name."""
    text = "Ana Ruiz runs the clinic on Main Street. She said 40 percent of nurses left."
    f = _facts(text)["40 percent"]
    assert (f.source, f.carried_by) == ("Ana Ruiz", ("reference",))
    assert f.source_start is not None and text[f.source_start : f.source_end] == "She"
    assert _named(text, f) == "Ana Ruiz"


def test_nominal_reference_resolves_to_the_named_organisation() -> None:
    """'the agency said' resolves to the agency named earlier, keeping the reference's span."""
    text = (
        "The Environmental Protection Agency released its annual figures on Monday.\n"
        "The agency said emissions fell 12 percent."
    )
    f = _facts(text)["12 percent"]
    assert (f.source, f.carried_by) == ("The Environmental Protection Agency", ("reference",))
    assert f.source_start is not None and text[f.source_start : f.source_end] == "The agency"


@pytest.mark.parametrize(
    ("text", "needle", "party"),
    [
        ("Lakeside agreed to pay $4 million to settle the case.", "$4 million", "Lakeside"),
        ("The city plans to add 300 buses next year.", "300", "The city"),
        ("SoftBank committed to a $9.5 billion lifeline.", "$9.5 billion", "SoftBank"),
    ],
)
def test_acting_party_owns_its_plan(text: str, needle: str, party: str) -> None:
    """A figure in a plan, offer or commitment the sentence attributes to a party is that party's."""
    f = _facts(text)[needle]
    assert (f.source, f.carried_by, f.cue_start is not None) == (party, ("agent",), True)


@pytest.mark.parametrize(
    "text",
    [
        "The storm destroyed 300 homes in the county.",
        "The budget approved by lawmakers raised spending 2.5% a year.",
        "Regulators are demanding answers from firms whose towers failed, leaving 300,000 people offline.",
        "In the poll, Clinton’s support has risen to 46 percent this month.",
    ],
)
def test_reporters_own_statement_stays_unsourced(text: str) -> None:
    """A figure the reporter narrates with no party behind it is not an acting party's ('support' after a
    possessive is a noun); it stays unsourced unless a study frames it."""
    facts = [f for f in _facts(text).values() if f.requires_attribution]
    assert facts and all("agent" not in f.carried_by for f in facts)
    assert all(f.attribution_kind == "none" or f.carried_by == ("study",) for f in facts)


@pytest.mark.parametrize(
    ("kind", "text", "needle"),
    [
        ("quote", "“We lost 40 percent of them. It was awful,” said Ana Ruiz.", "40 percent"),
        ("paragraph", "Prices rose 4 percent. Trucks averaged $41,200, according to Autodata.", "4 percent"),
        ("study", "Researchers analysed 12,000 records.\nOf those, 40 percent were old.", "40 percent"),
        ("agent", "Lakeside agreed to pay $4 million.", "$4 million"),
    ],
)
def test_policy_turns_each_carry_over_off(kind: str, text: str, needle: str) -> None:
    """With a carry-over switched off in the policy, a figure credited only through it has no source."""
    assert _facts(text)[needle].carried_by[:1] == (kind,)
    assert _facts(text, _without(kind))[needle].attribution_kind == "none"


def test_policy_without_reference_keeps_the_reference_words() -> None:
    """With reference off, the source is the article's own words ('She'), with no resolution."""
    text = "Ana Ruiz runs the clinic on Main Street. She said 40 percent of nurses left."
    f = _facts(text, _without("reference"))["40 percent"]
    assert (f.source, f.carried_by) == ("She", ())


def test_policy_file_reads_carry_over(tmp_path: Path) -> None:
    """The policy file's carry_over object switches kinds off; absent kinds stay on."""
    raw = json.loads(default_policy_path().read_text(encoding="utf-8"))
    raw["carry_over"] = {"study": False, "paragraph": False}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert load_policy(path).carry_over == frozenset({"quote", "reference", "agent"})
    assert POLICY.carry_over == CARRY_KINDS


@pytest.mark.parametrize(
    ("carry", "match"),
    [({"quotes": True}, r"/carry_over: Additional properties"), ({"quote": "yes"}, r"/carry_over/quote: 'yes'")],
)
def test_bad_carry_over_is_a_config_error(tmp_path: Path, carry: object, match: str) -> None:
    """An unknown carry-over kind or a non-boolean switch names the file and the place."""
    raw = json.loads(default_policy_path().read_text(encoding="utf-8"))
    raw["carry_over"] = carry
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_policy(path)


def test_records_carry_reason_and_both_spans_into_the_seed() -> None:
    """A number row records why its source carries, and byte spans of the reference and of the name."""
    data = b"Ana Ruiz runs the clinic on Main Street.\n\nShe said 40 percent of the nurses left.\n"
    seed = decode_seed(data, "ruiz.txt")
    assert isinstance(seed, Seed)
    result = extract_seed(seed, ExtractOptions(policy=POLICY))
    assert isinstance(result, Extraction)
    (row,) = [n for n in result.numbers if n.text == "40 percent"]
    assert row.carried_by == ("reference",) and row.source == "Ana Ruiz"
    assert row.source_span is not None and row.source_named_span is not None
    assert data[row.source_span.start : row.source_span.end] == b"She"
    assert data[row.source_named_span.start : row.source_named_span.end] == b"Ana Ruiz"


def test_polnear_gold_reading_and_matching_rule(tmp_path: Path) -> None:
    """The PolNeAR evaluator reads brat attributions, gives a nameless Source its named antecedent, and
    matches names by containment or last capitalised word, not by any shared word."""
    from tests import eval_polnear as E

    text = "Ana Ruiz says clinics close. She said 40 percent left."
    ann = tmp_path / "a_x.ann"
    ann.write_text(
        "T1\tSource 0 8\tAna Ruiz\nT5\tCue 9 13\tsays\nT6\tContent 14 27\tclinics close\n"
        "T2\tSource 29 32\tShe\nT3\tCue 33 37\tsaid\nT4\tContent 38 55\t40 percent left.\n"
        "E1\tAttribution:T5 Source:T1 Cue:T5 Content:T6\nE2\tAttribution:T3 Source:T2 Cue:T3 Content:T4\n",
        encoding="utf-8",
    )
    content, gold = E.with_referents(E.read_ann(ann))[1]
    assert content == [(38, 55)] and gold is not None
    assert (gold.text, gold.named, text[slice(*gold.spans[0])]) == ("She", "Ana Ruiz", "She")
    assert E.same_name("Former President Bill Clinton", "Clinton")
    assert E.same_name("a CNN/ORC", "a CNN/ORC poll")
    assert not E.same_name("the Trump campaign", "the Clinton campaign")
    assert E.char_map("é!") == [0, 0, 1, 2]


@pytest.mark.parametrize("unit", ["Prices rose 4 percent. ", "“It rose 3 percent. "])
def test_attribution_of_a_long_paragraph_is_linear(unit: str) -> None:
    """Regression: a paragraph of thousands of sentences with figures and no cue (or an open quotation)
    took time quadratic in its length (200k characters: over a minute)."""
    import time

    def cost(n: int) -> float:
        text = unit * n
        best = float("inf")
        for _ in range(2):
            started = time.process_time()
            find_numbers(text, [Segment(0, len(text), "body")], policy=POLICY)
            best = min(best, time.process_time() - started)
        return best

    small, large = cost(1_000), cost(4_000)
    assert large < 8 * small + 0.05  # linear: about 4x; quadratic: 16x
