"""GGUF validation before llama.cpp ever opens a file.

llama.cpp trusts the header of a GGUF file; a truncated download, a renamed
PDF or a damaged header can crash the whole process instead of raising. So we
parse the header ourselves (plain struct over an mmap: only the header pages
are read, even for a multi-GB file) and check that every tensor's data lies
inside the file. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.models.errors import ModelFileError
from app.models.errors import ModelFileErrorKind as K

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Text-generation architectures llama.cpp can run (general.architecture values).
# Embedding-only / audio archs (bert, t5encoder, wavtokenizer...) are left out:
# Docent needs a chat model.
SUPPORTED_ARCHS = frozenset({
    "llama", "llama4", "deci", "mistral", "mistral3", "qwen", "qwen2", "qwen2moe", "qwen2vl",
    "qwen3", "qwen3moe", "phi2", "phi3", "phimoe", "gemma", "gemma2", "gemma3", "gemma3n",
    "granite", "granitemoe", "olmo", "olmo2", "olmoe", "stablelm", "starcoder", "starcoder2",
    "falcon", "falcon-h1", "gpt2", "gptj", "gptneox", "mpt", "baichuan", "bloom", "refact",
    "internlm2", "minicpm", "minicpm3", "command-r", "cohere2", "deepseek", "deepseek2",
    "chatglm", "glm4", "exaone", "exaone4", "nemotron", "orion", "xverse", "openelm", "arctic",
    "dbrx", "jais", "smollm3", "ernie4_5", "hunyuan-dense", "hunyuan-moe", "lfm2", "gpt-oss",
    "bailingmoe", "arcee", "dots1", "plamo", "plamo2", "codeshell", "bitnet", "mamba", "rwkv6",
    "rwkv7", "seed_oss", "apertus",
})

# ggml type id -> (elements per block, bytes per block); from ggml.h / gguf-py.
# Ids 4, 5, 31-33, 36-38 were removed from ggml and are treated as unknown.
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
    40: (64, 36),  # NVFP4
    41: (128, 18),  # Q1_0
}

# GGUF metadata value types: id -> struct format of a scalar.
_SCALARS: dict[int, str] = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
                            7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# Sanity caps: a damaged header must fail fast, never allocate or loop for ages.
MAX_TENSORS = 1_000_000
MAX_KV = 1_000_000
MAX_KEY_LEN = 65_535  # the spec's own limit for keys
MAX_STRING_LEN = 64 * 1024 * 1024  # chat templates are KBs; 64 MiB is already absurd
MAX_ARRAY_LEN = 50_000_000  # vocabularies are ~10^5..10^6 entries
MAX_ARRAY_DEPTH = 3
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_SMALL_STRING = 1024  # longer strings are not copied into GGUFInfo.metadata


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    ggml_type: int
    offset: int  # relative to the aligned data start
    n_bytes: int


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    architecture: str
    name: str | None
    context_length: int | None
    chat_template: str | None
    n_tensors: int
    file_size: int
    data_offset: int
    alignment: int
    n_vocab: int | None = None
    bos_token_id: int | None = None
    eos_token_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    tensors: tuple[TensorInfo, ...] = field(default=(), repr=False)

    def kv_bytes_per_token(self, bytes_per_value: int = 2) -> int | None:
        """KV-cache bytes per context token (f16 cache), if the metadata allows it."""
        a, m = self.architecture, self.metadata
        layers, heads = m.get(f"{a}.block_count"), m.get(f"{a}.attention.head_count")
        kv_heads = m.get(f"{a}.attention.head_count_kv", heads)
        emb = m.get(f"{a}.embedding_length")
        if not (isinstance(layers, int) and isinstance(heads, int) and isinstance(kv_heads, int)
                and isinstance(emb, int) and min(layers, heads, kv_heads, emb) > 0):
            return None
        k_len = m.get(f"{a}.attention.key_length", emb // heads)
        v_len = m.get(f"{a}.attention.value_length", emb // heads)
        return int(layers * kv_heads * (k_len + v_len) * bytes_per_value)


class _Reader:
    """Bounds-checked little-endian reads from a buffer (an mmap of the file)."""

    def __init__(self, buf: mmap.mmap | bytes, size: int) -> None:
        self.buf, self.size, self.pos = buf, size, 0

    def need(self, n: int, what: str) -> None:
        if self.pos + n > self.size:
            raise ModelFileError(K.TRUNCATED, f"file ends inside {what} at byte {self.pos}")

    def unpack(self, fmt: str, what: str) -> Any:
        n = struct.calcsize(fmt)
        self.need(n, what)
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += n
        return value

    def length(self, cap: int, what: str) -> int:
        n = self.unpack("<Q", what)
        if n > cap:
            raise ModelFileError(K.CORRUPT, f"{what} claims length {n}")
        return n

    def string(self, cap: int, what: str, keep: bool = True) -> str | None:
        n = self.length(cap, what)
        self.need(n, what)
        start, self.pos = self.pos, self.pos + n
        if not keep:
            return None
        return bytes(self.buf[start:start + n]).decode("utf-8", errors="replace")


def _read_value(r: _Reader, vtype: int, key: str, keep: bool, depth: int = 0) -> Any:
    """Read one metadata value. Arrays are skipped cheaply; only their length is returned."""
    if vtype in _SCALARS:
        return r.unpack(_SCALARS[vtype], key)
    if vtype == _STRING:
        return r.string(MAX_STRING_LEN, f"string value of {key}", keep)
    if vtype != _ARRAY:
        raise ModelFileError(K.CORRUPT, f"unknown value type {vtype} for {key}")
    if depth >= MAX_ARRAY_DEPTH:
        raise ModelFileError(K.CORRUPT, f"arrays nested too deep in {key}")
    item_type = r.unpack("<I", f"array type of {key}")
    count = r.length(MAX_ARRAY_LEN, f"array of {key}")
    if item_type in _SCALARS:  # fixed-size items: skip in one step
        n = count * struct.calcsize(_SCALARS[item_type])
        r.need(n, f"array of {key}")
        r.pos += n
    elif item_type == _STRING:
        buf, pos, size = r.buf, r.pos, r.size
        for _ in range(count):  # hot loop for vocabularies: keep it lean
            if pos + 8 > size:
                raise ModelFileError(K.TRUNCATED, f"file ends inside array of {key}")
            (n,) = struct.unpack_from("<Q", buf, pos)
            if n > MAX_STRING_LEN:
                raise ModelFileError(K.CORRUPT, f"string in {key} claims length {n}")
            pos += 8 + n
        if pos > size:
            raise ModelFileError(K.TRUNCATED, f"file ends inside array of {key}")
        r.pos = pos
    else:
        for _ in range(count):
            _read_value(r, item_type, key, keep=False, depth=depth + 1)
    return _ArrayLen(count)


class _ArrayLen(int):
    """Marks a skipped array (value = its length) so it is not mistaken for a scalar."""


def _tensor_bytes(name: str, dims: tuple[int, ...], ggml_type: int) -> int:
    if ggml_type not in GGML_TYPE_SIZES:
        raise ModelFileError(K.CORRUPT, f"tensor {name!r} has unknown ggml type {ggml_type}")
    block, type_size = GGML_TYPE_SIZES[ggml_type]
    n = 1
    for d in dims:
        n *= d
    if dims and dims[0] % block:
        raise ModelFileError(K.CORRUPT, f"tensor {name!r} row {dims[0]} not a multiple of {block}")
    return n // block * type_size


def read_gguf_info(path: Path | str) -> GGUFInfo:
    """Parse and sanity-check a GGUF file; raise ModelFileError if llama.cpp must not see it."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            if size == 0:
                raise ModelFileError(K.EMPTY, str(path))
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse(path, mm, size)
    except ModelFileError:
        raise
    except OSError as e:
        raise ModelFileError(K.UNREADABLE, f"{path}: {e.strerror or e}") from e


def _parse(path: Path, buf: mmap.mmap, size: int) -> GGUFInfo:
    r = _Reader(buf, size)
    if size < 4 or bytes(buf[:4]) != GGUF_MAGIC:
        if size < 4 and GGUF_MAGIC.startswith(bytes(buf[:size])):
            raise ModelFileError(K.TRUNCATED, "file ends inside the magic number")
        raise ModelFileError(K.NOT_GGUF, f"starts with {bytes(buf[:8])!r}")
    r.pos = 4
    version = r.unpack("<I", "header")
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(K.UNSUPPORTED_VERSION, f"version {version}")
    n_tensors = r.unpack("<Q", "header")
    n_kv = r.unpack("<Q", "header")
    # Counts past the caps are nonsense; smaller wrong counts hit end-of-file (TRUNCATED)
    # after at most size/12 cheap iterations, since every entry consumes bytes.
    if n_tensors > MAX_TENSORS or n_kv > MAX_KV:
        raise ModelFileError(K.CORRUPT, f"{n_tensors} tensors, {n_kv} metadata entries")

    meta: dict[str, Any] = {}
    chat_template: str | None = None
    n_vocab: int | None = None
    for _ in range(n_kv):
        key = r.string(MAX_KEY_LEN, "metadata key") or ""
        vtype = r.unpack("<I", f"type of {key}")
        value = _read_value(r, vtype, key, keep=True)
        if key == "tokenizer.chat_template" and isinstance(value, str):
            chat_template = value
        elif key == "tokenizer.ggml.tokens" and isinstance(value, _ArrayLen):
            n_vocab = int(value)
        elif not isinstance(value, _ArrayLen) and not (isinstance(value, str) and len(value) > MAX_SMALL_STRING):
            meta[key] = value

    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(K.CORRUPT, "no general.architecture in metadata")
    if arch not in SUPPORTED_ARCHS:
        raise ModelFileError(K.UNSUPPORTED_ARCH, f"architecture {arch!r}")
    alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise ModelFileError(K.CORRUPT, f"general.alignment = {alignment!r}")

    tensors = []
    for _ in range(n_tensors):
        name = r.string(MAX_KEY_LEN, "tensor name") or ""
        n_dims = r.unpack("<I", f"tensor {name!r}")
        if not 1 <= n_dims <= MAX_DIMS:
            raise ModelFileError(K.CORRUPT, f"tensor {name!r} has {n_dims} dimensions")
        dims = tuple(r.unpack("<Q", f"tensor {name!r}") for _ in range(n_dims))
        if any(d <= 0 or d > 1 << 40 for d in dims):
            raise ModelFileError(K.CORRUPT, f"tensor {name!r} has dimensions {dims}")
        ggml_type = r.unpack("<I", f"tensor {name!r}")
        offset = r.unpack("<Q", f"tensor {name!r}")
        if offset % alignment:
            raise ModelFileError(K.CORRUPT, f"tensor {name!r} offset {offset} not aligned")
        tensors.append(TensorInfo(name, dims, ggml_type, offset, _tensor_bytes(name, dims, ggml_type)))

    data_start = -(-r.pos // alignment) * alignment  # round up to the alignment
    for t in tensors:
        end = data_start + t.offset + t.n_bytes
        if end > size:
            raise ModelFileError(K.TRUNCATED, f"tensor {t.name!r} ends at byte {end}, file has {size}")

    def _int(key: str) -> int | None:
        v = meta.get(key)
        return int(v) if isinstance(v, int) and not isinstance(v, bool) else None

    general_name = meta.get("general.name")
    return GGUFInfo(
        path=path, version=version, architecture=arch,
        name=general_name if isinstance(general_name, str) else None,
        context_length=_int(f"{arch}.context_length"), chat_template=chat_template,
        n_tensors=n_tensors, file_size=size, data_offset=data_start, alignment=alignment,
        n_vocab=n_vocab, bos_token_id=_int("tokenizer.ggml.bos_token_id"),
        eos_token_id=_int("tokenizer.ggml.eos_token_id"), metadata=meta, tensors=tuple(tensors),
    )
