"""The classifier: raw RGB (any size, 0..255) -> `resize` -> `scale` to [-1, 1] -> MobileNetV2
`backbone` -> `pool` -> `dropout` -> softmax `classifier`.

The layer names are a contract (Grad-CAM and export look them up). Preprocessing lives inside
the saved model so an exported model answers like the app; augmentation never does (it is
applied in the input pipeline), so the saved model is the inference model as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from mbv2gui.core.errors import UserError
from mbv2gui.core.training.tfsetup import keras, quiet_weights_loading
from mbv2gui.core.training.weights import Weights

LAST_BLOCK = 16  # MobileNetV2 has blocks 1..16 after the stem ("expanded_conv")

# Keras' safe mode refuses a saved model that would run Python code when loaded (a Lambda
# layer's function, a pickled object): these are the words its refusal carries.
SAFE_MODE_WORDS = ("safe_mode", "arbitrary code execution")


def load_model_file(path, damaged: str):
    """A saved Keras model, loaded in Keras' safe mode (no code in the file is ever run).
    A model refused for carrying code is said so; any other failure is `damaged`, a sentence."""
    try:
        with quiet_weights_loading(path):
            return keras().models.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        code = carried_code(exc)
        if code is None:
            raise UserError(damaged, str(exc)) from exc
        raise UserError(f"The model file {path} contains code ({code}) and was not loaded, for "
                        "safety; use a model trained by mbv2gui.", str(exc)) from exc


def carried_code(exc: BaseException) -> str | None:
    """What code Keras' safe mode refused to load ("a Lambda layer"), or None if the failure
    was something else. Looks through the chain: Keras may wrap its refusal."""
    import re

    while exc is not None:
        text = str(exc)
        if any(word in text for word in SAFE_MODE_WORDS):
            found = re.search(r"deserialization of an? `(\w+)`( layer)?", text)
            return f"a {found[1]} layer" if found else "Python code"
        exc = exc.__cause__ or exc.__context__
    return None


def build_backbone(alpha: float, image_size: int, weights: Weights, bn_momentum: float):
    """MobileNetV2 without its top, as one layer named `backbone`."""
    k = keras()
    backbone = k.applications.MobileNetV2(
        input_shape=(image_size, image_size, 3), alpha=alpha, include_top=False, weights=None,
        name="backbone")
    if weights.path:
        try:
            if weights.kind == "model":  # an earlier model: its backbone, not its head
                backbone.set_weights(saved_backbone(weights.path).get_weights())
            else:
                with quiet_weights_loading(weights.path):
                    backbone.load_weights(weights.path)
        except Exception as exc:  # wrong file kind, other alpha, damaged: one sentence
            raise UserError(f"The weights in {weights.path} do not fit MobileNetV2 with alpha "
                            f"{alpha} at {image_size} px (wrong file, other settings, or damaged).",
                            str(exc)) from exc
    # Keras builds every BatchNorm with momentum 0.999: its moving statistics then barely move
    # in the few hundred steps of a small from-scratch run, and the model scores chance on
    # held-out images. Pretrained statistics are kept frozen anyway, so this only helps.
    set_bn_momentum(backbone, bn_momentum)
    return backbone


def saved_backbone(path):
    """The MobileNetV2 inside a saved `.keras` model: the model itself when it is a bare
    backbone, else its nested MobileNetV2 (a classifier the app made has it as `backbone`).
    safe_mode keeps a model with code in it (a Lambda layer) from running."""
    with quiet_weights_loading(path):
        model = keras().models.load_model(path, compile=False, safe_mode=True)
    found = next((layer for layer in [model, *_all_layers(model)] if hasattr(layer, "layers")
                  and any(inner.name == "block_16_project" for inner in layer.layers)), None)
    if found is None:
        raise ValueError(f"{path} has no MobileNetV2 inside")
    return found


def batchnorm_layers(model) -> list:
    k = keras()
    return [layer for layer in _all_layers(model) if isinstance(layer, k.layers.BatchNormalization)]


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


def set_bn_momentum(model, momentum: float) -> None:
    for layer in batchnorm_layers(model):
        layer.momentum = float(momentum)


def freeze_batchnorm(model) -> None:
    """Keeps BatchNorm in inference mode during fine-tuning. In Keras 3, calling the base with
    training=False does not do it under fit (keras-team/keras#20285); a non-trainable
    BatchNormalization layer does."""
    for layer in batchnorm_layers(model):
        layer.trainable = False


def unfreeze_top_blocks(backbone, blocks: int) -> int:
    """Makes the top `blocks` inverted-residual blocks (and the final 1x1 conv) trainable,
    everything below frozen, BatchNorm always frozen. Returns how many layers train."""
    first = LAST_BLOCK - max(0, int(blocks)) + 1
    backbone.trainable = True
    trainable = 0
    for layer in backbone.layers:
        name = layer.name
        top = name.startswith(("Conv_1", "out_relu")) or (
            name.startswith("block_") and int(name.split("_")[1]) >= first)
        layer.trainable = bool(top) and blocks > 0
        trainable += layer.trainable
    freeze_batchnorm(backbone)
    return trainable


@dataclass
class Head:
    """The classifier's head layers, shared by the full model and a head-only model that
    trains on cached features: training one trains the other."""

    dropout: object
    dense: object

    @classmethod
    def create(cls, n_classes: int, dropout: float, l2: float) -> "Head":
        k = keras()
        regularizer = k.regularizers.L2(l2) if l2 else None
        return cls(k.layers.Dropout(dropout, name="dropout"),
                   k.layers.Dense(n_classes, activation="softmax", kernel_regularizer=regularizer,
                                  dtype="float32", name="classifier"))

    def __call__(self, x):
        return self.dense(self.dropout(x))


def preprocessing(image_size: int):
    k = keras()
    return (k.layers.Resizing(image_size, image_size, name="resize"),
            k.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scale"))


def build_classifier(backbone, head: Head, image_size: int):
    """The saved model: raw RGB of any size in, class probabilities out."""
    k = keras()
    image = k.Input(shape=(None, None, 3), name="image")
    resize, scale = preprocessing(image_size)
    pooled = k.layers.GlobalAveragePooling2D(name="pool")(backbone(scale(resize(image))))
    return k.Model(image, head(pooled), name="mbv2_classifier")


def build_feature_model(backbone, image_size: int):
    """Images already at `image_size` -> pooled backbone features, for the feature cache."""
    k = keras()
    image = k.Input(shape=(image_size, image_size, 3), name="image")
    _, scale = preprocessing(image_size)
    pooled = k.layers.GlobalAveragePooling2D(name="pool")(backbone(scale(image), training=False))
    return k.Model(image, pooled, name="mbv2_features")


def build_head_model(feature_dim: int, head: Head):
    k = keras()
    features = k.Input(shape=(feature_dim,), name="features")
    return k.Model(features, head(features), name="mbv2_head")


# ------------------------------------------------------------------- training-time pieces
def targets_loss(n_classes: int, with_teacher: bool, temperature: float, alpha: float,
                 label_smoothing: float = 0.0):
    """(loss, accuracy) over targets laid out as [one-hot labels | teacher's softened
    probabilities]: cross-entropy with the labels (smoothed by `label_smoothing`), mixed with
    the KL divergence from the teacher's softened answer when there is one (Hinton et al.;
    scaled by T² as usual)."""
    k = keras()
    ops = k.ops
    eps = 1e-7

    def loss(y, q):
        onehot = y[:, :n_classes]
        hard = k.losses.categorical_crossentropy(onehot, q, label_smoothing=label_smoothing)
        if not with_teacher:
            return hard
        soft = y[:, n_classes:]
        q_soft = ops.softmax(ops.log(q + eps) / temperature, axis=-1)
        kl = ops.sum(soft * (ops.log(soft + eps) - ops.log(q_soft + eps)), axis=-1)
        return alpha * hard + (1.0 - alpha) * temperature ** 2 * kl

    def accuracy(y, q):
        truth = ops.argmax(y[:, :n_classes], axis=-1)
        return ops.cast(ops.equal(truth, ops.argmax(q, axis=-1)), "float32")

    return loss, accuracy


def warmup_cosine(peak: float, total_steps: int, warmup_fraction: float = 0.1):
    """Linear warm-up from peak/10 to `peak` over the first tenth of the steps, then cosine
    decay to zero (Keras' CosineDecay with warm-up), with a `resize(total_steps)` that takes
    effect inside the traced step: a time budget re-sizes the schedule once the speed is known
    (core/training/budget.py). The step count is a variable, not a constant of the graph."""
    from mbv2gui.core.training.tfsetup import tf

    t = tf()

    class WarmupCosine(keras().optimizers.schedules.LearningRateSchedule):
        def __init__(self):
            self.total = t.Variable(float(max(1, total_steps)), trainable=False,
                                    dtype=t.float32, name="schedule_steps")

        def resize(self, steps: int) -> None:
            self.total.assign(float(max(1, steps)))

        def __call__(self, step):
            step = t.cast(step, t.float32)
            warmup = t.floor(self.total * warmup_fraction)
            warming = peak * 0.1 + (peak - peak * 0.1) * step / t.maximum(warmup, 1.0)
            progress = t.clip_by_value((step - warmup) / t.maximum(self.total - warmup, 1.0),
                                       0.0, 1.0)
            decaying = peak * 0.5 * (1.0 + t.cos(3.141592653589793 * progress))
            return t.where(step < warmup, warming, decaying)

        def get_config(self):
            return {"peak": peak, "total_steps": int(self.total.numpy()),
                    "warmup_fraction": warmup_fraction}

    return WarmupCosine()


def compiled_forward(model):
    """A traced inference pass: far faster than `model.predict` when called per batch."""
    from mbv2gui.core.training.tfsetup import tf

    cached = getattr(model, "_mbv2_forward", None)
    if cached is not None:  # tracing MobileNetV2 costs a second or two: once per model
        return cached
    t = tf()
    traced = []

    def forward(batch):
        batch = t.cast(t.convert_to_tensor(batch), t.float32)
        if not traced:  # one trace, any batch size (a smaller last batch must not retrace)
            spec = t.TensorSpec((None,) + tuple(batch.shape[1:]), t.float32)
            traced.append(t.function(lambda x: model(x, training=False), input_signature=[spec]))
        return traced[0](batch).numpy()

    model._mbv2_forward = forward
    return forward


def train_step(model, optimizer, loss_fn, accuracy_fn, strategy=None):
    """A traced training step: (images or features, targets, sample weights) -> (loss, accuracy).
    Regularization losses are added; BatchNorm updates happen inside the call as Keras 3 does.
    Under a `strategy` with several replicas, each batch is split across them
    (core/training/distributed.py); call this inside `strategy.scope()`."""
    from mbv2gui.core.training.tfsetup import tf

    t = tf()
    variables = model.trainable_variables
    optimizer.build(variables)
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        from mbv2gui.core.training.distributed import distributed_train_step

        return distributed_train_step(model, optimizer, loss_fn, accuracy_fn, strategy)

    def step(x, y, w):
        with t.GradientTape() as tape:
            q = model(t.cast(x, t.float32), training=True)
            w = t.cast(w, t.float32)
            loss = t.reduce_sum(loss_fn(y, q) * w) / t.maximum(t.reduce_sum(w), 1e-9)
            if model.losses:
                loss += t.add_n(model.losses)
            scaled = optimizer.scale_loss(loss)
        optimizer.apply(tape.gradient(scaled, variables), variables)
        return loss, t.reduce_mean(accuracy_fn(y, q))

    traced = []

    def call(x, y, w):
        # One trace with a free batch size: tracing MobileNetV2's step costs seconds, and a
        # smaller last batch would otherwise trace it again.
        if not traced:
            spec = [t.TensorSpec((None,) + tuple(a.shape[1:]), a.dtype) for a in
                    (t.convert_to_tensor(x), t.convert_to_tensor(y), t.convert_to_tensor(w))]
            traced.append(t.function(step, input_signature=spec, autograph=False))
        return traced[0](x, y, w)

    return call


def teacher_probabilities(teacher_path, paths, n_classes: int, image_size: int,
                          temperature: float, should_stop):
    """A teacher model's answers on every image, softened by `temperature` (unreadable images
    get a uniform answer; they are not trained on anyway)."""
    import numpy as np

    from mbv2gui.core.training.pipeline import iter_batches

    teacher = load_model_file(teacher_path, f"The teacher model {teacher_path} cannot be "
                              "loaded (it is not a Keras model file, or it is damaged).")
    forward = compiled_forward(teacher)
    soft = np.full((len(paths), n_classes), 1.0 / n_classes, dtype=np.float32)
    for indices, batch, _ in iter_batches(paths, image_size, 32, should_stop):
        if len(batch):
            probabilities = forward(batch)
            if probabilities.shape[-1] != n_classes:
                raise UserError(f"The teacher model has {probabilities.shape[-1]} outputs but "
                                f"there are {n_classes} classes; choose a teacher trained on the "
                                "same classes.")
            soft[indices] = probabilities
    logits = np.log(soft + 1e-7) / temperature
    soft = np.exp(logits - logits.max(axis=1, keepdims=True))
    return soft / soft.sum(axis=1, keepdims=True)
