"""'How to use this model.md': Python snippets for each exported format, written for the exact
file names in the folder, so a user can copy one and run it there."""

from __future__ import annotations

from pathlib import Path

from mbv2gui.core.export.formats import agreement_words

HOWTO = "How to use this model.md"

_LOAD = """import numpy as np
from PIL import Image

labels = open("labels.txt", encoding="utf-8").read().splitlines()
image = Image.open("photo.jpg").convert("RGB").resize(({s}, {s}), Image.BILINEAR)
pixels = np.asarray(image, dtype=np.float32)[None]  # (1, {s}, {s}, 3), RGB 0..255
"""

_TFLITE = """from ai_edge_litert.interpreter import Interpreter  # pip install ai-edge-litert
interpreter = Interpreter(model_path="{file}")
interpreter.allocate_tensors()
inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
"""

_SNIPPETS = {
    "keras": """import keras
model = keras.saving.load_model("{file}", compile=False)
probabilities = model.predict(pixels, verbose=0)[0]  # any image size works here
""",
    "savedmodel": """import tensorflow as tf
serve = tf.saved_model.load("{file}").signatures["serving_default"]
probabilities = list(serve(tf.constant(pixels)).values())[0].numpy()[0]
""",
    "tflite": _TFLITE + """interpreter.set_tensor(inp["index"], pixels)
interpreter.invoke()
probabilities = interpreter.get_tensor(out["index"])[0]
""",
    "tflite-int8": _TFLITE + """scale, zero = inp["quantization"]  # also in model.json
limits = np.iinfo(inp["dtype"])
quantized = np.clip(np.round(pixels / scale + zero), limits.min, limits.max)
interpreter.set_tensor(inp["index"], quantized.astype(inp["dtype"]))
interpreter.invoke()
out_scale, out_zero = out["quantization"]
probabilities = (interpreter.get_tensor(out["index"])[0].astype(np.float32) - out_zero) * out_scale
""",
    "onnx": """import onnxruntime as ort  # pip install onnxruntime
session = ort.InferenceSession("{file}", providers=["CPUExecutionProvider"])
probabilities = session.run(None, {{session.get_inputs()[0].name: pixels}})[0][0]
""",
}
_SNIPPETS["tflite-fp16"] = _SNIPPETS["tflite"]

# Formats not used like the others from Python: what to do instead of the usual snippet.
_INSTEAD = {
    "coreml": """In an Xcode project, add `{file}`: Xcode generates a class for it, and Vision's
`VNCoreMLRequest` hands it images (the labels are inside the model). On a Mac, from Python:

```python
import coremltools as ct  # pip install coremltools; predicts on macOS only
from PIL import Image

model = ct.models.MLModel("{file}")
image = Image.open("photo.jpg").convert("RGB").resize(({s}, {s}), Image.BILINEAR)
result = model.predict({{"image": image}})
print(result["classLabel"], result["classLabel_probs"])
```
""",
    "web": """The `{file}` folder is a web page. Browsers do not run a model from a page opened as a
file, so serve the folder and open it:

```sh
python3 -m http.server 8000 --directory "{file}"
```

then open http://localhost:8000/ , pick or drop images, and see the top classes. Copy the
folder as it is to any web server to share it; `index.html` shows how to call the model from
JavaScript (ONNX Runtime Web, single-threaded WebAssembly: no special server headers needed).
""",
}

_END = """print(labels[int(np.argmax(probabilities))], float(np.max(probabilities)))
"""


def agreement_sentence(entry: dict) -> str:
    words = agreement_words(entry["agreement"])
    if entry.get("structure"):
        words += f": {entry['structure']}"
    return f"{words[0].upper()}{words[1:]}."


def howto_text(card: dict) -> str:
    """The how-to for a model.json content (model_card.card_data)."""
    size = card["input_size"][0]
    parts = [
        "# How to use this model\n\n",
        f"An image classifier for: {', '.join(card['class_names'])}. It takes RGB pixels "
        f"0..255 resized to {size}×{size} and returns one probability per class, in the order "
        "of `labels.txt`. Scaling happens inside the model: do not normalize the pixels "
        "yourself.\n\nEvery snippet starts with the same lines, run in this folder:\n\n",
        "```python\n", _LOAD.format(s=size), "```\n",
    ]
    for fmt, entry in card["exports"].items():
        file = entry["files"][0]
        parts += [
            f"\n## {file} ({fmt})\n\n{entry['description']}\n\n",
            f"{agreement_sentence(entry)}\n\n",
        ]
        parts += ([_INSTEAD[fmt].format(file=file, s=size)] if fmt in _INSTEAD else
                  ["```python\n", _SNIPPETS[fmt].format(file=file), _END, "```\n"])
        if entry["input"]["scale"] is not None:
            i = entry["input"]
            parts.append(f"\nInput {i['dtype']}, scale {i['scale']:.6g}, zero point "
                         f"{i['zero_point']}; the output is {entry['output']['dtype']} too.\n")
    return "".join(parts)


def write_howto(card: dict, out_dir) -> Path:
    path = Path(out_dir) / HOWTO
    path.write_text(howto_text(card), encoding="utf-8")
    return path
