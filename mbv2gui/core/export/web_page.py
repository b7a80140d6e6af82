"""The pages of the "web" export: the demo a user opens (index.html: pick or drop images, see
the top classes) and the check page the export runs in a headless browser. Both load the same
runtime files and model.onnx the same way (`LOAD_MODEL`), so the check runs what the demo runs.

Preprocessing is inside the model (RGB 0..255 in), as in every export: the page only resizes
each image to S×S, as the app does, and hands over its pixels.
"""

from __future__ import annotations

import html
import json

# Single-threaded WebAssembly: threads need cross-origin isolation headers that a plain web
# server (or `python -m http.server`) does not send; one thread works everywhere.
LOAD_MODEL = """
async function loadModel(base) {
  ort.env.wasm.wasmPaths = new URL(base + 'ort/', location.href).href;
  ort.env.wasm.numThreads = 1;
  return ort.InferenceSession.create(base + 'model.onnx', {executionProviders: ['wasm']});
}
async function classify(session, pixels, count, size) {
  const input = new ort.Tensor('float32', pixels, [count, size, size, 3]);
  const result = await session.run({[session.inputNames[0]]: input});
  return result[session.outputNames[0]].data;  // count × classes probabilities
}
"""

_DEMO = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
 body { font: 15px system-ui, sans-serif; margin: 24px; color: #222; background: #fafafa; }
 h1 { font-size: 20px; margin: 0 0 4px; }
 #status { color: #555; margin: 0 0 16px; }
 #drop { border: 2px dashed #99a; border-radius: 8px; padding: 18px; text-align: center;
         background: #fff; }
 #drop.over { background: #eef3ff; }
 #results { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
 .card { background: #fff; border: 1px solid #ddd; border-radius: 8px; padding: 8px;
         width: 220px; }
 .card img { width: 100%; height: 150px; object-fit: contain; background: #eee; }
 .name { font-size: 12px; color: #666; overflow: hidden; text-overflow: ellipsis;
         white-space: nowrap; }
 .row { display: flex; align-items: center; gap: 6px; font-size: 13px; margin-top: 4px; }
 .row span:first-child { width: 80px; overflow: hidden; text-overflow: ellipsis; }
 .bar { flex: 1; height: 10px; background: #eee; border-radius: 5px; }
 .bar div { height: 100%; background: #3b6fd4; border-radius: 5px; }
 .error { color: #b00020; }
</style></head>
<body>
<h1>__TITLE__</h1>
<p id="status">Loading the model…</p>
<div id="drop">Drop images here, or <input id="pick" type="file" accept="image/*" multiple></div>
<div id="results"></div>
<script src="ort/ort.wasm.min.js"></script>
<script>
const CONFIG = __CONFIG__;
__LOAD_MODEL__
const status = document.getElementById('status');
const results = document.getElementById('results');
let session = null;

function pixelsOf(bitmap, size) {  // resized to size×size as the app does; RGB 0..255
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const context = canvas.getContext('2d');
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, size, size);
  const rgba = context.getImageData(0, 0, size, size).data;
  const rgb = new Float32Array(size * size * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4) {
    rgb[j++] = rgba[i]; rgb[j++] = rgba[i + 1]; rgb[j++] = rgba[i + 2];
  }
  return rgb;
}

function card(file, probabilities) {
  const div = document.createElement('div');
  div.className = 'card';
  const image = document.createElement('img');
  image.src = URL.createObjectURL(file);
  const name = document.createElement('div');
  name.className = 'name'; name.textContent = file.name;
  div.append(image, name);
  const order = [...probabilities.keys()].sort((a, b) => probabilities[b] - probabilities[a]);
  for (const k of order.slice(0, CONFIG.top)) {
    const row = document.createElement('div');
    row.className = 'row';
    const label = document.createElement('span'); label.textContent = CONFIG.labels[k];
    const bar = document.createElement('div'); bar.className = 'bar';
    const fill = document.createElement('div');
    fill.style.width = (100 * probabilities[k]).toFixed(1) + '%';
    bar.append(fill);
    const value = document.createElement('span');
    value.textContent = (100 * probabilities[k]).toFixed(1) + '%';
    row.append(label, bar, value);
    div.append(row);
  }
  return div;
}

async function show(files) {
  if (!session) return;
  for (const file of files) {
    try {
      const bitmap = await createImageBitmap(file);
      const out = await classify(session, pixelsOf(bitmap, CONFIG.size), 1, CONFIG.size);
      results.prepend(card(file, Array.from(out)));
    } catch (e) {
      const div = document.createElement('div');
      div.className = 'card error';
      div.textContent = file.name + ': not an image this browser can read.';
      results.prepend(div);
    }
  }
}

document.getElementById('pick').onchange = e => show(e.target.files);
const drop = document.getElementById('drop');
drop.ondragover = e => { e.preventDefault(); drop.classList.add('over'); };
drop.ondragleave = () => drop.classList.remove('over');
drop.ondrop = e => { e.preventDefault(); drop.classList.remove('over');
                     show(e.dataTransfer.files); };

if (location.protocol === 'file:') {
  status.className = 'error';
  status.textContent = 'Browsers do not run a model from a page opened as a file. In this ' +
    'folder run "python3 -m http.server 8000", then open http://localhost:8000/ .';
} else {
  loadModel('./').then(s => {
    session = s;
    status.textContent = 'Ready: ' + CONFIG.labels.length + ' classes (' +
      CONFIG.labels.join(', ') + '). Pick or drop images; nothing leaves this computer.';
  }).catch(e => { status.className = 'error';
                  status.textContent = 'The model could not be loaded: ' + e; });
}
</script>
</body></html>
"""

# The check page: images.bin (float32 N×S×S×3, RGB 0..255, the app's own decoded pixels)
# through the exported model, the probabilities POSTed back to the server that served it.
CHECK = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="/model/ort/ort.wasm.min.js"></script>
<script>
__LOAD_MODEL__
function post(answer) {
  return fetch('/result', {method: 'POST', body: JSON.stringify(answer)});
}
async function main() {
  const q = new URLSearchParams(location.search), n = +q.get('n'), size = +q.get('size');
  const session = await loadModel('/model/');
  const all = new Float32Array(await (await fetch('/check/images.bin')).arrayBuffer());
  const per = size * size * 3, out = [];
  for (let i = 0; i < n; i += 16) {
    const k = Math.min(16, n - i);
    out.push(...await classify(session, all.subarray(i * per, (i + k) * per), k, size));
  }
  await post({probabilities: out, agent: navigator.userAgent});
}
main().catch(e => post({error: String((e && e.stack) || e)}));
</script></body></html>
""".replace("__LOAD_MODEL__", LOAD_MODEL)


def demo_page(class_names: list[str], size: int, top: int = 3) -> str:
    title = f"Image classifier: {', '.join(class_names)}"
    config = json.dumps({"labels": list(class_names), "size": int(size),
                         "top": min(top, len(class_names))})
    # "</" inside a JSON string would end the script element early
    config = config.replace("</", "<\\/")
    return (_DEMO.replace("__TITLE__", html.escape(title)).replace("__CONFIG__", config)
            .replace("__LOAD_MODEL__", LOAD_MODEL))
