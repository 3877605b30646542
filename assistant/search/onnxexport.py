"""The ONNX files the ``onnx`` and ``onnx-int8`` embedding backends run: exported from the
bundled weights on this machine (offline, once), int8-quantised for ``onnx-int8``, and kept
in a cache folder whose name changes with the weights and with the recipe below."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import warnings
from pathlib import Path

from assistant.errors import AssistantError
from assistant.files import atomic_path, file_lock, write_atomic

logger = logging.getLogger(__name__)

# Bump when the export or quantisation recipe changes, so that caches are rebuilt.
EXPORT_VERSION = 2


def onnx_model(model_path: Path, cache_dir: Path, quantized: bool) -> Path:
    """Return the path of the ONNX export of the model (int8-quantised if `quantized`),
    exporting it from the local weights into `cache_dir` on first use. Never downloads."""
    folder = Path(cache_dir).expanduser() / "onnx" / _export_key(model_path)
    target = folder / ("model_int8.onnx" if quantized else "model.onnx")
    if target.exists():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssistantError(
            f"Cannot write the ONNX model cache in {cache_dir} ({exc.strerror}); set "
            "ASSISTANT_MODEL_CACHE_DIR to a writable folder."
        ) from exc
    with file_lock(folder / ".lock"):
        if target.exists():  # another process exported it while we waited
            return target
        logger.info("exporting %s to ONNX in %s (once)", model_path, folder)
        fp32 = folder / "model.onnx"
        if not fp32.exists():
            _export_fp32(model_path, fp32)
        if quantized:
            _quantize(fp32, target)
        write_atomic(folder / "source.json", json.dumps(
            {"model_path": str(model_path), "export_version": EXPORT_VERSION}, indent=1))
    return target


def _export_key(model_path: Path) -> str:
    """A folder name that changes when the model's weights or the export recipe change."""
    parts = [str(Path(model_path).resolve()), f"v{EXPORT_VERSION}"]
    for name in ("model.safetensors", "pytorch_model.bin", "config.json"):
        f = Path(model_path) / name
        if f.exists():
            st = f.stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    digest = hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
    return f"{Path(model_path).name}-{digest}"


@contextlib.contextmanager
def _written_as(target: Path, failure: str, fix: str):
    """Yield a temporary path to write; on success it replaces `target` atomically, on any
    failure it is removed and one AssistantError says what failed and how to go on."""
    try:
        with atomic_path(target) as tmp:
            yield tmp
    except Exception as exc:
        raise AssistantError(f"{failure} ({type(exc).__name__}: {exc}); {fix}.") from exc


def _export_fp32(model_path: Path, target: Path) -> None:
    """Trace the transformer (token ids -> hidden states) to ONNX, from local files only."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(str(model_path), local_files_only=True,
                                      attn_implementation="eager").eval()

    class _Hidden(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    dummy = tuple(torch.ones(2, 16, dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]}
    with _written_as(target, "Exporting the embedding model to ONNX failed",
                     "set ASSISTANT_EMBEDDING_BACKEND=torch to use PyTorch instead") as tmp, \
            warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(_Hidden(model), dummy, str(tmp), input_names=names,
                          output_names=["last_hidden_state"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation of the weight matrices, per output channel. Per-tensor scales
    lose too much on AVX2 CPUs (cosine to float32 ~0.96 on our passages, against 0.99), and
    the two products of activations inside attention stay float32."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    weights = {i.name for i in graph.initializer}
    activations = [n.name for n in graph.node
                   if n.op_type == "MatMul" and not set(n.input[1:2]) & weights]
    # it advises "pre-processing" through the root logger itself: drop only the records that
    # the quantiser logs there (a logger's filter never sees other loggers' records)
    root = logging.getLogger()
    root.addFilter(_not_from_quantizer)
    try:
        with _written_as(target, "Quantising the ONNX model failed",
                         "set ASSISTANT_EMBEDDING_BACKEND=onnx or torch") as tmp:
            quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8,
                             per_channel=True, op_types_to_quantize=["MatMul"],
                             nodes_to_exclude=activations,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.removeFilter(_not_from_quantizer)


def _not_from_quantizer(record: logging.LogRecord) -> bool:
    path = record.pathname.replace("\\", "/")
    return not ("/onnxruntime/" in path and "/quantization/" in path)
