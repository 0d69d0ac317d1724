"""Language detection: real short texts in each of the program's languages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gscp_match.errors import InputError
from gscp_match.text._cache import EmbeddingCache, text_key
from gscp_match.text._language import LANGUAGES, _cache_name, detect_languages

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


def test_codes_remembered_in_the_cache_spare_the_model_on_the_next_run(tmp_path):
    # Each run in a fresh interpreter: the second finds every text in the cache and never imports py3langid.
    texts = [t for lang in LANGUAGES for t in EXAMPLES[lang]] + ["", "2024", EXAMPLES["fr"][0]]
    code = (
        "import json, sys\n"
        "from gscp_match.text._cache import EmbeddingCache\n"
        "from gscp_match.text._language import detect_languages\n"
        "texts = json.loads(sys.stdin.read())\n"
        f"codes = detect_languages(texts, cache=EmbeddingCache({str(tmp_path)!r}))\n"
        "print(json.dumps([codes, 'py3langid' in sys.modules]))\n"
    )
    import json

    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", code], input=json.dumps(texts), capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(2)
    ]
    assert runs[0] == [detect_languages(texts), True]
    assert runs[1] == [runs[0][0], False]


def test_only_unknown_texts_are_classified_and_added(tmp_path, monkeypatch):
    import gscp_match.text._language as language

    cache = EmbeddingCache(tmp_path)
    first = detect_languages(EXAMPLES["ko"] + EXAMPLES["ru"], cache=cache)
    assert first == ["ko"] * 3 + ["ru"] * 3
    found, stored = cache.get(_cache_name(), [text_key(t) for t in EXAMPLES["ko"]], dimension=1)
    assert found.all() and stored[:, 0].tolist() == [LANGUAGES.index("ko")] * 3
    classified = []
    model = language._model()

    class Spy:
        def classify(self, text):
            classified.append(text)
            return model.classify(text)

    monkeypatch.setattr(language, "_model", lambda: Spy())
    codes = detect_languages(EXAMPLES["ru"] + EXAMPLES["es"] + ["", "!!"], cache=cache)
    assert codes == ["ru"] * 3 + ["es"] * 3 + ["en", "en"]
    assert classified == EXAMPLES["es"]  # known texts and texts without letters never reach the model
    assert detect_languages(EXAMPLES["es"], cache=cache) == ["es"] * 3 and classified == EXAMPLES["es"]


def test_a_damaged_or_foreign_entry_is_classified_again(tmp_path):
    cache = EmbeddingCache(tmp_path)
    text = EXAMPLES["pt"][1]
    cache.put(_cache_name(), [text_key(text)], np.array([[99.0]], dtype=np.float32))  # no such language
    assert detect_languages([text], cache=cache) == ["pt"]
    assert "py3langid" in _cache_name() and "-".join(LANGUAGES) in _cache_name()


def test_without_a_cache_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("GSCP_MATCH_CACHE", str(tmp_path))
    assert detect_languages(EXAMPLES["en"]) == ["en"] * 3
    assert list(tmp_path.iterdir()) == []
