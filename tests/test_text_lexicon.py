"""Lexicon and matching rules of the campaign-text detector (no models: lines are given as text)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from screening.detect.text.detector import TextConfig, TextDetector
from screening.detect.text.lexicon import build_lexicon, fold_word, tokenize
from screening.detect.text.match import bounded_levenshtein, tolerance
from screening.detect.text.ocr import TextLine, join_rows
from screening.errors import RulesError
from screening.findings import FindingKind
from screening.registry import load_registry
from screening.registry.model import Phrase
from screening.runtime.sessions import Runtime


@pytest.fixture(scope="module")
def registry():
    return load_registry(None)


@pytest.fixture(scope="module")
def detector(registry) -> TextDetector:
    # Building the detector loads no model: sessions open on first use.
    return TextDetector(Runtime(), registry)


def line(text: str, row: int = 0, x: float = 0.0, h: float = 40.0, score: float = 0.97) -> TextLine:
    """A horizontal OCR line at ``row`` (stacked lines 1.25 heights apart), characters evenly spaced."""
    n = max(1, len(text))
    w = n * h * 0.6
    y = row * h * 1.25
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    return TextLine(quad, text, score, 0.9, tuple((i + 0.5) / n for i in range(n)))


def read(detector: TextDetector, *texts: str):
    """Findings for lines stacked top to bottom."""
    lines = [line(t, row=i) for i, t in enumerate(texts)]
    return detector.findings(detector.matcher.match(lines), 1.0)


def labels(findings) -> set[str]:
    return {f.label for f in findings}


# -- normalisation ----------------------------------------------------------------------------------


def test_fold_word_folds_ocr_confusions_but_keeps_numbers():
    assert fold_word("G0LKAR") == fold_word("Golkar")
    assert fold_word("5ATSET") == fold_word("SatSet")
    assert fold_word("Théâtre") == "THEATRE"
    assert fold_word("2024") == "2024"


def test_tokenize_splits_numbers_glued_to_campaign_words():
    toks = tokenize("NOMOR URUT3 COBLOS02")
    assert [t.folded for t in toks] == [fold_word("NOMOR"), "URUT", "3", fold_word("COBLOS"), "02"]


def test_tolerance_grows_with_length_and_short_keys_are_exact():
    assert tolerance(3) == 0 and tolerance(5) == 0
    assert tolerance(9) == 1 and tolerance(12) == 2
    assert tolerance(12, scale=0.0) == 0
    assert bounded_levenshtein("PERUBAHAM", "PERUBAHAN", 1) == 1
    assert bounded_levenshtein("DEMOKRASI", "DEMOKRAT", 1) == 2  # over the limit: stops at limit + 1


# -- whole words, weak entries ----------------------------------------------------------------------


def test_pan_inside_pantai_never_fires(detector):
    assert read(detector, "PANTAI KUTA") == []
    # Not even with campaign context around it: PAN must be a whole word.
    assert read(detector, "PANTAI KUTA", "Coblos Partai") == []


def test_pks_inside_other_words_does_not_fire(detector):
    assert read(detector, "PKSD Kelurahan", "PARTAI") == []


def test_short_abbreviation_alone_is_not_enough(detector):
    assert read(detector, "PAN") == []
    assert read(detector, "Bayar PBB tepat waktu") == []  # PBB is also the land tax
    assert read(detector, "Samsat: Pajak Kendaraan Bermotor (PKB)") == []


def test_short_abbreviation_with_party_word_fires(detector):
    found = read(detector, "PARTAI", "PKS")
    assert any(f.party == "pks" for f in found)


def test_exact_entry_beats_a_longer_fuzzy_one_on_the_same_words(detector):
    # "PARTAI PPP" is two edits from "Partai PDI-P", a longer key: the exact reading must name PPP.
    found = read(detector, "PARTAI PPP")
    assert [(f.party, f.detail["match"]) for f in found] == [("ppp", "exact")]
    # A longer phrase still wins over a shorter one inside it, fuzzy or not.
    found = read(detector, "PARTAI G0LKAR")
    assert [(f.party, f.label) for f in found] == [("golkar", "Partai Golkar")]


def test_letter_spaced_abbreviation_matches(detector):
    found = read(detector, "P K S", "Caleg DPRD")
    assert any(f.party == "pks" for f in found)


def test_strong_entries_fire_alone(detector):
    found = read(detector, "PARTAI KEADILAN SEJAHTERA")
    assert [(f.party, f.detail["match"]) for f in found] == [("pks", "exact")]
    found = read(detector, "PRAB0W0 SUBIANT0")  # zeros read for O's
    assert [f.candidate for f in found] == ["prabowo-subianto"]


def test_common_surname_alone_is_not_a_candidate(detector):
    assert read(detector, "Drs. Bambang Subianto", "Kepala Dinas") == []
    assert [f.candidate for f in read(detector, "BASWEDAN")] == ["anies-baswedan"]


def test_common_word_that_is_a_party_name_stays_quiet(detector):
    assert read(detector, "GELORA BUNG KARNO", "Pintu 5") == []


# -- numbers --------------------------------------------------------------------------------------


def test_lone_numbers_are_not_ballot_numbers(detector):
    assert read(detector, "2") == []
    assert read(detector, "02") == []
    assert read(detector, "Jl. Merdeka No. 10") == []  # an address
    assert read(detector, "Nomor Antrian 12") == []


def test_number_next_to_election_words_is_evidence(detector):
    found = read(detector, "Coblos No. 2")
    assert [(f.number, f.party, f.candidate) for f in found] == [(2, None, None)]
    assert found[0].kind is FindingKind.TEXT
    found = read(detector, "NOMOR URUT", "3")  # the word above, the number below
    assert [f.number for f in found] == [3]


def test_number_next_to_a_party_uses_its_ballot_number(detector):
    found = read(detector, "PKB 1")
    assert [(f.party, f.number) for f in found] == [("pkb", 1)]
    assert read(detector, "PKB 5") == []  # not PKB's number: no corroboration
    found = read(detector, "GERINDRA", "02")
    assert [(f.party, f.number) for f in found] == [("gerindra", 2)]


def test_dates_years_and_districts_are_not_ballot_numbers(detector):
    assert read(detector, "Coblos 14 Februari 2024") == []
    found = read(detector, "CALEG DPRD DAPIL 2", "Partai Garuda")
    assert [f.number for f in found if f.number is not None] == []


def test_kpu_voter_education_poster_is_neutral(detector):
    assert read(detector, "AYO KE TPS", "14 FEBRUARI 2024", "PEMILU 2024") == []
    assert read(detector, "Gunakan Hak Pilih Anda", "14 Februari 2024", "KPU Kabupaten Sleman") == []
    assert read(detector, "PEMILU DAMAI 2024", "Tolak Politik Uang", "BAWASLU") == []


def test_government_slogan_is_not_a_campaign_slogan(detector):
    assert read(detector, "HUT RI KE-78", "Terus Melaju untuk Indonesia Maju", "Presiden Republik Indonesia") == []


# -- fuzzy, slogans, hashtags ---------------------------------------------------------------------


def test_fuzzy_slogan_with_corroboration(detector):
    found = read(detector, "PERUBAHAM", "AMIN")
    by_label = {f.label: f for f in found}
    assert by_label["Perubahan"].detail["match"] == "fuzzy"
    assert by_label["Perubahan"].number == 1  # ticket 1
    assert by_label["Perubahan"].election == "pilpres2024"
    assert read(detector, "PERUBAHAM") == []  # an everyday word alone


def test_hashtag_of_a_weak_word_fires(detector):
    found = read(detector, "#AMIN")
    assert [f.number for f in found] == [1]
    assert read(detector, "AMIN") == []  # "amen"


def test_ticket_pair_and_candidate_number(detector):
    found = read(detector, "PRABOWO-GIBRAN", "02")
    assert any(f.label == "Prabowo Gibran" and f.number == 2 for f in found)


def test_findings_carry_the_text_read_and_an_original_pixel_box(detector):
    lines = [line("Coblos Partai Golkar", row=0, x=100)]
    found = detector.findings(detector.matcher.match(lines), 2.0)
    golkar = next(f for f in found if f.party == "golkar")
    assert golkar.detail["text"] == "Coblos Partai Golkar"
    assert golkar.detail["entry"] in ("Partai Golkar", "Golkar")
    # The box covers the matched words only, scaled to original pixels (x2).
    assert golkar.box.x > 2 * 100 + 2 * 24 * 5
    assert golkar.box.h == pytest.approx(80, abs=1)


# -- operator phrases and config ------------------------------------------------------------------


def test_registry_phrases_extend_the_lexicon(registry):
    reg = dataclasses.replace(
        registry, phrases=(Phrase(election="pilpres2024", text="Bersama Indonesia Maju", ticket=2),)
    )
    det = TextDetector(Runtime(), reg)
    found = read(det, "BERSAMA INDONESIA MAJU")
    assert [(f.label, f.number, f.election) for f in found] == [("Bersama Indonesia Maju", 2, "pilpres2024")]


def test_config_phrases_common_words_and_unknown_keys(registry):
    cfg = TextConfig.from_dict({"phrases": ["Ganti Presiden"], "common_words": ["Hanura"], "det_side": 960})
    assert cfg.ocr.det_side == 960
    det = TextDetector(Runtime(), registry, cfg)
    assert labels(read(det, "GANTI PRESIDEN")) == {"Ganti Presiden"}
    assert read(det, "HANURA") == []  # now weak
    with pytest.raises(RulesError, match="unknown"):
        TextConfig.from_dict({"det_sied": 960})


def test_lexicon_covers_every_party_and_candidate(registry):
    lex = build_lexicon(registry)
    assert {e.party for e in lex.entries if e.party} == {p.id for p in registry.parties}
    assert {e.candidate for e in lex.entries if e.candidate} == {c.id for c in registry.candidates}
    assert lex.max_ballot == max(p.number or 0 for p in registry.parties)


def test_matching_thirty_lines_is_fast(detector):
    import time

    lines = [line("Ayo ke TPS 14 Februari 2024 PEMILU 2024 dan lain lain", row=i) for i in range(30)]
    t = time.perf_counter()
    detector.matcher.match(lines)
    assert time.perf_counter() - t < 1.0


# -- row joining ----------------------------------------------------------------------------------


def test_join_rows_puts_split_banner_words_back_together():
    a = line("PARTAI", x=0)
    b = line("PKS", x=a.quad[1][0] + 20)
    c = line("NOMOR URUT 8", row=2)
    joined = join_rows([b, c, a])
    texts = sorted(j.text for j in joined)
    assert texts == ["NOMOR URUT 8", "PARTAI PKS"]
    pks = next(j for j in joined if j.text == "PARTAI PKS")
    sub = pks.sub_quad(7, 10)  # "PKS"
    assert sub[0][0] >= b.quad[0][0] - 20


def test_operator_adds_a_phrase_to_a_registry_folder(tmp_path):
    from screening.errors import RegistryError
    from screening.registry.phrases import add_phrase, remove_phrase
    from screening.registry.store import init_registry

    init_registry(tmp_path)
    add_phrase(tmp_path, Phrase(election="pilpres2024", text="  Gemoy  Bersama ", ticket=2))
    with pytest.raises(RegistryError, match="no party"):
        add_phrase(tmp_path, Phrase(election="pileg2024", text="Ayo Coblos", party="nope"))
    with pytest.raises(RegistryError, match="already"):
        add_phrase(tmp_path, Phrase(election="pilpres2024", text="gemoy bersama"))
    reg = load_registry(tmp_path)
    assert [(p.text, p.ticket) for p in reg.phrases] == [("Gemoy Bersama", 2)]
    det = TextDetector(Runtime(), reg)
    assert [(f.label, f.number) for f in read(det, "GEMOY BERSAMA")] == [("Gemoy Bersama", 2)]
    assert remove_phrase(tmp_path, "GEMOY BERSAMA") == 1
    assert load_registry(tmp_path).phrases == ()


def test_operator_adds_a_regional_ticket_and_its_slogan_is_read(tmp_path):
    from screening.errors import RegistryError
    from screening.registry.elections import add_election
    from screening.registry.model import Election, Ticket
    from screening.registry.phrases import add_phrase, remove_phrase
    from screening.registry.store import init_registry
    from screening.registry.tickets import add_ticket, remove_ticket

    init_registry(tmp_path)
    add_election(tmp_path, Election(id="pilkada-jabar-2029", name="Pilkada Jawa Barat 2029",
                                    determination=dt.date(2029, 9, 22), region="Jawa Barat"))  # fmt: skip
    ticket = Ticket(election="pilkada-jabar-2029", number=1, name="Budi  Santoso - Siti Aminah",
                    parties=("golkar", "pkb"), slogans=("Jabar Juara Lagi",), hashtags=("BudiSiti",))  # fmt: skip
    assert add_ticket(tmp_path, ticket).hashtags == ("#BudiSiti",)  # typed without '#' on a shell
    with pytest.raises(RegistryError, match="already 'Budi Santoso - Siti Aminah'"):
        add_ticket(tmp_path, dataclasses.replace(ticket, name="Other"))
    with pytest.raises(RegistryError, match="no party 'nope'"):
        add_ticket(tmp_path, dataclasses.replace(ticket, number=2, parties=("nope",)))
    with pytest.raises(RegistryError, match="no election"):
        add_ticket(tmp_path, dataclasses.replace(ticket, election="pilkada-jatim-2029"))

    det = TextDetector(Runtime(), load_registry(tmp_path))
    found = {f.label: f for f in read(det, "JABAR JUARA LAGI")}
    assert (found["Jabar Juara Lagi"].number, found["Jabar Juara Lagi"].election) == (1, "pilkada-jabar-2029")
    assert [f.number for f in read(det, "#BudiSiti")] == [1]

    add_phrase(tmp_path, Phrase(election="pilkada-jabar-2029", text="Budi Siti Bersatu", ticket=1))
    with pytest.raises(RegistryError, match="still named by phrase 'Budi Siti Bersatu'"):
        remove_ticket(tmp_path, "pilkada-jabar-2029", 1)
    remove_phrase(tmp_path, "Budi Siti Bersatu")
    remove_ticket(tmp_path, "pilkada-jabar-2029", 1)
    assert load_registry(tmp_path).ticket("pilkada-jabar-2029", 1) is None


def test_a_party_entered_for_two_elections_is_one_finding_per_text(registry):
    from screening.registry.model import Election, Party

    later = dataclasses.replace(
        registry,
        elections=(*registry.elections, Election("pileg2029", "Pemilu DPR 2029", dt.date(2028, 11, 3))),
        parties=(*registry.parties, Party("pkb-2029", "Partai Kebangkitan Bangsa", "PKB", "pileg2029", number=4)),
    )
    found = read(TextDetector(Runtime(), later), "PARTAI KEBANGKITAN BANGSA")
    assert [f.label for f in found] == ["Partai Kebangkitan Bangsa"]
    assert found[0].party in {"pkb", "pkb-2029"}


def test_a_person_entered_for_two_elections_is_one_finding_per_text(registry):
    from screening.registry.model import Election

    again = dataclasses.replace(registry.candidate("anies-baswedan"), id="anies-2029", election="pilkada-dki-2029")
    later = dataclasses.replace(
        registry,
        elections=(*registry.elections, Election("pilkada-dki-2029", "Pilkada DKI 2029", dt.date(2029, 9, 22))),
        candidates=(*registry.candidates, again),
    )
    found = read(TextDetector(Runtime(), later), "ANIES BASWEDAN")
    assert [f.label for f in found] == ["Anies Baswedan"] and found[0].candidate in {"anies-baswedan", "anies-2029"}
