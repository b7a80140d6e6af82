"""The training step on several devices (tf.distribute, e.g. MirroredStrategy over the GPUs).

Follows TensorFlow's guide for custom loops, with Keras 3's optimizer: the model, optimizer and
metrics are created in `strategy.scope()` (core/training/train.py); each replica computes its
shard's loss scaled by the *global* batch (`tf.nn.compute_average_loss`), and the optimizer
sums the replicas' gradients itself (Keras 3 all-reduces in `apply`), so there is no second
all-reduce here. The result is the single-device step's: the same weighted mean loss over the
whole batch, the same gradients, within float rounding. Only used with more than one replica.
"""

from __future__ import annotations

import numpy as np

from mbv2gui.core.training.tfsetup import tf


def distributed_train_step(model, optimizer, loss_fn, accuracy_fn, strategy):
    """(global batch of inputs, targets, sample weights) -> (loss, accuracy) of the whole batch,
    the batch split across `strategy`'s replicas."""
    t = tf()
    variables = model.trainable_variables
    replicas = strategy.num_replicas_in_sync

    def replica_step(x, y, w):
        context = t.distribute.get_replica_context()
        w = t.cast(w, t.float32)
        count = context.all_reduce("sum", t.shape(w)[0])  # the global batch
        weight = t.maximum(context.all_reduce("sum", t.reduce_sum(w)), 1e-9)
        # Sample weights normalised to a mean of 1 over the global batch: the replicas' losses
        # then add up to the single-device weighted mean (compute_average_loss wants a count).
        normalised = w * t.cast(count, t.float32) / weight
        with t.GradientTape() as tape:
            q = model(t.cast(x, t.float32), training=True)
            loss = t.nn.compute_average_loss(loss_fn(y, q) * normalised,
                                             global_batch_size=count)
            if model.losses:  # counted once in total, not once per replica
                loss += t.nn.scale_regularization_loss(t.add_n(model.losses))
            scaled = optimizer.scale_loss(loss)
        optimizer.apply(tape.gradient(scaled, variables), variables)
        correct = t.reduce_sum(t.cast(accuracy_fn(y, q), t.float32))
        return loss, correct / t.cast(count, t.float32)

    @t.function(reduce_retracing=True, autograph=False)
    def global_step(x, y, w):
        loss, accuracy = strategy.run(replica_step, args=(x, y, w))
        return (strategy.reduce("SUM", loss, axis=None),
                strategy.reduce("SUM", accuracy, axis=None))

    def call(x, y, w):
        arrays = [t.convert_to_tensor(a) for a in (x, y, w)]
        n = int(arrays[0].shape[0])
        if n < replicas:
            # Too few for one each (a last batch): every replica takes the whole batch. The
            # normalised weights make the sum the single-device step, and no replica runs
            # BatchNorm on an empty batch.
            bounds = [(0, n)] * replicas
        else:
            edges = np.linspace(0, n, replicas + 1).astype(int)
            bounds = list(zip(edges[:-1], edges[1:]))

        def shard(context):
            start, end = bounds[context.replica_id_in_sync_group]
            return tuple(a[start:end] for a in arrays)

        return global_step(*strategy.experimental_distribute_values_from_function(shard))

    return call
