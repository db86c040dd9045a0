"""Writes tiny GGUF files (and deliberately broken ones) for tests.

Layout per the GGUF spec: magic, version, tensor count, kv count, kvs, tensor
infos, padding to the alignment, tensor data (each tensor aligned).
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

# GGUF value type ids
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
        BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
GGML_F32 = 0

CHAT_TEMPLATE = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"


def gguf_string(s: str | bytes) -> bytes:
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def encode_value(vtype: int, value: Any) -> bytes:
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        item_type, items = value
        return struct.pack("<IQ", item_type, len(items)) + b"".join(encode_value(item_type, v) for v in items)
    return struct.pack(_FMT[vtype], value)


def encode_kv(key: str, vtype: int, value: Any) -> bytes:
    return gguf_string(key) + struct.pack("<I", vtype) + encode_value(vtype, value)


def default_metadata(arch: str = "llama") -> list[tuple[str, int, Any]]:
    return [
        ("general.architecture", STRING, arch),
        ("general.name", STRING, "Tiny Test Model"),
        (f"{arch}.context_length", U32, 4096),
        (f"{arch}.block_count", U32, 2),
        (f"{arch}.embedding_length", U32, 8),
        (f"{arch}.attention.head_count", U32, 2),
        (f"{arch}.attention.head_count_kv", U32, 1),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "hello", "world"])),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.0, -1.0, -2.0])),
        ("tokenizer.ggml.bos_token_id", U32, 0),
        ("tokenizer.ggml.eos_token_id", U32, 1),
        ("tokenizer.chat_template", STRING, CHAT_TEMPLATE),
    ]


def build_gguf(
    *,
    arch: str = "llama",
    version: int = 3,
    metadata: list[tuple[str, int, Any]] | None = None,
    tensors: list[tuple[str, tuple[int, ...], int]] | None = None,
    alignment: int = 32,
    n_tensors_override: int | None = None,
    n_kv_override: int | None = None,
) -> bytes:
    """A complete GGUF file as bytes. Tensors are (name, dims, ggml type) filled with F32 ramps."""
    metadata = default_metadata(arch) if metadata is None else metadata
    if alignment != 32:
        metadata = [*metadata, ("general.alignment", U32, alignment)]
    if tensors is None:
        tensors = [("tok_embd.weight", (8, 4), GGML_F32), ("output_norm.weight", (8,), GGML_F32)]

    datas, infos, offset = [], [], 0
    for name, dims, ggml_type in tensors:
        n = 1
        for d in dims:
            n *= d
        data = struct.pack(f"<{n}f", *[float(i) for i in range(n)])
        infos.append(gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
                     + struct.pack("<IQ", ggml_type, offset))
        pad = -len(data) % alignment
        datas.append(data + b"\0" * pad)
        offset += len(data) + pad

    header = b"GGUF" + struct.pack("<IQQ", version,
                                   len(tensors) if n_tensors_override is None else n_tensors_override,
                                   len(metadata) if n_kv_override is None else n_kv_override)
    body = header + b"".join(encode_kv(*kv) for kv in metadata) + b"".join(infos)
    body += b"\0" * (-len(body) % alignment)
    return body + b"".join(datas)


def write_gguf(path: Path, **kwargs: Any) -> Path:
    path.write_bytes(build_gguf(**kwargs))
    return path
