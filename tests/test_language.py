"""Language detection: real short texts in each of the program's languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gscp_match.errors import InputError
from gscp_match.text._language import LANGUAGES, detect_languages

# Written for this test (not the benchmark's samples): a title, a one-line bio and a short request per language.
EXAMPLES = {
    "en": [
        "Bus depot electrification study",
        "Hydrologist who designed the storm drainage model of a delta city.",
        "The council wants advice on a congestion charge. Traders fear losing customers.",
    ],
    "fr": [
        "Électrification des dépôts de bus",
        "Hydrologue ayant conçu le modèle de drainage pluvial d'une ville de delta.",
        "Le conseil municipal souhaite un avis sur un péage urbain. Les commerçants craignent de perdre des clients.",
    ],
    "es": [
        "Electrificación de cocheras de autobuses",
        "Hidróloga que diseñó el modelo de drenaje pluvial de una ciudad en un delta.",
        "El concejo quiere asesoría sobre un cobro por congestión. Los comerciantes temen perder clientes.",
    ],
    "ar": [
        "دراسة كهربة مستودعات الحافلات",
        "خبير هيدرولوجيا صمم نموذج تصريف مياه الأمطار لمدينة في دلتا.",
        "يريد المجلس البلدي مشورة بشأن رسوم الازدحام. يخشى التجار خسارة زبائنهم.",
    ],
    "pt": [
        "Eletrificação de garagens de ônibus",
        "Hidróloga que projetou o modelo de drenagem pluvial de uma cidade num delta.",
        "A câmara municipal quer orientação sobre um pedágio urbano. Os comerciantes temem perder clientes.",
    ],
    "ru": [
        "Электрификация автобусных парков",
        "Гидролог, разработавший модель ливневой канализации города в дельте реки.",
        "Городской совет просит совета по платному въезду в центр. Торговцы боятся потерять покупателей.",
    ],
    "ko": [
        "버스 차고지 전기화 연구",
        "삼각주 도시의 우수 배수 모델을 설계한 수문학자입니다.",
        "시의회는 혼잡통행료에 대한 자문을 원합니다. 상인들은 손님을 잃을까 걱정합니다.",
    ],
}


@pytest.mark.parametrize("language", sorted(EXAMPLES))
def test_each_language_is_recognised_in_short_texts(language):
    assert detect_languages(EXAMPLES[language]) == [language] * len(EXAMPLES[language])


def test_results_follow_input_order_and_do_not_depend_on_neighbours():
    texts = [t for lang in LANGUAGES for t in EXAMPLES[lang]]
    together = detect_languages(texts)
    assert together == [lang for lang in LANGUAGES for _ in EXAMPLES[lang]]
    assert [detect_languages([t])[0] for t in reversed(texts)] == together[::-1]
    assert detect_languages(texts) == together  # deterministic


def test_texts_without_letters_are_english():
    assert detect_languages(["", "   ", "2024-05-01", "!!! ???", "12 345"]) == ["en"] * 5
    assert detect_languages([]) == []


def test_only_the_programs_languages_come_back():
    # German, Italian and Bulgarian are not among them: the closest of the seven is returned, never another code.
    codes = detect_languages(["Stadtplanung und Verkehr", "Pianificazione urbana", "Градско планиране"])
    assert set(codes) <= set(LANGUAGES)


def test_a_single_string_is_refused():
    with pytest.raises(InputError, match="not a single string"):
        detect_languages("Bus depot electrification study")
    with pytest.raises(InputError, match=r"texts\[1\] is int"):
        detect_languages(["ok", 3])


def test_recorded_accuracy_on_the_benchmark_samples():
    # benchmarks/language_samples.tsv: 30 short texts per language; the module docstring says 209 of 210.
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "language_samples.tsv"
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines() if line]
    predicted = detect_languages([text for _, text in rows])
    right = sum(p == label for p, (label, _) in zip(predicted, rows, strict=True))
    assert len(rows) == 210 and right >= 208


def test_the_detector_is_imported_only_when_needed():
    code = (
        "import sys, gscp_match.text._language as l\n"
        "assert 'py3langid' not in sys.modules\n"
        "l.detect_languages(['', '42'])\n"
        "assert 'py3langid' not in sys.modules\n"
        "l.detect_languages(['hello world'])\n"
        "assert 'py3langid' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
