"""The predict job: image files in, the run's top-k answers out, one row per file.

Streams: images are decoded in parallel a bounded number ahead and predicted batch by batch,
so 10,000 files cost the memory of a few batches. A file that cannot be read gets a row with
the reason; the others still run.
"""

from __future__ import annotations

from typing import Sequence

from mbv2gui.core.jobs import Throttle, ignore_events, never_stop, progress


def expand_paths(items: Sequence[str], should_stop=never_stop) -> list[str]:
    """Files as given, folders replaced by the images inside them (the one folder walker's
    rules: sorted, no hidden files, no loops; see mbv2gui.core.files.folders.image_files)."""
    from mbv2gui.core.files.folders import image_files

    return image_files(items, should_stop)


def predict_files(run, paths: Sequence[str], report=ignore_events, should_stop=never_stop,
                  top_k: int = 3, batch_size: int = 32, job_images: int | None = None) -> list[dict]:
    """One dict per path, in order: path, label, confidence, top_k [(label, probability)],
    error (None, or the sentence saying why the file could not be read). `job_images`: how
    many images the whole job predicts when `paths` is one chunk of it (the fast runtime
    converts the model when a job is large enough to pay for it)."""
    from mbv2gui.core.inference.runtime import run_forward
    from mbv2gui.core.training.pipeline import iter_batches

    forward = run_forward(run, report, job_images or len(paths))
    names = list(run.class_names)
    size = int(run.config.image_size)
    k = max(1, min(int(top_k), len(names)))
    rows: list[dict | None] = [None] * len(paths)
    throttle = Throttle(report, 4.0)
    done = 0
    for indices, batch, failures in iter_batches(list(paths), size, batch_size, should_stop):
        for index, error in failures:
            rows[index] = {"path": str(paths[index]), "label": None, "confidence": None,
                           "top_k": [], "error": error.message}
        if len(batch):
            for index, probabilities in zip(indices, forward(batch)):
                order = probabilities.argsort()[::-1][:k]
                top = [(names[j], float(probabilities[j])) for j in order]
                rows[index] = {"path": str(paths[index]), "label": top[0][0],
                               "confidence": top[0][1], "top_k": top, "error": None}
        done += len(indices) + len(failures)
        throttle(progress(done, len(paths), "Predicting"), force=done == len(paths))
    return rows


def csv_header(top_k: int) -> list[str]:
    header = ["path", "label", "confidence"]
    for i in range(1, top_k + 1):
        header += [f"label_{i}", f"confidence_{i}"]
    return header + ["error"]


def csv_rows(rows: list[dict], top_k: int):
    """path, label, confidence, then label_i/confidence_i pairs; an unreadable file's row has
    an empty label and the reason in the `error` column. Cells are made safe by core/csv_out."""
    for row in rows:
        line = [row["path"], row["label"], row["confidence"]]
        for i in range(top_k):
            pair = row["top_k"][i] if i < len(row["top_k"]) else (None, None)
            line += [pair[0], pair[1]]
        line.append(row["error"])
        yield line


def write_csv(rows: list[dict], file, top_k: int) -> None:
    """The predictions as CSV to an open text stream (the terminal)."""
    from mbv2gui.core.files.csv_out import write_rows

    write_rows(file, csv_header(top_k), csv_rows(rows, top_k))


def save_csv(rows: list[dict], path, top_k: int) -> None:
    """The predictions as a CSV file, written atomically; errors are sentences."""
    from mbv2gui.core.files.csv_out import write_csv_file

    write_csv_file(path, csv_header(top_k), csv_rows(rows, top_k), "save the predictions")
